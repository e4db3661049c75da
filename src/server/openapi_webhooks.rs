//! The OpenAPI 3.1 `webhooks` section: one entry per event type of the catalogue
//! (`db::event_types`), with its payload as a schema (the `Event` envelope, its `type` fixed and
//! its `data` fields listed) and the Standard Webhooks headers, so a receiver generates its types
//! from the same document as the API's clients.

use serde_json::{json, Map, Value};

use crate::db::event_types::{EventType, EVENT_TYPES};

/// `customer.segment_changed` → `CustomerSegmentChangedEvent`.
pub fn schema_name(kind: &str) -> String {
    let mut out = String::new();
    for part in kind.split(['.', '_']) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out + "Event"
}

fn payload_schema(t: &EventType) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in t.data {
        let schema: Value = serde_json::from_str(f.schema).unwrap_or_else(|_| json!({}));
        props.insert(f.name.to_string(), schema);
        if f.required {
            required.push(json!(f.name));
        }
    }
    json!({
        "description": t.summary,
        "allOf": [
            {"$ref": "#/components/schemas/Event"},
            {
                "type": "object",
                "required": ["type", "aggregate", "data"],
                "properties": {
                    "type": {"type": "string", "const": t.name},
                    "aggregate": {
                        "type": "object",
                        "required": ["type", "id"],
                        "properties": {"type": {"type": "string", "const": t.aggregate}, "id": {"type": "string"}}
                    },
                    "data": {"type": "object", "required": required, "properties": props}
                }
            }
        ]
    })
}

fn headers() -> Value {
    let header = |name: &str, description: &str, example: &str| {
        json!({"name": name, "in": "header", "required": true, "description": description,
            "schema": {"type": "string"}, "example": example})
    };
    json!([
        header(
            "webhook-id",
            "The event id: the same on every attempt (deduplicate on it).",
            "01a24584-c102-7100-baac-c5f4c5046a19"
        ),
        header(
            "webhook-timestamp",
            "Unix seconds of this attempt; refuse ones far from your clock.",
            "1796463857"
        ),
        header(
            "webhook-signature",
            "Space-separated `v1,<base64 HMAC-SHA256(\"{webhook-id}.{webhook-timestamp}.{body}\")>` with the \
             endpoint's secret (the base64 after `whsec_`); two during a rotation's 24 hours.",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        ),
    ])
}

fn operation(summary: &str, description: &str, schema_ref: &str) -> Value {
    json!({"post": {
        "summary": summary,
        "description": description,
        "tags": ["webhooks"],
        "parameters": headers(),
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": schema_ref}}}},
        "responses": {
            "2XX": {"description": "Received. Any 2xx acknowledges the delivery; anything else is retried on the schedule (10 attempts over about 75 hours; `Retry-After` honoured)."},
            "410": {"description": "Gone: the endpoint is disabled at once."}
        }
    }})
}

/// The served document: `api` as JSON with `webhooks` and the payload schemas added.
pub fn document(api: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(api).expect("the OpenAPI document serialises");
    add(&mut doc);
    doc
}

/// Adds `webhooks` and the payload schemas to the document.
fn add(doc: &mut Value) {
    let mut hooks = Map::new();
    for t in EVENT_TYPES {
        let name = schema_name(t.name);
        doc["components"]["schemas"][&name] = payload_schema(t);
        let description = format!(
            "{} Delivered to endpoints whose `types` select `{}`.",
            t.summary, t.name
        );
        hooks.insert(
            t.name.to_string(),
            operation(t.name, &description, &format!("#/components/schemas/{name}")),
        );
    }
    doc["components"]["schemas"]["WebhookPing"] = json!({
        "type": "object",
        "description": "What `POST /api/v1/webhook-endpoints/{id}/test` sends (its `webhook-id` starts with `ping_`).",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "const": "ping"},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": {"type": "object", "required": ["webhook_endpoint_id"],
                "properties": {"webhook_endpoint_id": {"type": "string"}}}
        }
    });
    hooks.insert(
        "ping".into(),
        operation("ping", "A test call from an admin.", "#/components/schemas/WebhookPing"),
    );
    doc["webhooks"] = Value::Object(hooks);
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_names_are_pascal_case() {
        assert_eq!(
            super::schema_name("customer.segment_changed"),
            "CustomerSegmentChangedEvent"
        );
        assert_eq!(super::schema_name("ticket.sla_breached"), "TicketSlaBreachedEvent");
    }
}
