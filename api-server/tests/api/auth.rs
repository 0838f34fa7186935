use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::MySqlPool;

use crate::support::*;

fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("claims")
}

#[sqlx::test(migrations = "../migrations")]
async fn login_returns_tokens_and_me_answers_with_the_user(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let s = app.admin().await;
    let me = app.get("/api/auth/me", &s).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], "admin");
    assert_eq!(me.body["role"], "admin");
    assert!(me.body.get("passwordHash").is_none());
    let c = claims_of(&s.token);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
    // Email works as the login too, case-insensitively.
    app.login("ADMIN@example.com", ADMIN_PASSWORD).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn wrong_password_and_unknown_user_get_the_same_401(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let wrong = app.try_login("admin", "not-the-password").await;
    let unknown = app.try_login("nobody-here", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["error"]["code"], "invalid_credentials");
}

#[sqlx::test(migrations = "../migrations")]
async fn requests_without_or_with_garbage_tokens_get_401(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let none = app.call(Method::GET, "/api/auth/me", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body["error"]["code"], "unauthenticated");
    let junk = app
        .call(Method::GET, "/api/auth/me", Some("not.a.jwt"), None)
        .await;
    assert_eq!(junk.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_expired_token_is_rejected(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let s = app.admin().await;
    let mut c = claims_of(&s.token);
    let now = chrono::Utc::now().timestamp();
    c["iat"] = json!(now - 1000);
    c["exp"] = json!(now - 10);
    let expired = encode(
        &Header::default(),
        &c,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let r = app
        .call(Method::GET, "/api/auth/me", Some(&expired), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The same claims with a future expiry are accepted: only `exp` made the difference.
    c["exp"] = json!(now + 60);
    let fresh = encode(
        &Header::default(),
        &c,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        app.call(Method::GET, "/api/auth/me", Some(&fresh), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_tampered_token_is_rejected(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let client = app.user(&admin, "carol", "client").await;
    // Swap the client's payload for one naming the admin, keeping the signature.
    let mut c = claims_of(&client.token);
    c["sub"] = json!(admin.user_id.to_string());
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&c).unwrap(),
    );
    let parts: Vec<&str> = client.token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], payload, parts[2]);
    let r = app
        .call(Method::GET, "/api/admin/users", Some(&forged), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A token signed with another key is rejected too.
    let other = encode(
        &Header::default(),
        &c,
        &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
    )
    .unwrap();
    assert_eq!(
        app.call(Method::GET, "/api/auth/me", Some(&other), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn refresh_rotates_and_a_used_refresh_token_ends_the_session(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let s = app.admin().await;
    let r1 = app
        .call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": s.refresh})),
        )
        .await;
    assert_eq!(r1.status, StatusCode::OK, "{}", r1.body);
    let new_refresh = r1.body["refreshToken"].as_str().unwrap().to_string();
    let new_access = r1.body["accessToken"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, s.refresh);
    assert_eq!(
        app.call(Method::GET, "/api/auth/me", Some(&new_access), None)
            .await
            .status,
        StatusCode::OK
    );
    // The old refresh token is rejected after use ...
    let reuse = app
        .call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": s.refresh})),
        )
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    // ... and its reuse revoked the whole session, new tokens included.
    let after = app
        .call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": new_refresh})),
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.call(Method::GET, "/api/auth/me", Some(&new_access), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn logout_revokes_the_access_and_refresh_tokens(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let s = app.admin().await;
    let other = app.admin().await;
    let r = app
        .call(Method::POST, "/api/auth/logout", Some(&s.token), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", &s).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = app
        .call(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": s.refresh})),
        )
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    // Other sessions of the same user are untouched.
    assert_eq!(app.get("/api/auth/me", &other).await.status, StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn repeated_failures_lock_the_account_with_retry_after(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    for _ in 0..3 {
        assert_eq!(
            app.try_login("admin", "wrong-password!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    // An unknown account locks the same way, so lockout reveals nothing.
    for _ in 0..3 {
        app.try_login("ghost", "wrong-password!").await;
    }
    let ghost = app.try_login("ghost", "wrong-password!").await;
    assert_eq!(ghost.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(ghost.body, locked.body);
}

#[sqlx::test(migrations = "../migrations")]
async fn too_many_failures_from_one_ip_lock_that_ip(pool: MySqlPool) {
    let mut settings = test_settings();
    settings.login_ip_max_failures = 4;
    let app = spawn_app_with(pool, settings).await;
    for i in 0..4 {
        app.try_login(&format!("user{i}"), "wrong-password!").await;
    }
    let r = app.try_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[sqlx::test(migrations = "../migrations")]
async fn deactivation_ends_a_users_sessions_immediately(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m = app.user(&admin, "mia", "manager").await;
    assert_eq!(app.get("/api/auth/me", &m).await.status, StatusCode::OK);
    let r = app
        .delete(&format!("/api/admin/users/{}", m.user_id), &admin)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/auth/me", &m).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login("mia", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn users_change_their_own_password(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let m = app.user(&admin, "mia", "manager").await;
    let other_session = app.login("mia", PASSWORD).await;
    let bad = app
        .post(
            "/api/auth/password",
            &m,
            json!({"currentPassword": "wrong-one-xx", "newPassword": "a-new-password"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["details"][0]["field"], "currentPassword");
    let short = app
        .post(
            "/api/auth/password",
            &m,
            json!({"currentPassword": PASSWORD, "newPassword": "short"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app
        .post(
            "/api/auth/password",
            &m,
            json!({"currentPassword": PASSWORD, "newPassword": "a-new-password"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.try_login("mia", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("mia", "a-new-password").await;
    // The session that changed it lives on; the others end.
    assert_eq!(app.get("/api/auth/me", &m).await.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/auth/me", &other_session).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn passwords_are_stored_as_argon2id(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM app_user WHERE username = 'admin'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(ADMIN_PASSWORD));
}

#[sqlx::test(migrations = "../migrations")]
async fn bootstrap_creates_the_admin_once_and_generates_a_password_when_unset(pool: MySqlPool) {
    let mut settings = test_settings();
    settings.admin_password = None;
    let app = spawn_app_with(pool, settings).await;
    assert_eq!(app.count("app_user").await, 1);
    // The generated password is not a known default.
    assert_eq!(
        app.try_login("admin", ADMIN_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    katalusis_api::bootstrap::ensure_admin(&app.db, &app.state.settings, &app.state.hasher)
        .await
        .unwrap();
    assert_eq!(app.count("app_user").await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_new_route_whose_handler_takes_no_extractor_is_still_refused_without_a_token(
    pool: MySqlPool,
) {
    // A handler that forgot to ask for the caller: the router's layer must
    // still authenticate it, because only the explicit public list is open.
    let extra = utoipa_axum::router::OpenApiRouter::new().route(
        "/api/unguarded-example",
        axum::routing::get(|| async { "secret" }),
    );
    let app = spawn_app_routes(pool, test_settings(), None, extra).await;

    let anonymous = app
        .call(Method::GET, "/api/unguarded-example", None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body["error"]["code"], "unauthenticated");
    let garbage = app
        .call(
            Method::GET,
            "/api/unguarded-example",
            Some("not-a-jwt"),
            None,
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);

    let s = app.admin().await;
    let allowed = app
        .call(Method::GET, "/api/unguarded-example", Some(&s.token), None)
        .await;
    assert_eq!(allowed.status, StatusCode::OK);

    // The public list stays public.
    for path in ["/healthz", "/api/openapi.json"] {
        let r = app.call(Method::GET, path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
}
