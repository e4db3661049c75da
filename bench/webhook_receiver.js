// A webhook receiver for bench/webhooks.sh: answers 204 to every POST and counts them; GET
// /count answers the count. Usage: node bench/webhook_receiver.js PORT
const http = require("http");
let count = 0;
http
  .createServer((req, res) => {
    if (req.method === "GET") {
      res.end(String(count));
      return;
    }
    req.on("data", () => {});
    req.on("end", () => {
      count += 1;
      res.statusCode = 204;
      res.end();
    });
  })
  .listen(Number(process.argv[2]), "127.0.0.1");
