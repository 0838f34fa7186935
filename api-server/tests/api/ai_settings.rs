//! The assistant's endpoint set by an administrator: the key is write-only,
//! stored sealed, and used by the next call; set environment variables win.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::ai::{ai_settings, text_answer, Reply, ScriptedLlm};
use crate::support::*;

const KEY: &str = "sk-MARK-admin-key-7731";

async fn summarize_week(app: &TestApp, admin: &Session, client: u64) -> Resp {
    app.post(
        "/api/ai/summaries",
        admin,
        json!({"kind": "clientWeek", "id": client}),
    )
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_sets_the_endpoint_the_key_is_write_only_sealed_and_used_by_the_next_call(
    pool: MySqlPool,
) {
    let llm = ScriptedLlm::start(vec![
        Reply::Ok(text_answer("week one")),
        Reply::Ok(text_answer("week two")),
        Reply::Ok(text_answer("week three")),
    ])
    .await;
    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let client = app.user(&admin, "carl", "client").await.user_id;
    let before = app.get("/api/admin/ai/settings", &admin).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.body["enabled"], false);
    assert_eq!(before.body["apiKey"]["set"], false);
    assert_eq!(
        summarize_week(&app, &admin, client).await.body["error"]["code"],
        "ai_disabled"
    );

    let put = app
        .put(
            "/api/admin/ai/settings",
            &admin,
            json!({"baseUrl": llm.base_url, "model": "admin-model", "apiKey": KEY}),
        )
        .await;

    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["enabled"], true);
    assert_eq!(put.body["effectiveModel"], "admin-model");
    assert_eq!(put.body["apiKey"], json!({"set": true}));
    assert_eq!(put.body["overriddenByEnvironment"], json!([]));
    let got = app.get("/api/admin/ai/settings", &admin).await;
    let status = app.get("/api/ai/status", &admin).await;
    assert_eq!(
        status.body,
        json!({"enabled": true, "model": "admin-model"})
    );
    for r in [&put.body, &got.body, &status.body] {
        assert!(!r.to_string().contains(KEY), "the key came back: {r}");
    }
    // Sealed at rest.
    let (raw,): (String,) =
        sqlx::query_as("SELECT value FROM app_setting WHERE setting_key = 'ai'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(!raw.contains(KEY) && !raw.contains("MARK"), "{raw}");
    let stored: Value = serde_json::from_str(&raw).unwrap();
    assert!(stored["apiKeySealed"].as_str().unwrap().len() > 20);

    // The next call uses the stored endpoint, model and key.
    let r = summarize_week(&app, &admin, client).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["text"], "week one");
    assert_eq!(llm.requests()[0]["model"], "admin-model");
    assert_eq!(
        llm.authorizations()[0].as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );

    // Changing the model keeps the key; clearing the key stops sending one.
    let keep = app
        .put(
            "/api/admin/ai/settings",
            &admin,
            json!({"baseUrl": llm.base_url, "model": "second-model"}),
        )
        .await;
    assert_eq!(keep.body["apiKey"]["set"], true);
    summarize_week(&app, &admin, client).await;
    assert_eq!(llm.requests()[1]["model"], "second-model");
    assert_eq!(
        llm.authorizations()[1].as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
    let clear = app
        .put(
            "/api/admin/ai/settings",
            &admin,
            json!({"baseUrl": llm.base_url, "model": "second-model", "apiKey": null}),
        )
        .await;
    assert_eq!(clear.body["apiKey"]["set"], false);
    summarize_week(&app, &admin, client).await;
    assert_eq!(llm.authorizations()[2], None);

    // Bad input changes nothing.
    for bad in [
        json!({"baseUrl": "ftp://x", "model": "m"}),
        json!({"baseUrl": llm.base_url, "model": null}),
        json!({"baseUrl": llm.base_url, "model": "m", "apiKey": 5}),
        json!({"baseUrl": llm.base_url, "model": "m", "extra": 1}),
    ] {
        let r = app.put("/api/admin/ai/settings", &admin, bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    let (after,): (String,) =
        sqlx::query_as("SELECT value FROM app_setting WHERE setting_key = 'ai'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(after.contains("second-model"));
    // Clearing the endpoint turns the assistant off again.
    let off = app
        .put(
            "/api/admin/ai/settings",
            &admin,
            json!({"baseUrl": null, "model": null}),
        )
        .await;
    assert_eq!(off.body["enabled"], false);
    assert_eq!(
        app.get("/api/ai/status", &admin).await.body["enabled"],
        false
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn set_environment_variables_win_over_the_stored_endpoint(pool: MySqlPool) {
    let llm = ScriptedLlm::start(vec![Reply::Ok(text_answer("from env"))]).await;
    let app = spawn_app_with(pool, ai_settings(&llm)).await;
    let admin = app.admin().await;
    let client = app.user(&admin, "carl", "client").await.user_id;

    let put = app
        .put(
            "/api/admin/ai/settings",
            &admin,
            json!({"baseUrl": "http://127.0.0.1:9/v1", "model": "stored-model", "apiKey": KEY}),
        )
        .await;

    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["model"], "stored-model");
    assert_eq!(put.body["effectiveModel"], "scripted");
    assert_eq!(
        put.body["overriddenByEnvironment"],
        json!(["KATALUSIS_LLM_BASE_URL", "KATALUSIS_LLM_MODEL"])
    );
    let r = summarize_week(&app, &admin, client).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(llm.requests()[0]["model"], "scripted");
    // The environment sets no key, so the stored one is sent.
    assert_eq!(
        llm.authorizations()[0].as_deref(),
        Some(&*format!("Bearer {KEY}"))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_stored_key_is_checked_at_startup_and_resealed_by_key_rotation(pool: MySqlPool) {
    use katalusis_api::secrets::store;
    use katalusis_vault::{Key, Keyring};

    let app = spawn_app(pool).await;
    let admin = app.admin().await;
    let put = app
        .put(
            "/api/admin/ai/settings",
            &admin,
            json!({"baseUrl": "http://127.0.0.1:9/v1", "model": "m", "apiKey": KEY}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let old = app.state.settings.vault.clone();
    let new_key = Key::generate().0;

    let report = store::rotate(&app.db, &old.rotated_to(new_key.clone()))
        .await
        .unwrap();

    assert_eq!(report.changed, 1, "{report:?}");
    let only_new = Keyring::new(new_key, vec![]);
    let (raw,): (String,) =
        sqlx::query_as("SELECT value FROM app_setting WHERE setting_key = 'ai'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let stored: Value = serde_json::from_str(&raw).unwrap();
    let sealed = stored["apiKeySealed"].as_str().unwrap();
    assert_eq!(only_new.open(sealed).unwrap(), KEY);
    assert_eq!(stored["model"], "m", "the rest of the document is kept");
    assert!(
        store::check_and_migrate(&app.db, &old).await.is_err(),
        "the startup check names a key the configured vault cannot open"
    );
}
