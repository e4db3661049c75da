//! Personal data by role: agents see it masked, analysts not at all, integration keys see the
//! contact data, managers everything; only unmasked reads are audited, with their actor.

use serde_json::{json, Value};

use crate::world::World;

#[actix_rt::test]
async fn personal_data_is_masked_by_role_and_unmasked_reads_are_audited() {
    let w = World::new().await;
    let (agent, analyst, manager, key_read) = (
        w.token("agent").await,
        w.token("analyst").await,
        w.token("manager").await,
        w.token("key_read").await,
    );
    let id = w
        .customer(json!({
            "given_name": "John", "family_name": "Doe",
            "email": "john.doe@example.com", "phone": "+8613812345678",
            "birth_date": "1980-01-02", "tags": ["allergy:nuts"],
            "identity_document": {"type": "passport", "number": "E12345678", "issuing_country": "CN"},
            "address": {"line1": "1 Bund Rd", "city": "Shanghai", "country": "CN"}
        }))
        .await;
    let path = format!("/api/v1/customers/{id}");
    let unmasked_reads = format!("target_id={id}&action=customer.read_unmasked");
    let before = w.audit(&unmasked_reads).await.len();

    // Agent: masked contact data, last four of the document, no street; names whole.
    let r = w.app.get(&path, &agent).await;
    r.expect(200);
    let a = &r.body;
    assert_eq!(a["personal_data"], "masked");
    assert_eq!(a["email"], "j***@example.com");
    assert_eq!(a["phone"], "+86 138****5678");
    assert_eq!(a["identity_document"]["number"], "****5678");
    assert_eq!(a["address"]["line1"], Value::Null);
    assert_eq!(a["address"]["city"], "Shanghai");
    assert_eq!(a["given_name"], "John");
    assert!(!r.raw.contains("E12345678") && !r.raw.contains("john.doe"));
    let agent_list = w.app.get("/api/v1/customers?q=john", &agent).await;
    assert_eq!(agent_list.body["data"][0]["email"], "j***@example.com");
    assert_eq!(
        w.audit(&unmasked_reads).await.len(),
        before,
        "masked reads are not audited"
    );

    // Analyst: no personal fields, and no searching by them.
    let r = w.app.get(&path, &analyst).await;
    r.expect(200);
    let n = &r.body;
    assert_eq!(n["personal_data"], "hidden");
    for field in [
        "given_name",
        "family_name",
        "email",
        "phone",
        "birth_date",
        "address",
        "identity_document",
        "preferences",
    ] {
        assert_eq!(n[field], Value::Null, "analyst sees {field}: {}", r.raw);
    }
    assert_eq!(n["tags"], json!([]));
    assert!(!r.raw.contains("5678") && !r.raw.contains("John") && !r.raw.contains("john"));
    for query in ["q=john", "email=john.doe%40example.com", "phone=%2B8613812345678"] {
        let r = w.app.get(&format!("/api/v1/customers?{query}"), &analyst).await;
        r.problem(403);
    }
    w.app
        .get("/api/v1/customers?grade=potential", &analyst)
        .await
        .expect(200);
    assert_eq!(
        w.audit(&unmasked_reads).await.len(),
        before,
        "hidden reads are not audited"
    );

    // Integration key: contact data whole, document masked; the read is audited.
    let key = w.app.get(&path, &key_read).await;
    key.expect(200);
    assert_eq!(key.body["personal_data"], "contact");
    assert_eq!(key.body["email"], "john.doe@example.com");
    assert_eq!(key.body["phone"], "+8613812345678");
    assert_eq!(key.body["identity_document"]["number"], "****5678");
    assert!(!key.raw.contains("E12345678"));
    let log = w.audit(&unmasked_reads).await;
    assert_eq!(log.len(), before + 1, "one audit entry for the key read: {log:?}");
    assert_eq!(log[0]["actor_kind"], "api_key");

    // Manager: everything, and the read is audited with the manager as actor.
    let r = w.app.get(&path, &manager).await;
    r.expect(200);
    let m = &r.body;
    assert_eq!(m["personal_data"], "full");
    assert_eq!(m["given_name"], "John");
    assert_eq!(m["family_name"], "Doe");
    assert_eq!(m["email"], "john.doe@example.com");
    assert_eq!(m["phone"], "+8613812345678");
    assert_eq!(m["identity_document"]["number"], "E12345678");
    assert_eq!(m["address"]["line1"], "1 Bund Rd");
    let log = w.audit(&unmasked_reads).await;
    assert_eq!(log.len(), before + 2, "one more entry for the manager read: {log:?}");
    let entry = &log[0];
    assert_eq!(entry["actor_id"], w.id("manager").await.as_str(), "{log:?}");
    assert_eq!(entry["actor_kind"], "staff");
    assert_eq!(entry["action"], "customer.read_unmasked");
    assert_eq!(entry["target_id"], id.as_str());
    assert_eq!(log[1]["actor_kind"], "api_key");

    // Another masked agent read still adds nothing.
    w.app.get(&path, &agent).await.expect(200);
    assert_eq!(w.audit(&unmasked_reads).await.len(), before + 2);

    // Encrypted at rest: the stored column holds neither the number nor its digits.
    use concierge::db::schema::customers;
    use diesel::prelude::*;
    let mut conn = w.app.conn();
    let (enc, last4): (Option<String>, Option<String>) = customers::table
        .find(&id)
        .select((customers::id_doc_number_enc, customers::id_doc_last4))
        .first(&mut **conn)
        .unwrap();
    let enc = enc.expect("an encrypted document number is stored");
    assert!(!enc.is_empty());
    assert!(
        !enc.contains("E12345678") && !enc.contains("12345678"),
        "plaintext at rest: {enc}"
    );
    assert_eq!(last4.as_deref(), Some("5678"));
}
