//! Admin-only endpoints: the admin gets through, every other caller is refused (403, 401 without
//! credentials), and the refusals change nothing.

use awc::http::Method;
use serde_json::json;

use super::admin_only;
use crate::world::World;

#[actix_rt::test]
async fn admin_only_endpoints_refuse_everyone_else() {
    let w = World::new().await;
    let admin = w.admin.clone();
    let (spare_staff_id, _) = w.app.staff_token(&admin, "agent", &[]).await;
    let spare_key = w
        .app
        .post(
            "/api/v1/api-keys",
            &admin,
            json!({"name": "spare", "scopes": ["tickets:read"]}),
        )
        .await;
    spare_key.expect(201);
    let spare_key_id = spare_key.body["id"].as_str().unwrap().to_string();
    let staff_path = format!("/api/v1/staff/{spare_staff_id}");
    let key_path = format!("/api/v1/api-keys/{spare_key_id}");
    let prop_path = format!("/api/v1/properties/{}", w.a);

    let mut rows = Vec::new();
    rows.extend(admin_only(Method::GET, "/api/v1/staff", None, 200));
    rows.extend(admin_only(
        Method::POST,
        "/api/v1/staff",
        Some(json!({"email": "matrix.staff@test.local", "display_name": "Matrix", "role": "agent", "password": "staff-password-1"})),
        201,
    ));
    rows.extend(admin_only(Method::GET, &staff_path, None, 200));
    rows.extend(admin_only(
        Method::PATCH,
        &staff_path,
        Some(json!({"display_name": "Renamed"})),
        200,
    ));
    rows.extend(admin_only(Method::GET, "/api/v1/api-keys", None, 200));
    rows.extend(admin_only(
        Method::POST,
        "/api/v1/api-keys",
        Some(json!({"name": "matrix", "scopes": ["customers:read"]})),
        201,
    ));
    rows.extend(admin_only(Method::GET, &key_path, None, 200));
    rows.extend(admin_only(Method::GET, "/api/v1/audit-log", None, 200));
    rows.extend(admin_only(
        Method::POST,
        "/api/v1/properties",
        Some(json!({"code": "ACN", "name": "New", "timezone": "UTC", "currency": "EUR"})),
        201,
    ));
    rows.extend(admin_only(
        Method::PATCH,
        &prop_path,
        Some(json!({"name": "Renamed"})),
        200,
    ));
    rows.extend(admin_only(Method::DELETE, &key_path, None, 204));
    w.run(rows).await;

    // The refusals changed nothing: one staff user, one key, one property made (by the admin).
    let staff = w.app.get("/api/v1/staff", &admin).await;
    let made = staff
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["email"] == "matrix.staff@test.local")
        .count();
    assert_eq!(made, 1);
    let renamed = w.app.get(&staff_path, &admin).await;
    assert_eq!(renamed.body["display_name"], "Renamed");
    let revoked = w.app.get(&key_path, &admin).await;
    assert!(
        revoked.body["revoked_at"].is_string(),
        "revoked by the admin: {}",
        revoked.raw
    );
    let props = w.app.get("/api/v1/properties", &admin).await;
    assert_eq!(props.body.as_array().unwrap().len(), 3);
}
