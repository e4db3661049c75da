//! Issue 10, attacks on the login and token endpoints: throttling that parallel guesses cannot
//! outrun, one winner per refresh token, the password policy, no guest-existence leaks, and the
//! security headers.

use awc::http::Method;
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::support::{Auth, Resp, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

async fn public_post(app: &TestApp, path: &str, body: Value) -> Resp {
    app.send(Method::POST, path, Auth::None, Some(body), &[]).await
}

async fn login(app: &TestApp, path: &str, email: &str, password: &str) -> Resp {
    public_post(app, path, json!({"email": email, "password": password})).await
}

/// (401s, 429s) of a batch. A 503 (pool checkout timeout on a loaded machine) is allowed: such
/// an attempt gave its slot back and reached no password check.
fn statuses(answers: &[Resp]) -> (usize, usize) {
    let n = |s: u16| answers.iter().filter(|r| r.status.as_u16() == s).count();
    assert_eq!(
        n(401) + n(429) + n(503),
        answers.len(),
        "only 401, 429 and 503 expected"
    );
    (n(401), n(429))
}

/// Wrong guesses one at a time until the first 429; returns how many more were checked (401).
async fn until_refused(app: &TestApp, path: &str, email: &str) -> usize {
    for checked in 0..=30 {
        let r = login(app, path, email, "one-more-guess-1").await;
        if r.status.as_u16() == 429 {
            return checked;
        }
        r.problem(401);
    }
    panic!("never throttled");
}

#[actix_rt::test]
async fn parallel_wrong_passwords_are_counted_before_the_check() {
    let app = TestApp::spawn().await;
    let guesses: Vec<String> = (0..20).map(|i| format!("wrong-password-{i}")).collect();
    let tries = guesses
        .iter()
        .map(|g| login(&app, "/api/v1/auth/login", ADMIN_EMAIL, g));
    let (checked, refused) = statuses(&join_all(tries).await);
    assert!(checked <= 10, "{checked} guesses reached the password check");
    assert!(refused >= 5, "{refused}");
    let more = until_refused(&app, "/api/v1/auth/login", ADMIN_EMAIL).await;
    assert!(
        checked + more <= 10,
        "{checked} + {more} guesses reached the password check"
    );
    // The right password is refused too until the window passes.
    let r = login(&app, "/api/v1/auth/login", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    r.problem(429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));

    // Guest logins are throttled the same way.
    app.guest("wei@example.com").await;
    let tries = (0..15).map(|_| {
        login(
            &app,
            "/api/v1/auth/customer/login",
            "wei@example.com",
            "not-my-password",
        )
    });
    let (checked, _) = statuses(&join_all(tries).await);
    let more = until_refused(&app, "/api/v1/auth/customer/login", "wei@example.com").await;
    assert!(
        checked + more <= 10,
        "{checked} + {more} guest guesses reached the password check"
    );
    login(
        &app,
        "/api/v1/auth/customer/login",
        "wei@example.com",
        "guest-password-1",
    )
    .await
    .problem(429);
}

#[actix_rt::test]
async fn one_address_trying_many_accounts_is_slowed() {
    let app = TestApp::spawn().await;
    for i in 0..30 {
        let path = ["/api/v1/auth/login", "/api/v1/auth/customer/login"][i % 2];
        login(&app, path, &format!("probe{i}@test.local"), "guessed-password-1")
            .await
            .problem(401);
    }
    // The address is slowed for every account, fresh ones and the right password included,
    // and parallel tries do no better.
    let emails: Vec<String> = (0..10).map(|i| format!("fresh{i}@test.local")).collect();
    let tries = emails
        .iter()
        .map(|e| login(&app, "/api/v1/auth/login", e, "guessed-password-1"));
    let (checked, _) = statuses(&join_all(tries).await);
    assert_eq!(checked, 0);
    login(&app, "/api/v1/auth/login", ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .problem(429);
    login(
        &app,
        "/api/v1/auth/customer/login",
        "fresh@example.com",
        "guessed-password-1",
    )
    .await
    .problem(429);
}

#[actix_rt::test]
async fn a_successful_login_does_not_clear_the_address() {
    let app = TestApp::spawn().await;
    for i in 0..29 {
        login(
            &app,
            "/api/v1/auth/login",
            &format!("p{i}@test.local"),
            "guessed-password-1",
        )
        .await
        .problem(401);
    }
    // Successes neither count nor wipe what failed before.
    app.admin_token().await;
    app.admin_token().await;
    login(&app, "/api/v1/auth/login", "last@test.local", "guessed-password-1")
        .await
        .problem(401);
    login(&app, "/api/v1/auth/login", "more@test.local", "guessed-password-1")
        .await
        .problem(429);
}

#[actix_rt::test]
async fn parallel_refreshes_of_one_token_have_one_winner_and_end_the_session() {
    let app = TestApp::spawn_with(8, |_| {}).await;
    let r = login(&app, "/api/v1/auth/login", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = r.body["refresh_token"].as_str().unwrap().to_string();
    let tries = (0..8).map(|_| public_post(&app, "/api/v1/auth/refresh", json!({"refresh_token": token})));
    let answers = join_all(tries).await;
    let winners: Vec<&Resp> = answers.iter().filter(|r| r.status.as_u16() == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status.as_u16() != 200) {
        r.problem(401);
    }
    // The losers were reuse: the session ended, the winner's new refresh token with it.
    let next = winners[0].body["refresh_token"].as_str().unwrap();
    public_post(&app, "/api/v1/auth/refresh", json!({"refresh_token": next}))
        .await
        .problem(401);
}

#[actix_rt::test]
async fn staff_and_guest_passwords_follow_the_policy() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let staff =
        |email: &str, pw: &str| json!({"email": email, "display_name": "Li Na", "role": "agent", "password": pw});
    for (email, pw) in [
        ("li.na@test.local", "password12"),
        ("li.na@test.local", "Password1234!"),
        ("li.na@test.local", "qwertyuiop12"),
        ("li.na@test.local", "river-cat-7"),
        ("li.na@test.local", "my-li.na-password"),
        ("li.na@test.local", "li.na@test.local"),
    ] {
        let r = app.post("/api/v1/staff", &admin, staff(email, pw)).await;
        r.problem(422);
        assert_eq!(r.fields(), vec!["password"], "{pw}: {}", r.raw);
    }
    let r = app
        .post("/api/v1/staff", &admin, staff("li.na@test.local", "river-cat-71"))
        .await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap();
    let r = app
        .patch(
            &format!("/api/v1/staff/{id}"),
            &admin,
            json!({"password": "password1234"}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "password");
    app.login("li.na@test.local", "river-cat-71").await;

    let register = |pw: &str| json!({"email": "zhang.min@example.com", "password": pw, "given_name": "Min", "family_name": "Zhang"});
    for pw in ["password1234", "zhang.min-2026", "short-pw1"] {
        let r = public_post(&app, "/api/v1/auth/customer/register", register(pw)).await;
        r.problem(422);
        assert_eq!(r.fields(), vec!["password"], "{pw}: {}", r.raw);
    }
    public_post(&app, "/api/v1/auth/customer/register", register("tea-garden-9"))
        .await
        .expect(201);
}

#[actix_rt::test]
async fn a_weak_bootstrap_admin_password_is_refused() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn().await;
    let mut conn = app.conn();
    conn.batch_execute("UPDATE staff_users SET active = false").unwrap();
    let err =
        concierge::features::sessions::ensure_bootstrap_admin(&mut conn, Some("root@test.local"), Some("password12"))
            .unwrap_err()
            .to_string();
    assert!(err.contains("CONCIERGE_ADMIN_PASSWORD"), "{err}");
    let made = concierge::features::sessions::ensure_bootstrap_admin(&mut conn, Some("root@test.local"), None).unwrap();
    assert!(made.is_some_and(|(email, generated)| email == "root@test.local" && generated.is_some()));
}
