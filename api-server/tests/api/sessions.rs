//! Active sessions: listing and revoking your own, admins ending a user's,
//! and the development JWT secret surviving a restart.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::MySqlPool;

use crate::support::*;

async fn login_with_agent(app: &TestApp, login: &str, password: &str, agent: &str) -> Session {
    let r = app
        .http
        .post(app.url("/api/auth/login"))
        .header("user-agent", agent)
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    Session {
        user_id: body["user"]["id"].as_u64().unwrap(),
        token: body["accessToken"].as_str().unwrap().into(),
        refresh: body["refreshToken"].as_str().unwrap().into(),
    }
}

async fn refresh(app: &TestApp, s: &Session) -> StatusCode {
    app.call(
        Method::POST,
        "/api/auth/refresh",
        None,
        Some(json!({"refreshToken": s.refresh})),
    )
    .await
    .status
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn users_list_and_revoke_their_own_sessions(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    app.user(&admin, "mia", "manager").await;
    let laptop = login_with_agent(&app, "mia", PASSWORD, "Firefox on the laptop").await;
    let phone = login_with_agent(&app, "mia", PASSWORD, "Safari on the phone").await;
    let other = app.user(&admin, "max", "manager").await;

    let r = app.get("/api/auth/sessions", &laptop).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = r.body.as_array().unwrap();
    // The `user` helper's own login is a third session of mia's.
    assert_eq!(list.len(), 3, "{}", r.body);
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["userAgent"], "Firefox on the laptop");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert!(current[0]["lastSeenAt"].is_string());
    let phone_id = list
        .iter()
        .find(|s| s["userAgent"] == "Safari on the phone")
        .unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone else's session is not found, and stays alive.
    let r = app
        .delete(&format!("/api/auth/sessions/{phone_id}"), &other)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(app.get("/api/auth/me", &phone).await.status, StatusCode::OK);

    let r = app
        .delete(&format!("/api/auth/sessions/{phone_id}"), &laptop)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // The revoked session's access and refresh tokens both stop working.
    assert_eq!(
        app.get("/api/auth/me", &phone).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refresh(&app, &phone).await, StatusCode::UNAUTHORIZED);
    // The laptop carries on, and no longer lists the phone.
    assert_eq!(refresh(&app, &laptop).await, StatusCode::OK);
    let r = app.get("/api/auth/sessions", &laptop).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    assert!(!r.body.to_string().contains(&phone_id));
    // Revoking again answers 404: it is no longer active.
    let r = app
        .delete(&format!("/api/auth/sessions/{phone_id}"), &laptop)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'session.revoke' AND object_id = ? AND outcome = 'success'",
    )
    .bind(&phone_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn admins_end_all_sessions_of_a_user(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let acme = app.user(&admin, "acme", "client").await;
    let acme2 = app.login("acme", PASSWORD).await;
    let mia = app.user(&admin, "mia", "manager").await;

    let path = format!("/api/admin/users/{}/sessions", acme.user_id);
    let r = app.get(&path, &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    // Only admins.
    assert_eq!(app.get(&path, &mia).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(&path, &mia).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/auth/me", &acme).await.status, StatusCode::OK);

    let r = app.delete(&path, &admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    for s in [&acme, &acme2] {
        assert_eq!(
            app.get("/api/auth/me", s).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(refresh(&app, s).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get(&path, &admin).await.body, json!([]));
    // Other users are untouched; so is the admin who ended their own sessions.
    assert_eq!(app.get("/api/auth/me", &mia).await.status, StatusCode::OK);
    let own = format!("/api/admin/users/{}/sessions", admin.user_id);
    assert_eq!(
        app.delete(&own, &admin).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get("/api/auth/me", &admin).await.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/admin/users/999999/sessions", &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn the_development_jwt_secret_survives_a_restart(pool: MySqlPool) {
    let first = katalusis_api::auth::jwt::dev_secret(&pool).await.unwrap();
    let again = katalusis_api::auth::jwt::dev_secret(&pool).await.unwrap();
    assert_eq!(first, again, "one secret per database, not per start");
    assert!(first.len() >= 32);
    // A token issued before the "restart" verifies after it.
    let before = katalusis_api::auth::jwt::JwtKeys::new(first.as_bytes(), 60);
    let token = before
        .issue(1, "s", chrono::Utc::now().timestamp())
        .unwrap();
    let after = katalusis_api::auth::jwt::JwtKeys::new(again.as_bytes(), 60);
    assert_eq!(after.verify(&token).unwrap().sub, "1");
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let stored: String = sqlx::query_scalar("SELECT value FROM app_setting WHERE setting_key = ?")
        .bind(katalusis_api::auth::jwt::DEV_SECRET_KEY)
        .fetch_one(&pool)
        .await
        .unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["kid"], kid.as_str());
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn a_rotated_secret_keeps_sessions_working(pool: MySqlPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = app.admin().await;
    // The same database served with a new secret and the old one as previous.
    let mut settings = test_settings();
    settings.jwt_secret = Some(katalusis_api::config::Secret::new("n".repeat(40)));
    settings.jwt_previous_secret = Some(katalusis_api::config::Secret::new(JWT_SECRET));
    let rotated = spawn_app_with(pool.clone(), settings).await;
    assert_eq!(
        rotated.get("/api/auth/me", &admin).await.status,
        StatusCode::OK
    );
    // Without the previous secret, the old access token is refused, but the
    // session goes on through its refresh token.
    let mut settings = test_settings();
    settings.jwt_secret = Some(katalusis_api::config::Secret::new("n".repeat(40)));
    let after = spawn_app_with(pool, settings).await;
    assert_eq!(
        after.get("/api/auth/me", &admin).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = after
        .call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": admin.refresh})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
