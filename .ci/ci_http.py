"""The one JSON-over-HTTP helper of the CI scripts (standard library only)."""
import json
import sys
import urllib.error
import urllib.request
import uuid


def call(base, method, path, body=None, token=None, expect=(200, 201), who="ci"):
    """Sends a request with a fresh Idempotency-Key; exits with the answer when its status is
    not in `expect`; returns the decoded body (or None)."""
    headers = {"content-type": "application/json", "idempotency-key": str(uuid.uuid4())}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status not in expect:
        sys.exit(f"{who}: {method} {path} answered {status}: {text}")
    return json.loads(text) if text else None
