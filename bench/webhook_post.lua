-- wrk script for bench/webhooks.sh: the ceiling, POSTs of an event-sized signed body to the
-- receiver with the dispatcher's concurrency.
wrk.method = "POST"
wrk.body = '{"id":"01a24584-c102-7100-baac-c5f4c5046a19","type":"customer.updated","occurred_at":"2026-12-05T09:24:17.776131Z","aggregate":{"type":"customer","id":"01a24584-c101-7435-b18d-6569edf9b6e7"},"sequence":2,"property_id":null,"data":{"customer_id":"01a24584-c101-7435-b18d-6569edf9b6e7","changed":["job_title"],"version":2}}'
wrk.headers["content-type"] = "application/json"
wrk.headers["webhook-id"] = "01a24584-c102-7100-baac-c5f4c5046a19"
wrk.headers["webhook-timestamp"] = "1796463857"
wrk.headers["webhook-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
