//! The built SPA is served at `/` with history fallback; the API keeps its paths.

use reqwest::StatusCode;
use sqlx::MySqlPool;

use crate::support::*;

fn web_build() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("katalusis-web-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><div id=root>spa</div>",
    )
    .unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log('app')").unwrap();
    dir
}

#[sqlx::test(migrations = "../migrations")]
async fn spa_routes_get_index_html_and_api_paths_stay_json(pool: MySqlPool) {
    let settings = katalusis_api::config::Settings {
        web_dir: Some(web_build()),
        ..test_settings()
    };
    let app = spawn_app_with(pool, settings).await;

    for path in ["/", "/manager/workflows/7", "/client"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.text().await.unwrap().contains("spa"), "{path}");
    }

    let r = app
        .http
        .get(app.url("/assets/app-1234.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.contains("immutable"), "{cache}");
    assert_eq!(r.text().await.unwrap(), "console.log('app')");

    for path in ["/api/nope", "/api", "/api/users/1/x"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }

    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "Katalusis API");
}

#[sqlx::test(migrations = "../migrations")]
async fn without_a_web_dir_every_unknown_path_is_a_json_404(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let r = app.http.get(app.url("/manager")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
