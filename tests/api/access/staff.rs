//! Staff tokens follow the user: deactivation, any change of role (up, down, and back) and a
//! change of property scope apply to tokens already issued; sessions from before a deactivation
//! stay dead after reactivation.

use awc::http::Method;
use serde_json::{json, Value};

use crate::support::Auth;
use crate::world::World;

/// A staff user at A with a known email and password; returns (id, access token).
async fn staff_with_login(w: &World, email: &str, role: &str) -> (String, String) {
    let r = w
        .app
        .post(
            "/api/v1/staff",
            &w.admin,
            json!({"email": email, "display_name": "Moving Staff", "role": role, "property_ids": [w.a], "password": "staff-password-1"}),
        )
        .await;
    r.expect(201);
    (
        r.body["id"].as_str().unwrap().to_string(),
        w.app.login(email, "staff-password-1").await,
    )
}

async fn login_status(w: &World, email: &str) -> u16 {
    w.app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": email, "password": "staff-password-1"})),
            &[],
        )
        .await
        .status
        .as_u16()
}

#[actix_rt::test]
async fn deactivated_or_re_roled_staff_lose_their_old_tokens() {
    let w = World::new().await;
    let cases: [(&str, Vec<Value>); 5] = [
        ("gone@test.local", vec![json!({"active": false})]),
        // Even a promotion: the old token carries the old role and is refused.
        ("moved@test.local", vec![json!({"role": "manager"})]),
        ("demoted@test.local", vec![json!({"role": "analyst"})]),
        // A flip-flop (agent → manager → agent) does not revive a token from the first stint.
        (
            "flipflop@test.local",
            vec![json!({"role": "manager"}), json!({"role": "agent"})],
        ),
        (
            "demoted.gone@test.local",
            vec![json!({"role": "analyst"}), json!({"role": "agent", "active": false})],
        ),
    ];
    for (email, patches) in cases {
        let (id, token) = staff_with_login(&w, email, "agent").await;
        w.app.get("/api/v1/customers", &token).await.expect(200);
        for patch in patches {
            let r = w
                .app
                .patch(&format!("/api/v1/staff/{id}"), &w.admin, patch.clone())
                .await;
            r.expect(200);
            for (field, value) in patch.as_object().unwrap() {
                assert_eq!(&r.body[field], value, "{email}: {field}");
            }
        }
        w.app.get("/api/v1/customers", &token).await.problem(401);
        w.app.get("/api/v1/properties", &token).await.problem(401);
    }
    assert_eq!(
        login_status(&w, "gone@test.local").await,
        401,
        "a deactivated user cannot log in"
    );

    // Logging in again after the promotion gives a token for the new role.
    let fresh = w.app.login("moved@test.local", "staff-password-1").await;
    let cid = w
        .customer(json!({"given_name": "Role", "family_name": "Check", "email": "role.check@example.com"}))
        .await;
    let seen = w.app.get(&format!("/api/v1/customers/{cid}"), &fresh).await;
    seen.expect(200);
    assert_eq!(seen.body["personal_data"], "full", "the new token acts as a manager");

    // A staff user who kept their role keeps working.
    w.app
        .get("/api/v1/customers", &w.token("agent").await)
        .await
        .expect(200);
}

#[actix_rt::test]
async fn a_property_scope_change_applies_to_the_existing_token() {
    let w = World::new().await;
    let (id, token) = w.app.staff_token(&w.admin, "agent", &[&w.a]).await;
    let (a, b) = (
        format!("/api/v1/properties/{}", w.a),
        format!("/api/v1/properties/{}", w.b),
    );
    w.app.get(&a, &token).await.expect(200);
    w.app.get(&b, &token).await.problem(404);
    w.app
        .patch(&format!("/api/v1/staff/{id}"), &w.admin, json!({"property_ids": [w.b]}))
        .await
        .expect(200);
    w.app.get(&a, &token).await.problem(404);
    w.app.get(&b, &token).await.expect(200);
}

#[actix_rt::test]
async fn sessions_from_before_a_deactivation_stay_dead_after_reactivation() {
    let w = World::new().await;
    let email = "compromised@test.local";
    let r = w
        .app
        .post(
            "/api/v1/staff",
            &w.admin,
            json!({"email": email, "display_name": "Compromised", "role": "agent", "password": "staff-password-1"}),
        )
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    let login = w
        .app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            Auth::None,
            Some(json!({"email": email, "password": "staff-password-1"})),
            &[],
        )
        .await;
    login.expect(200);
    let old_access = login.body["access_token"].as_str().unwrap().to_string();
    let old_refresh = login.body["refresh_token"].as_str().unwrap().to_string();

    // The usual response to a stolen session: deactivate, reset the password, reactivate.
    let staff = format!("/api/v1/staff/{id}");
    w.app
        .patch(&staff, &w.admin, json!({"active": false}))
        .await
        .expect(200);
    w.app.get("/api/v1/customers", &old_access).await.problem(401);
    w.app
        .patch(
            &staff,
            &w.admin,
            json!({"password": "new-staff-password-2", "active": true}),
        )
        .await
        .expect(200);

    let refreshed = w
        .app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            Auth::None,
            Some(json!({"refresh_token": old_refresh})),
            &[],
        )
        .await;
    assert_eq!(
        refreshed.status.as_u16(),
        401,
        "a refresh token from before the deactivation still works: {}",
        refreshed.raw
    );
    w.app.get("/api/v1/customers", &old_access).await.problem(401);
}
