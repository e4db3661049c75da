-- wrk script for bench/search.sh and bench/deep_pages.sh: every request is the next path of
-- $PATHS_FILE (one per line, already URL-encoded), so each query differs from the one before;
-- each thread starts at its own offset. Headers (authorization) come from wrk's -H.
-- At the end prints one line wrk's --latency lacks (p95), in milliseconds:
--   LAT p50=… p95=… p99=… max=… n=<requests> non2xx=… errors=<socket errors> rps=…
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local threads = 0
local i = 0

function setup(thread)
  threads = threads + 1
  thread:set("offset", threads * 7919)
end

function init(args)
  i = offset or 0
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LAT p50=%.2f p95=%.2f p99=%.2f max=%.2f n=%d non2xx=%d errors=%d rps=%.1f\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    summary.requests / (summary.duration / 1e6)))
end
