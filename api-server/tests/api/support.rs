//! `spawn_app` and typed request helpers.

use std::net::SocketAddr;

use katalusis_api::config::{Secret, Settings};
use katalusis_api::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::MySqlPool;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret!";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "user-password-1";

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub db: MySqlPool,
    pub state: AppState,
}

pub fn test_settings() -> Settings {
    Settings {
        jwt_secret: Some(Secret::new(JWT_SECRET)),
        admin_password: Some(Secret::new(ADMIN_PASSWORD)),
        admin_email: "admin@example.com".into(),
        // Cheap hashing keeps the suite fast; production uses the OWASP defaults.
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        max_body_bytes: 64 * 1024,
        login_max_failures: 3,
        login_ip_max_failures: 1000,
        ..Settings::default()
    }
}

pub async fn spawn_app(db: MySqlPool) -> TestApp {
    spawn_app_with(db, test_settings()).await
}

pub async fn spawn_app_with(db: MySqlPool, settings: Settings) -> TestApp {
    spawn_app_on(db, settings, None).await
}

/// An app in `kubernetes` executor mode talking to `client`.
pub async fn spawn_app_on(
    db: MySqlPool,
    settings: Settings,
    client: Option<kube::Client>,
) -> TestApp {
    spawn_app_routes(db, settings, client, Default::default()).await
}

