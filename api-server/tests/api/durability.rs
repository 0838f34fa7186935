//! Durability under database faults. Each test starts its own MariaDB server
//! (`mariadb-install-db` + `mariadbd` on a temporary data directory and a
//! free port) so it can kill it with SIGKILL and start it again.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use katalusis_api::config::{Secret, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::runs::{cast, edge, node, read_sse, template, text_in, text_out, workflow, Cast};
use crate::support::{spawn_app_with, test_settings, TestApp, ADMIN_PASSWORD};

/// The server binary: on PATH, or where Debian installs it.
fn mariadbd() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("mariadbd"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("mariadbd"))
}

/// A loopback port no other test of this process was given: tests run in
/// parallel, and a port released by one probe can be handed out again.
fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut given = GIVEN.lock().expect("port list");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A MariaDB server owned by one test.
struct OwnDb {
    dir: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl OwnDb {
    /// A fresh data directory; the server is not started yet.
    fn install() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("katalusis-db-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Its own temporary directory: bootstraps of parallel tests sharing
        // /tmp have failed on each other's temporary tables.
        std::fs::create_dir_all(dir.join("tmp")).expect("data dir");
        let status = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--skip-test-db"])
            .arg("--auth-root-authentication-method=normal")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--tmpdir={}", dir.join("tmp").display()))
            .output()
            .expect("mariadb-install-db runs");
        assert!(
            status.status.success(),
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        Self {
            dir,
            port,
            server: None,
        }
    }

    fn start(&mut self) {
        let log = std::fs::File::create(self.dir.join("server.log")).expect("log file");
        let server = Command::new(mariadbd())
            .args(["--no-defaults", "--user=root", "--bind-address=127.0.0.1"])
            .args(["--skip-log-bin", "--innodb-buffer-pool-size=32M"])
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--tmpdir={}", self.dir.join("tmp").display()))
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .arg(format!("--port={}", self.port))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mariadbd starts");
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mariadbd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a crashed or unplugged server.
    fn kill(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
    }

    fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/katalusis", self.port)
    }

    fn settings(&self) -> Settings {
        let mut s = test_settings();
        s.database_url = Secret::new(self.url());
        s.db_acquire_timeout_ms = 1000;
        s
    }
}

impl Drop for OwnDb {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn app_on(settings: Settings) -> TestApp {
    let pool = katalusis_api::connect(&settings).await.expect("connect");
    katalusis_api::MIGRATOR.run(&pool).await.expect("migrate");
    spawn_app_with(pool, settings).await
}

/// A chain `n0 → … → n{len-1}`; each node logs a line, sleeps and appends a dot.
async fn chain(app: &TestApp, c: &Cast, len: usize, sleep_s: f64) -> u64 {
    app.create_template(
        &c.admin,
        template(
            "chain.step",
            &format!(
                "import time\n\ndef run(inputs, params, ctx):\n    ctx.log('step ' + inputs['text'])\n    \
                 time.sleep({sleep_s})\n    return {{'text': inputs['text'] + '.'}}\n"
            ),
            text_in(),
            text_out(),
            json!({}),
        ),
    )
    .await;
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for i in 0..len {
        let mut n = node(&format!("n{i}"), "chain.step");
        if i == 0 {
            n["inputs"] = json!({"text": "x"});
        } else {
            edges.push(edge(
                &format!("n{}", i - 1),
                "text",
                &format!("n{i}"),
                "text",
            ));
        }
        nodes.push(n);
    }
    workflow(app, &c.manager, c.client.user_id, nodes, edges).await
}

/// The run once the server can answer again and the run is final.
async fn wait_final_through_outages(app: &TestApp, c: &Cast, run: u64, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let r = app.get(&format!("/api/runs/{run}"), &c.manager).await;
        if r.status == StatusCode::OK
            && ["succeeded", "failed", "cancelled"]
                .contains(&r.body["status"].as_str().unwrap_or(""))
        {
            return r.body;
        }
        assert!(
            r.status == StatusCode::OK || r.status == StatusCode::SERVICE_UNAVAILABLE,
            "{} {}",
            r.status,
            r.body
        );
        assert!(Instant::now() < deadline, "run did not finish: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_until_node_running(app: &TestApp, c: &Cast, run: u64, node_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.get(&format!("/api/runs/{run}"), &c.manager).await;
        let status = crate::runs::node_of(&r.body, node_id)["status"].clone();
        if status == "running" || status == "succeeded" {
            return;
        }
        assert!(Instant::now() < deadline, "{node_id} never ran: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.call(Method::GET, "/readyz", None, None).await.status != StatusCode::OK {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a client sees of a run, without times and ids.
fn essence(run: &Value) -> Value {
    let nodes: Vec<Value> = run["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let execs: Vec<Value> = n["executions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| json!([e["attempt"], e["status"], e["reason"], e["outputs"]]))
                .collect();
            json!({"id": n["id"], "status": n["status"], "attempt": n["attempt"], "executions": execs})
        })
        .collect();
    json!({"status": run["status"], "nodes": nodes})
}

#[tokio::test]
async fn killing_the_database_mid_run_loses_no_node_record_output_or_log_line() {
    let mut db = OwnDb::install();
    db.start();
    let app = app_on(db.settings()).await;
    let c = cast(&app).await;
    let wf = chain(&app, &c, 20, 0.5).await;
    let run = crate::runs::start(&app, &c.manager, wf, json!({})).await;

    wait_until_node_running(&app, &c, run, "n3").await;
    db.kill();
    tokio::time::sleep(Duration::from_secs(12)).await;
    db.start();
    let faulted = wait_final_through_outages(&app, &c, run, Duration::from_secs(180)).await;

    assert_eq!(faulted["status"], "succeeded", "{faulted}");
    for (i, n) in faulted["nodes"].as_array().unwrap().iter().enumerate() {
        let execs = n["executions"].as_array().unwrap();
        assert_eq!(execs.len(), 1, "exactly one execution of {}: {n}", n["id"]);
        assert_eq!(execs[0]["status"], "succeeded");
        let expected = format!("x{}", ".".repeat(i + 1));
        assert_eq!(execs[0]["outputs"]["text"], expected.as_str(), "{n}");
        let logs = app
            .get(
                &format!("/api/runs/{run}/nodes/{}/logs", n["id"].as_str().unwrap()),
                &c.manager,
            )
            .await;
        let lines: Vec<&str> = logs.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["message"].as_str())
            .collect();
        assert_eq!(lines, [format!("step x{}", ".".repeat(i))], "{}", n["id"]);
    }

    let events = read_sse(&app, &c.manager, run, None).await;
    let ids: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    for i in 0..20 {
        let succeeded = events
            .iter()
            .filter(|e| {
                e.1 == "node" && e.2["node"] == format!("n{i}") && e.2["status"] == "succeeded"
            })
            .count();
        assert_eq!(succeeded, 1, "n{i} succeeded once in the event log");
    }

    // The same run without a fault stores the same thing.
    let clean = crate::runs::start(&app, &c.manager, wf, json!({})).await;
    let clean = wait_final_through_outages(&app, &c, clean, Duration::from_secs(120)).await;
    assert_eq!(essence(&faulted), essence(&clean));
}

#[tokio::test]
async fn while_the_database_is_down_requests_answer_503_fast_and_change_nothing() {
    let mut db = OwnDb::install();
    db.start();
    let app = app_on(db.settings()).await;
    let c = cast(&app).await;
    let wf = chain(&app, &c, 2, 0.0).await;
    let before = app
        .get(&format!("/api/workflows/{wf}"), &c.manager)
        .await
        .body;

    db.kill();
    let timed = |started: Instant, limit_ms: u128, what: &str| {
        let took = started.elapsed().as_millis();
        assert!(took < limit_ms, "{what} took {took} ms");
    };
    let t = Instant::now();
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    timed(t, 1000, "readyz");
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );

    let t = Instant::now();
    let play = app
        .post(&format!("/api/workflows/{wf}/runs"), &c.manager, json!({}))
        .await;
    timed(t, 2000, "play");
    assert_eq!(
        play.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        play.body
    );
    assert_eq!(play.body["error"]["code"], "unavailable");
    assert!(play.headers.contains_key("retry-after"));

    let body = json!({"revision": before["revision"], "name": "renamed while down", "graph": before["graph"]});
    let t = Instant::now();
    let save = app
        .put(&format!("/api/workflows/{wf}"), &c.manager, body)
        .await;
    timed(t, 2000, "save");
    assert_eq!(
        save.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        save.body
    );

    let t = Instant::now();
    let login = app.try_login("admin", ADMIN_PASSWORD).await;
    timed(t, 2000, "login");
    assert_eq!(
        login.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        login.body
    );

    db.start();
    wait_ready(&app).await;
    let runs = app.get("/api/runs?count=exact", &c.manager).await;
    assert_eq!(runs.body["total"], 0, "no run was created: {}", runs.body);
    let after = app
        .get(&format!("/api/workflows/{wf}"), &c.manager)
        .await
        .body;
    assert_eq!(after["name"], before["name"]);
    assert_eq!(after["revision"], before["revision"]);
    app.login("admin", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn a_database_down_past_the_bound_fails_the_run_with_reason_storage() {
    let mut db = OwnDb::install();
    db.start();
    let mut settings = db.settings();
    settings.storage_outage_seconds = 2;
    let app = app_on(settings).await;
    let c = cast(&app).await;
    let wf = chain(&app, &c, 6, 1.0).await;
    let run = crate::runs::start(&app, &c.manager, wf, json!({})).await;

    wait_until_node_running(&app, &c, run, "n1").await;
    db.kill();
    tokio::time::sleep(Duration::from_secs(8)).await;
    db.start();
    let done = wait_final_through_outages(&app, &c, run, Duration::from_secs(120)).await;

    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["message"]
            .as_str()
            .unwrap_or("")
            .contains("could not be stored"),
        "{done}"
    );
    let n0 = crate::runs::node_of(&done, "n0");
    assert_eq!(
        n0["status"], "succeeded",
        "work done before the outage is kept"
    );
    assert_eq!(n0["executions"][0]["outputs"]["text"], "x.");
    let nodes = done["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .all(|n| n["status"] != "running" && n["status"] != "pending"),
        "{done}"
    );
    assert!(nodes.iter().any(|n| n["reason"] == "storage"), "{done}");
    let events = read_sse(&app, &c.manager, run, None).await;
    let ids: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_server_started_before_its_database_becomes_ready_without_a_restart() {
    let mut db = OwnDb::install();
    let settings = db.settings();
    let connecting = tokio::spawn({
        let settings = settings.clone();
        async move { katalusis_api::connect(&settings).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!connecting.is_finished(), "it waits for the database");
    db.start();
    let pool = tokio::time::timeout(Duration::from_secs(30), connecting)
        .await
        .expect("connects once the database is up")
        .expect("task")
        .expect("pool");
    katalusis_api::MIGRATOR.run(&pool).await.expect("migrate");
    let app = spawn_app_with(pool, settings).await;
    wait_ready(&app).await;

    // Told not to wait, it reports the outage at once.
    db.kill();
    let mut impatient = db.settings();
    impatient.db_startup_wait_seconds = Some(0);
    let err = katalusis_api::connect(&impatient)
        .await
        .expect_err("no database");
    assert!(format!("{err:#}").contains("connecting"), "{err:#}");
}

#[tokio::test]
async fn kubernetes_ingest_answers_503_during_an_outage_and_stores_the_retried_events_once() {
    use katalusis_operator::fake_api::FakeApi;

    let mut db = OwnDb::install();
    db.start();
    let mut settings = crate::kubernetes::k8s_settings();
    settings.database_url = Secret::new(db.url());
    settings.db_acquire_timeout_ms = 1000;
    let fake = FakeApi::new();
    let pool = katalusis_api::connect(&settings).await.expect("connect");
    katalusis_api::MIGRATOR.run(&pool).await.expect("migrate");
    let app = crate::support::spawn_app_on(pool, settings, Some(fake.client())).await;
    // No operator: the run stays pending while this test plays its node Pod.
    let c = cast(&app).await;
    let wf = chain(&app, &c, 1, 0.0).await;
    let run = crate::runs::start(&app, &c.manager, wf, json!({})).await;
    let token = crate::kubernetes::token_of(&fake, run).await;
    let url = app.url(&format!("/internal/runs/{run}/nodes/n0/events?attempt=1"));
    let post = |body: String| {
        let req = app.http.post(url.clone()).bearer_auth(&token).body(body);
        async move { req.send().await.expect("ingest").status() }
    };
    let first = json!({"v": 1, "type": "log", "job": "n0#1", "ts": 1.0, "level": "info",
        "stream": "stdout", "msg": "before"});
    assert_eq!(post(format!("{first}\n")).await, StatusCode::NO_CONTENT);

    let lines = [
        json!({"v": 1, "type": "log", "job": "n0#1", "ts": 2.0, "level": "info",
            "stream": "stdout", "msg": "during"}),
        json!({"v": 1, "type": "finished", "job": "n0#1", "status": "succeeded",
            "duration_ms": 5, "outputs": {"text": "x."}}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    db.kill();
    let t = Instant::now();
    assert_eq!(post(body.clone()).await, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "answered in {:?}",
        t.elapsed()
    );
    db.start();
    // The Pod's entrypoint retries with backoff; here, once the database is back.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match post(body.clone()).await {
            StatusCode::NO_CONTENT => break,
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("unexpected {other}"),
        }
        assert!(Instant::now() < deadline, "ingest never recovered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let logs = app
        .get(&format!("/api/runs/{run}/nodes/n0/logs"), &c.manager)
        .await;
    let messages: Vec<&str> = logs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert_eq!(messages, ["before", "during"], "stored once each");
    let stored: (String, Option<String>) = sqlx::query_as(
        "SELECT status, outputs FROM node_execution WHERE run_id = ? AND node_id = 'n0'",
    )
    .bind(run)
    .fetch_one(&app.db)
    .await
    .expect("the outcome is stored");
    assert_eq!(stored.0, "succeeded");
    assert!(stored.1.unwrap_or_default().contains("x."));
}
