#!/usr/bin/env python3
"""Creates one caller of each kind on a running Concierge server and prints their credentials
as shell assignments (`CALLER_admin='Authorization: Bearer …'`), for schemathesis per caller.

Usage: fuzz_callers.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
Callers: admin, manager, agent, analyst (staff of one property), guest (an app registration),
apikey (every scope, no property restriction). Uses only the standard library.
"""
import sys
import uuid

import ci_http

BASE, ADMIN_EMAIL, ADMIN_PASSWORD = sys.argv[1:4]
SCOPES = [
    "customers:read", "customers:write", "stays:write", "loyalty:read", "loyalty:write",
    "tickets:read", "tickets:write", "surveys:write", "events:read", "webhooks:manage",
]


def call(method, path, body=None, token=None, expect=(200, 201)):
    return ci_http.call(BASE, method, path, body, token, expect, who="fuzz_callers")


def login(path, email, password):
    return call("POST", path, {"email": email, "password": password})["access_token"]


admin = login("/api/v1/auth/login", ADMIN_EMAIL, ADMIN_PASSWORD)
suffix = uuid.uuid4().hex[:8]
prop = call("POST", "/api/v1/properties", {
    "code": f"FZ{suffix[:6].upper()}", "name": "Fuzz Hotel", "timezone": "Asia/Shanghai", "currency": "CNY",
}, admin)
out = {"admin": f"Bearer {admin}"}
for role in ("manager", "agent", "analyst"):
    email, password = f"fuzz.{role}.{suffix}@example.com", "Tq-" + uuid.uuid4().hex
    call("POST", "/api/v1/staff", {
        "email": email, "display_name": f"Fuzz {role}", "role": role,
        "property_ids": [prop["id"]], "password": password,
    }, admin)
    out[role] = "Bearer " + login("/api/v1/auth/login", email, password)
guest = call("POST", "/api/v1/auth/customer/register", {
    "email": f"fuzz.guest.{suffix}@example.com", "password": "Gq-" + uuid.uuid4().hex,
    "given_name": "Fuzz", "family_name": "Guest",
})
out["guest"] = "Bearer " + guest["access_token"]
key = call("POST", "/api/v1/api-keys", {"name": f"fuzz {suffix}", "scopes": SCOPES}, admin)
out["apikey"] = "Bearer " + key["key"]
for who, header in out.items():
    print(f"CALLER_{who}='Authorization: {header}'")
