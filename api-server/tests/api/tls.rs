//! HTTPS from one setting: a real TLS handshake against the generated
//! development certificate, HTTP/2 by ALPN, HSTS, and SSE over TLS.

use std::time::Duration;

use katalusis_api::config::TlsSource;
use katalusis_api::live::LiveEvent;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::MySqlPool;

use crate::support::*;

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn https_with_a_generated_certificate_serves_http2_hsts_and_sse(pool: MySqlPool) {
    let mut settings = test_settings();
    settings.tls = Some(TlsSource::SelfSigned);
    let state = katalusis_api::state(pool, settings).unwrap();
    katalusis_api::bootstrap::ensure_admin(&state.db, &state.settings, &state.hasher)
        .await
        .unwrap();
    let tls = katalusis_api::tls::load(&TlsSource::SelfSigned).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = katalusis_api::http::router(state.clone());
    tokio::spawn(katalusis_api::serve(
        listener,
        app,
        Some(tls.clone()),
        std::future::pending(),
    ));
    let base = format!("https://127.0.0.1:{}", addr.port());

    // A client that does not trust the certificate refuses the handshake.
    let strict = reqwest::Client::builder().build().unwrap();
    assert!(strict.get(format!("{base}/healthz")).send().await.is_err());

    let root = reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "ALPN chose h2");
    assert_eq!(
        r.headers()["strict-transport-security"],
        katalusis_api::http::headers::STRICT_TRANSPORT_SECURITY
    );
    // HTTP/1.1 still works for clients that do not speak h2.
    let h1 = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap())
        .http1_only()
        .build()
        .unwrap();
    let r = h1.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);

    let r = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    let token = body["accessToken"].as_str().unwrap().to_string();
    let admin_id = body["user"]["id"].as_u64().unwrap();

    // Server-sent events over TLS: an event published after the stream
    // opened arrives through it.
    let mut sse = http
        .get(format!("{base}/api/tasks/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), StatusCode::OK);
    assert!(sse.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !received.contains("over-tls") {
        state.live.publish(LiveEvent::Notification {
            user_id: admin_id,
            data: json!({"title": "over-tls"}),
        });
        match tokio::time::timeout_at(deadline, sse.chunk()).await {
            Ok(Ok(Some(chunk))) => received.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("no event over TLS: {other:?}; got {received:?}"),
        }
    }
    assert!(received.contains("event: notification"), "{received}");
}
