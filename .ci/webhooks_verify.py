#!/usr/bin/env python3
"""An integrator's check with an off-the-shelf library: registers a webhook endpoint on a running
Concierge server, receives real deliveries on a loopback receiver and verifies every one with
the `standardwebhooks` package (PyPI); reads the event feed gap-free; rotates the secret and
verifies with the old and the new secret during the overlap.

Usage: webhooks_verify.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
The server must run its dispatcher (CONCIERGE_WEBHOOK_POLL_MS, default 1000).
"""
import json
import sys
import threading
import time

import ci_http
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

BASE, ADMIN_EMAIL, ADMIN_PASSWORD = sys.argv[1:4]
received = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(method, path, body=None, token=None, expect=(200, 201, 202)):
    return ci_http.call(BASE, method, path, body, token, expect, who="webhooks_verify")


def wait_for(pred, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.2)
    sys.exit(f"webhooks_verify: timed out waiting for {what}; received {len(received)}")


def verify_all(secrets, items):
    for item in items:
        headers = {k: item["headers"][k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        for secret in secrets:
            payload = Webhook(secret).verify(item["body"], headers)  # raises on a bad signature
            assert payload["type"] == "ping" or payload["id"] == headers["webhook-id"], payload


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    token = call("POST", "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})["access_token"]
    ep = call("POST", "/api/v1/webhook-endpoints", {"url": url, "types": ["customer.*"]}, token)
    secret = ep["secret"]
    ping = call("POST", f"/api/v1/webhook-endpoints/{ep['id']}/test", {}, token)
    assert ping["ok"], ping
    start = call("GET", "/api/v1/events?limit=500", token=token)
    cursor = start["next_cursor"]
    while start["has_more"]:
        start = call("GET", f"/api/v1/events?limit=500&after={cursor}", token=token)
        cursor = start["next_cursor"]
    made = [call("POST", "/api/v1/customers", {"given_name": f"Hook{i}", "family_name": "Check"}, token)["id"]
            for i in range(3)]
    wait_for(lambda: len(received) >= 4, "three customer.created deliveries")
    verify_all([secret], received)
    got = [json.loads(r["body"]) for r in received[1:]]
    assert sorted(e["aggregate"]["id"] for e in got) == sorted(made), got
    assert all(e["type"] == "customer.created" for e in got), got
    feed, after = [], cursor
    while True:
        page = call("GET", f"/api/v1/events?types=customer.created&after={after}", token=token)
        feed += page["data"]
        after = page["next_cursor"]
        if not page["has_more"]:
            break
    assert sorted(e["id"] for e in feed) == sorted(r["headers"]["webhook-id"] for r in received[1:]), feed
    rotated = call("POST", f"/api/v1/webhook-endpoints/{ep['id']}/rotate-secret", {}, token)
    new_secret = rotated["secret"]
    call("POST", "/api/v1/customers", {"given_name": "Hook9", "family_name": "Check"}, token)
    wait_for(lambda: len(received) >= 5, "a delivery after the rotation")
    verify_all([secret, new_secret], received[4:])
    try:
        Webhook(secret).verify(received[4]["body"][:-1] + b" ", {k: received[4]["headers"][k] for k in (
            "webhook-id", "webhook-timestamp", "webhook-signature")})
        sys.exit("webhooks_verify: a tampered body verified")
    except Exception:
        pass
    deliveries = call("GET", f"/api/v1/webhook-endpoints/{ep['id']}/deliveries", token=token)["data"]
    assert len(deliveries) == 4 and all(d["state"] == "succeeded" and d["last_status"] == 204 for d in deliveries), deliveries
    print(f"webhooks_verify: {len(received)} deliveries verified with standardwebhooks (ping, 4 events, rotation)")
    server.shutdown()


if __name__ == "__main__":
    main()