/// An app with extra protected routes merged into the API.
pub async fn spawn_app_routes(
    db: MySqlPool,
    settings: Settings,
    client: Option<kube::Client>,
    extra: utoipa_axum::router::OpenApiRouter<katalusis_api::state::AppState>,
) -> TestApp {
    // TEST_LOG=<filter> shows the server's logs of a test run.
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_thread_names(true)
            .with_test_writer()
            .try_init();
    }
    let state = katalusis_api::state_with(db.clone(), settings, client).expect("state");
    state.executor.replica().registered().await;
    katalusis_api::bootstrap::ensure_admin(&state.db, &state.settings, &state.hasher)
        .await
        .expect("bootstrap");
    katalusis_api::library::install_builtins(&state.db, &state.settings)
        .await
        .expect("flow templates");
    katalusis_api::workflow_templates::service::install_builtins(&state.db)
        .await
        .expect("workflow templates");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = katalusis_api::http::router_with(state.clone(), extra);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    TestApp {
        addr,
        http: reqwest::Client::new(),
        db,
        state,
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: u64,
    pub token: String,
    pub refresh: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str, s: &Session) -> Resp {
        self.call(Method::GET, path, Some(&s.token), None).await
    }
    pub async fn post(&self, path: &str, s: &Session, body: Value) -> Resp {
        self.call(Method::POST, path, Some(&s.token), Some(body))
            .await
    }
    pub async fn put(&self, path: &str, s: &Session, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(&s.token), Some(body))
            .await
    }
    pub async fn patch(&self, path: &str, s: &Session, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(&s.token), Some(body))
            .await
    }
    pub async fn delete(&self, path: &str, s: &Session) -> Resp {
        self.call(Method::DELETE, path, Some(&s.token), None).await
    }

    pub async fn try_login(&self, login: &str, password: &str) -> Resp {
        self.call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"login": login, "password": password})),
        )
        .await
    }

    pub async fn login(&self, login: &str, password: &str) -> Session {
        let r = self.try_login(login, password).await;
        assert_eq!(r.status, StatusCode::OK, "login {login}: {}", r.body);
        Session {
            user_id: r.body["user"]["id"].as_u64().expect("user id"),
            token: r.body["accessToken"].as_str().expect("token").to_string(),
            refresh: r.body["refreshToken"]
                .as_str()
                .expect("refresh")
                .to_string(),
        }
    }

    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user with `PASSWORD` through the API and logs them in.
    pub async fn user(&self, admin: &Session, username: &str, role: &str) -> Session {
        let r = self
            .post(
                "/api/admin/users",
                admin,
                json!({"username": username, "email": format!("{username}@example.com"),
                       "displayName": username, "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        self.login(username, PASSWORD).await
    }

    pub async fn assign(&self, admin: &Session, manager: u64, client: u64) {
        let r = self
            .put(
                &format!("/api/admin/managers/{manager}/clients/{client}"),
                admin,
                json!(null),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }

    pub async fn create_template(&self, admin: &Session, spec: Value) -> Value {
        let r = self.post("/api/templates", admin, spec).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    pub async fn create_workflow(&self, s: &Session, client: u64, graph: Value) -> Value {
        let r = self
            .post(
                "/api/workflows",
                s,
                json!({"clientId": client, "name": "flow", "graph": graph}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// Counts rows, for asserting that a rejected request changed nothing.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.db)
            .await
            .expect("count")
    }
}

/// A template whose `run` upper-cases its `text` input.
pub fn upper_template(name: &str) -> Value {
    json!({
        "name": name,
        "title": "Uppercase",
        "category": "text",
        "code": "def run(inputs, params, ctx):\n    return {'text': inputs['text'].upper()}\n",
        "inputs": [{"name": "text", "type": "string", "required": true}],
        "outputs": [{"name": "text", "type": "string"}],
        "parameters": [{"name": "mode", "kind": "select", "options": ["a", "b"], "default": "a"}]
    })
}

/// A two-node graph over `upper_template(name)`.
pub fn two_node_graph(name: &str) -> Value {
    json!({
        "nodes": [
            {"id": "a", "template": {"name": name, "version": 1}, "inputs": {"text": "hi"}},
            {"id": "b", "template": {"name": name, "version": 1}}
        ],
        "edges": [{"id": "e1", "source": "a", "sourcePort": "text", "target": "b", "targetPort": "text"}]
    })
}

/// A `multipart/form-data` body with one `file` field.
pub fn multipart_file(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "katalusis-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// Uploads a file for a task import (`POST /api/tasks/import`).
    pub async fn upload_import(&self, s: &Session, name: &str, bytes: &[u8]) -> Resp {
        let (ct, body) = multipart_file(name, bytes);
        let resp = self
            .http
            .post(self.url("/api/tasks/import"))
            .bearer_auth(&s.token)
            .header(reqwest::header::CONTENT_TYPE, ct)
            .body(body)
            .send()
            .await
            .expect("upload");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        Resp {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        }
    }

    /// Polls an import until its apply settles; returns the session.
    pub async fn wait_import(&self, s: &Session, id: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let r = self.get(&format!("/api/tasks/imports/{id}"), s).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let st = r.body["state"].as_str().unwrap_or_default().to_string();
            if !matches!(st.as_str(), "queued" | "applying") {
                return r.body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "import {id} did not settle: {}",
                r.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// The real server binary as a child process on a free port, for tests that
/// kill a server mid-operation and start another on the same database.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub base: String,
}

impl ServerProcess {
    pub async fn spawn(database: &str, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_katalusis-api"));
        cmd.env(
            "DATABASE_URL",
            format!("mysql://root@127.0.0.1:3306/{database}"),
        )
        .env("KATALUSIS_BIND", format!("127.0.0.1:{port}"))
        .env("KATALUSIS_JWT_SECRET", JWT_SECRET)
        .env("KATALUSIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("KATALUSIS_LOG", "warn")
        .stdout(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("server binary");
        let base = format!("http://127.0.0.1:{port}");
        // Generous: the whole API suite shares two cores with this start.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                std::time::Instant::now() < deadline,
                "server did not come up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Self { child, base }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal SMTP server that accepts every message and hands over its
/// DATA section.
pub async fn smtp_sink() -> (u16, tokio::sync::mpsc::Receiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
                let (r, mut wr) = sock.into_split();
                let mut lines = tokio::io::BufReader::new(r).lines();
                wr.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let cmd = line.to_ascii_uppercase();
                    if cmd.starts_with("DATA") {
                        wr.write_all(b"354 end with .\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        let _ = tx.send(data).await;
                        wr.write_all(b"250 queued\r\n").await.unwrap();
                    } else if cmd.starts_with("QUIT") {
                        let _ = wr.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        wr.write_all(b"250 ok\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (port, rx)
}
