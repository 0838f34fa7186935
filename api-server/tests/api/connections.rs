//! Connections against the real PostgreSQL (127.0.0.1:5432, trust auth for
//! `postgres`) and MariaDB (127.0.0.1:3306, root without password).

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::runs::cast;
use crate::support::{spawn_app, Session, TestApp};

const PG_PASSWORD: &str = "Pg-Secret-7731";

/// A PostgreSQL role `name` with password `PG_PASSWORD`. The local server
/// trusts 127.0.0.1, so it accepts any password; authentication failures
/// are exercised with a role that may not log in (SQLSTATE 28000) here and
/// with a real wrong password against MariaDB.
async fn pg_role(name: &str, login: bool) {
    let pg = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .expect("the local PostgreSQL");
    sqlx::query(&format!("DROP ROLE IF EXISTS {name}"))
        .execute(&pg)
        .await
        .unwrap();
    let login = if login { "LOGIN" } else { "NOLOGIN" };
    sqlx::query(&format!(
        "CREATE ROLE {name} {login} PASSWORD '{PG_PASSWORD}'"
    ))
    .execute(&pg)
    .await
    .unwrap();
}

async fn create(app: &TestApp, admin: &Session, body: Value) -> Value {
    let r = app.post("/api/admin/connections", admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn test_of(app: &TestApp, admin: &Session, id: u64) -> Value {
    let r = app
        .post(
            &format!("/api/admin/connections/{id}/test"),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn a_postgres_connection_is_added_tested_and_updated_without_its_password_showing(
    pool: MySqlPool,
) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    pg_role("kat_conn_a", true).await;
    pg_role("kat_conn_nologin", false).await;
    let conn = create(
        &app,
        &c.admin,
        json!({
            "name": "crm", "kind": "postgres", "host": "127.0.0.1", "database": "postgres",
            "user": "kat_conn_a", "password": PG_PASSWORD, "tlsMode": "disable",
            "clientIds": [c.client.user_id]
        }),
    )
    .await;
    let id = conn["id"].as_u64().unwrap();
    assert_eq!(conn["password"], json!({"set": true}));
    assert_eq!(conn["port"], 5432);
    assert_eq!(conn["readOnly"], true);

    let ok = test_of(&app, &c.admin, id).await;
    assert_eq!(ok["outcome"], "ok", "{ok}");
    assert!(
        ok["serverVersion"].as_str().unwrap().contains("PostgreSQL"),
        "{ok}"
    );
    assert!(ok["elapsedMs"].as_u64().unwrap() < 5000);

    // Keeping the password with the placeholder; the test still passes.
    let mut edit = json!({"name": "crm", "kind": "postgres", "host": "127.0.0.1",
        "database": "postgres", "user": "kat_conn_a", "password": {"set": true},
        "tlsMode": "disable", "clientIds": [c.client.user_id]});
    let r = app
        .put(
            &format!("/api/admin/connections/{id}"),
            &c.admin,
            edit.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(test_of(&app, &c.admin, id).await["outcome"], "ok");

    // Nowhere in the API, nowhere in the raw row.
    let mut seen = String::new();
    for path in [
        "/api/admin/connections".to_string(),
        format!("/api/admin/connections/{id}"),
    ] {
        seen.push_str(&app.get(&path, &c.admin).await.body.to_string());
    }
    seen.push_str(&r.body.to_string());
    seen.push_str(
        &app.get("/api/connections", &c.manager)
            .await
            .body
            .to_string(),
    );
    assert!(!seen.contains(PG_PASSWORD), "password in a response");
    let raw: (String, String) = sqlx::query_as(
        "SELECT CONCAT_WS('|', name, host, username, options), password_sealed FROM db_connection WHERE connection_id = ?",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(!raw.0.contains(PG_PASSWORD) && !raw.1.contains(PG_PASSWORD));
    assert!(katalusis_vault::is_sealed(&raw.1));

    // A refused login is an authentication failure, and says nothing of the password.
    edit["password"] = json!("not-the-password-99");
    edit["user"] = json!("kat_conn_nologin");
    app.put(
        &format!("/api/admin/connections/{id}"),
        &c.admin,
        edit.clone(),
    )
    .await;
    let bad = test_of(&app, &c.admin, id).await;
    assert_eq!(bad["outcome"], "authentication", "{bad}");
    assert!(!bad.to_string().contains("not-the-password-99"));
    edit["user"] = json!("kat_conn_a");

    edit["password"] = json!(PG_PASSWORD);
    edit["database"] = json!("no_such_database_here");
    app.put(&format!("/api/admin/connections/{id}"), &c.admin, edit)
        .await;
    assert_eq!(
        test_of(&app, &c.admin, id).await["outcome"],
        "database_missing"
    );
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn connection_tests_classify_dns_refused_and_mysql_results(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let cases = [
        (
            json!({"name": "dns", "kind": "postgres", "host": "no-such-host.invalid"}),
            "dns",
        ),
        (
            json!({"name": "closed", "kind": "postgres", "host": "127.0.0.1", "port": 1}),
            "refused",
        ),
        (
            json!({"name": "maria", "kind": "mysql", "host": "127.0.0.1", "user": "root",
            "database": "mysql", "tlsMode": "disable"}),
            "ok",
        ),
        (
            json!({"name": "maria-bad", "kind": "mysql", "host": "127.0.0.1", "user": "root",
            "password": "wrong-root-password", "tlsMode": "disable"}),
            "authentication",
        ),
        (
            json!({"name": "maria-nodb", "kind": "mysql", "host": "127.0.0.1", "user": "root",
            "database": "no_such_db_kat", "tlsMode": "disable"}),
            "database_missing",
        ),
    ];
    for (body, want) in cases {
        let id = create(&app, &c.admin, body.clone()).await["id"]
            .as_u64()
            .unwrap();
        let r = test_of(&app, &c.admin, id).await;
        assert_eq!(r["outcome"], want, "{body} → {r}");
        if want == "ok" {
            assert!(
                r["serverVersion"].as_str().is_some_and(|v| !v.is_empty()),
                "{r}"
            );
        }
    }
}

/// No SQL Server or MongoDB runs here (scripts/connectors-e2e.sh tests them
/// in Docker), but their drivers meet the real network: a name that does
/// not resolve and a port nobody listens on.
#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn sqlserver_and_mongodb_tests_classify_dns_and_refused(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    for kind in ["sqlserver", "mongodb"] {
        for (host, port, want) in [
            ("no-such-host.invalid", 1433, "dns"),
            ("127.0.0.1", 1, "refused"),
        ] {
            let body = json!({"name": format!("{kind}-{want}"), "kind": kind, "host": host,
                "port": port, "database": "shop", "user": "app", "password": "pw-never-shown",
                "tlsMode": "disable"});
            let id = create(&app, &c.admin, body.clone()).await["id"]
                .as_u64()
                .unwrap();
            let r = test_of(&app, &c.admin, id).await;
            assert_eq!(r["outcome"], want, "{body} → {r}");
            assert!(r["elapsedMs"].as_u64().unwrap() <= 5_500, "{r}");
            assert!(!r.to_string().contains("pw-never-shown"));
        }
    }
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn bad_connection_input_answers_422_or_409_and_stores_nothing(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let r = app
        .post(
            "/api/admin/connections",
            &c.admin,
            json!({"name": "x y", "kind": "oracle", "host": ""}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post(
            "/api/admin/connections",
            &c.admin,
            json!({"name": "x", "kind": "mysql", "host": "h", "clientIds": [c.manager.user_id]}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a manager is not a client: {}",
        r.body
    );
    assert_eq!(app.count("db_connection").await, 0);
    create(
        &app,
        &c.admin,
        json!({"name": "x", "kind": "mysql", "host": "h"}),
    )
    .await;
    let r = app
        .post(
            "/api/admin/connections",
            &c.admin,
            json!({"name": "x", "kind": "mysql", "host": "h"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(app.count("db_connection").await, 1);
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn managers_see_only_names_of_connections_allowed_for_their_clients(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let other = app.user(&c.admin, "zed", "client").await;
    create(
        &app,
        &c.admin,
        json!({"name": "mine", "kind": "postgres", "host": "h",
        "password": "p-1234", "clientIds": [c.client.user_id]}),
    )
    .await;
    create(
        &app,
        &c.admin,
        json!({"name": "theirs", "kind": "mysql", "host": "h",
        "clientIds": [other.user_id]}),
    )
    .await;
    create(
        &app,
        &c.admin,
        json!({"name": "nobody", "kind": "mysql", "host": "h"}),
    )
    .await;

    let r = app.get("/api/connections", &c.manager).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!([{"name": "mine", "kind": "postgres", "readOnly": true}])
    );
    let all = app.get("/api/connections", &c.admin).await.body;
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "allowed for some client: {all}"
    );
    assert_eq!(
        app.get("/api/connections", &c.client).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/api/admin/connections", &c.manager).await.status,
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test(migrator = "katalusis_api::MIGRATOR")]
async fn rotation_reseals_connection_passwords_too(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let id = create(
        &app,
        &c.admin,
        json!({"name": "r", "kind": "mysql", "host": "h", "password": "rot-pass-1"}),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let new_key = katalusis_vault::Key::generate().0;
    let ring = app.state.settings.vault.rotated_to(new_key.clone());
    let report = katalusis_api::secrets::store::rotate(&app.db, &ring)
        .await
        .unwrap();
    assert_eq!(report.changed, 1);
    let sealed: String =
        sqlx::query_scalar("SELECT password_sealed FROM db_connection WHERE connection_id = ?")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let only_new = katalusis_vault::Keyring::new(new_key, vec![]);
    assert_eq!(only_new.open(&sealed).unwrap(), "rot-pass-1");
}
