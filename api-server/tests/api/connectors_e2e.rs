//! SQL Server and MongoDB against real servers: the same story the
//! PostgreSQL/MariaDB tests tell (connection test, hostile parameter,
//! read-only refusal, write mode). No such server runs on the development
//! machines, so these tests are ignored in `make test`;
//! `scripts/connectors-e2e.sh` starts both in Docker and runs them with
//! `KATALUSIS_E2E_SQLSERVER_URL` and `KATALUSIS_E2E_MONGODB_URL` set.

use mongodb::bson::{doc, Bson, Document};
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};
use sqlx::MySqlPool;
use tokio_util::compat::TokioAsyncWriteCompatExt;

use crate::runs::{cast, node, node_of, start, wait_final, workflow, Cast};
use crate::support::{spawn_app, TestApp};

/// Where a server listens and how to log in, from a URL in the environment.
struct Server {
    host: String,
    port: u16,
    user: String,
    password: String,
    options: Value,
}

fn server(var: &str, default_port: u16) -> Server {
    let raw =
        std::env::var(var).unwrap_or_else(|_| panic!("set {var} (scripts/connectors-e2e.sh does)"));
    let url = Url::parse(&raw).unwrap_or_else(|e| panic!("{var}: {e}"));
    let options: serde_json::Map<String, Value> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Server {
        host: url.host_str().expect("a host").to_owned(),
        port: url.port().unwrap_or(default_port),
        user: url.username().to_owned(),
        password: url.password().unwrap_or_default().to_owned(),
        options: Value::Object(options),
    }
}

/// An admin-made connection; its id.
#[allow(clippy::too_many_arguments)]
async fn connection(
    app: &TestApp,
    c: &Cast,
    s: &Server,
    kind: &str,
    name: &str,
    database: &str,
    password: &str,
    read_only: bool,
) -> u64 {
    let r = app
        .post(
            "/api/admin/connections",
            &c.admin,
            json!({"name": name, "kind": kind, "host": s.host, "port": s.port,
                   "database": database, "user": s.user, "password": password,
                   "tlsMode": "disable", "options": s.options, "readOnly": read_only,
                   "clientIds": [c.client.user_id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_u64().unwrap()
}

async fn test_connection(app: &TestApp, c: &Cast, id: u64) -> Value {
    let r = app
        .post(
            &format!("/api/admin/connections/{id}/test"),
            &c.admin,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn query_node(id: &str, params: Value, inputs: Value) -> Value {
    let mut n = node(id, "flow.query");
    n["params"] = params;
    n["inputs"] = inputs;
    n
}

fn message(body: &Value, node: &str) -> String {
    node_of(body, node)["message"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

type Mssql = tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>>;

async fn mssql(s: &Server, database: &str) -> Mssql {
    let mut config = tiberius::Config::new();
    config.host(&s.host);
    config.port(s.port);
    config.database(database);
    config.authentication(tiberius::AuthMethod::sql_server(&s.user, &s.password));
    config.trust_cert();
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .expect("SQL Server listens");
    tiberius::Client::connect(config, tcp.compat_write())
        .await
        .expect("SQL Server accepts the login")
}

async fn mssql_exec(c: &mut Mssql, sql: &str) {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_results()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn mssql_count(c: &mut Mssql, table: &str) -> i32 {
    c.simple_query(format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap()
        .into_row()
        .await
        .unwrap()
        .and_then(|r| r.get::<i32, _>(0))
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
#[ignore = "needs SQL Server: scripts/connectors-e2e.sh"]
async fn sqlserver_connections_test_read_refuse_and_write(pool: MySqlPool) {
    let s = server("KATALUSIS_E2E_SQLSERVER_URL", 1433);
    let mut master = mssql(&s, "master").await;
    mssql_exec(
        &mut master,
        "IF DB_ID('katalusis_e2e') IS NULL CREATE DATABASE katalusis_e2e",
    )
    .await;
    let mut db = mssql(&s, "katalusis_e2e").await;
    mssql_exec(
        &mut db,
        "DROP TABLE IF EXISTS e2e_orders; DROP TABLE IF EXISTS e2e_stock; \
         CREATE TABLE e2e_orders (id int PRIMARY KEY, customer nvarchar(50) NOT NULL, \
           total decimal(10,2) NOT NULL, fee money NOT NULL, placed date NOT NULL, \
           at datetime2 NOT NULL, at_zone datetimeoffset NOT NULL, paid bit NOT NULL, \
           ref uniqueidentifier NOT NULL, raw varbinary(8) NULL, big bigint NOT NULL, \
           ratio float NOT NULL); \
         INSERT INTO e2e_orders VALUES \
           (1, N'Ada', 10.50, 1.2500, '2026-01-02', '2026-01-02T03:04:05.5', \
            '2026-01-02T03:04:05+02:00', 1, '6F9619FF-8B86-D011-B42D-00C04FC964FF', 0x00FF, \
            9007199254740993, 0.5), \
           (2, N'Bo', 7.25, 0, '2026-01-03', '2026-01-03T00:00:00', \
            '2026-01-03T00:00:00+00:00', 0, '6F9619FF-8B86-D011-B42D-00C04FC964FE', NULL, 1, 2); \
         CREATE TABLE e2e_stock (sku nvarchar(20) PRIMARY KEY, qty int NOT NULL)",
    )
    .await;

    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let ro = connection(
        &app,
        &c,
        &s,
        "sqlserver",
        "ms_ro",
        "katalusis_e2e",
        &s.password,
        true,
    )
    .await;
    connection(
        &app,
        &c,
        &s,
        "sqlserver",
        "ms_rw",
        "katalusis_e2e",
        &s.password,
        false,
    )
    .await;
    let ok = test_connection(&app, &c, ro).await;
    assert_eq!(ok["outcome"], "ok", "{ok}");
    assert!(
        ok["serverVersion"].as_str().unwrap().contains("SQL Server"),
        "{ok}"
    );
    let bad = connection(
        &app,
        &c,
        &s,
        "sqlserver",
        "ms_bad",
        "katalusis_e2e",
        "wrong-password",
        true,
    )
    .await;
    assert_eq!(
        test_connection(&app, &c, bad).await["outcome"],
        "authentication"
    );
    let missing = connection(
        &app,
        &c,
        &s,
        "sqlserver",
        "ms_missing",
        "no_such_db",
        &s.password,
        true,
    )
    .await;
    assert_eq!(
        test_connection(&app, &c, missing).await["outcome"],
        "database_missing"
    );

    let read = query_node(
        "read",
        json!({"connection": "ms_ro",
               "sql": "SELECT * FROM e2e_orders WHERE customer = :who ORDER BY id"}),
        json!({"params": {"who": "Ada"}}),
    );
    let sneaky = query_node(
        "sneaky",
        json!({"connection": "ms_ro", "sql": "INSERT INTO e2e_stock VALUES ('x', 1)"}),
        json!({}),
    );
    let refused = query_node(
        "refused",
        json!({"connection": "ms_ro", "operation": "insert", "table": "e2e_stock"}),
        json!({"rows": [{"sku": "x", "qty": 1}]}),
    );
    let insert = query_node(
        "insert",
        json!({"connection": "ms_rw", "operation": "insert", "table": "dbo.e2e_stock"}),
        json!({"rows": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}),
    );
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![read, sneaky, refused, insert],
        vec![],
    )
    .await;
    let body = wait_final(
        &app,
        &c.manager,
        start(&app, &c.manager, wf, json!({})).await,
    )
    .await;
    let out = &node_of(&body, "read")["executions"][0]["outputs"];
    assert_eq!(out["rowCount"], 1, "{body}");
    assert_eq!(
        out["first"],
        json!({"id": 1, "customer": "Ada", "total": "10.50", "fee": "1.2500",
               "placed": "2026-01-02", "at": "2026-01-02T03:04:05.500",
               "at_zone": "2026-01-02T03:04:05+02:00", "paid": true,
               "ref": "6F9619FF-8B86-D011-B42D-00C04FC964FF", "raw": "AP8=",
               "big": 9007199254740993_i64, "ratio": 0.5})
    );
    assert!(message(&body, "sneaky").contains("read-only"), "{body}");
    assert!(
        message(&body, "refused").contains("only allows reading"),
        "{body}"
    );
    assert_eq!(node_of(&body, "insert")["status"], "succeeded", "{body}");
    assert_eq!(mssql_count(&mut db, "e2e_stock").await, 2);

    // A hostile value is a value: nothing found, nothing dropped.
    let body = wait_final(
        &app,
        &c.manager,
        start(
            &app,
            &c.manager,
            wf,
            json!({"inputs": {"read": {"params": {"who": "'; DROP TABLE e2e_orders; --"}}}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        node_of(&body, "read")["executions"][0]["outputs"]["rowCount"],
        0,
        "{body}"
    );
    assert_eq!(mssql_count(&mut db, "e2e_orders").await, 2);

    // Upsert through MERGE: one row updated, one inserted.
    let upsert = query_node(
        "upsert",
        json!({"connection": "ms_rw", "operation": "upsert", "table": "e2e_stock",
               "keyColumns": "sku", "columns": "sku, qty = count", "decimals": "number"}),
        json!({"rows": [{"sku": "a", "count": 5}, {"sku": "c", "count": 3}]}),
    );
    let wf = workflow(&app, &c.manager, c.client.user_id, vec![upsert], vec![]).await;
    let body = wait_final(
        &app,
        &c.manager,
        start(&app, &c.manager, wf, json!({})).await,
    )
    .await;
    assert_eq!(node_of(&body, "upsert")["status"], "succeeded", "{body}");
    let rows = db
        .simple_query("SELECT sku, qty FROM e2e_stock ORDER BY sku")
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let rows: Vec<(String, i32)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<&str, _>(0).unwrap().to_owned(),
                r.get::<i32, _>(1).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![("a".into(), 5), ("b".into(), 2), ("c".into(), 3)]
    );
    assert!(!body.to_string().contains(&s.password));
}

async fn mongo(s: &Server) -> mongodb::Database {
    let mut o = mongodb::options::ClientOptions::default();
    o.hosts = vec![mongodb::options::ServerAddress::Tcp {
        host: s.host.clone(),
        port: Some(s.port),
    }];
    let mut cred = mongodb::options::Credential::default();
    cred.username = Some(s.user.clone());
    cred.password = Some(s.password.clone());
    cred.source = s.options["authSource"].as_str().map(str::to_owned);
    o.credential = Some(cred);
    mongodb::Client::with_options(o)
        .unwrap()
        .database("katalusis_e2e")
}

#[sqlx::test(migrations = "../migrations")]
#[ignore = "needs MongoDB: scripts/connectors-e2e.sh"]
async fn mongodb_connections_test_read_refuse_and_write(pool: MySqlPool) {
    let s = server("KATALUSIS_E2E_MONGODB_URL", 27017);
    let db = mongo(&s).await;
    let orders = db.collection::<Document>("e2e_orders");
    let stock = db.collection::<Document>("e2e_stock");
    orders.drop().await.unwrap();
    stock.drop().await.unwrap();
    let id = mongodb::bson::oid::ObjectId::parse_str("64b7f0c2a1b2c3d4e5f60718").unwrap();
    orders
        .insert_many([
            doc! {"_id": id, "customer": "Ada", "total": "10.50".parse::<mongodb::bson::Decimal128>().unwrap(),
                  "at": mongodb::bson::DateTime::from_millis(1_767_323_045_000), "n": 1_i64,
                  "tags": ["a", "b"], "addr": {"city": "Oslo"}},
            doc! {"customer": "Bo", "total": 7, "n": 2_i64},
        ])
        .await
        .unwrap();
    stock.insert_one(doc! {"sku": "a", "qty": 1}).await.unwrap();

    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let ro = connection(
        &app,
        &c,
        &s,
        "mongodb",
        "mg_ro",
        "katalusis_e2e",
        &s.password,
        true,
    )
    .await;
    connection(
        &app,
        &c,
        &s,
        "mongodb",
        "mg_rw",
        "katalusis_e2e",
        &s.password,
        false,
    )
    .await;
    let ok = test_connection(&app, &c, ro).await;
    assert_eq!(ok["outcome"], "ok", "{ok}");
    assert!(
        ok["serverVersion"]
            .as_str()
            .unwrap()
            .starts_with("MongoDB 7"),
        "{ok}"
    );
    let bad = connection(
        &app,
        &c,
        &s,
        "mongodb",
        "mg_bad",
        "katalusis_e2e",
        "wrong-password",
        true,
    )
    .await;
    assert_eq!(
        test_connection(&app, &c, bad).await["outcome"],
        "authentication"
    );
    let missing = connection(
        &app,
        &c,
        &s,
        "mongodb",
        "mg_missing",
        "no_such_db",
        &s.password,
        true,
    )
    .await;
    assert_eq!(
        test_connection(&app, &c, missing).await["outcome"],
        "database_missing"
    );

    let read = query_node(
        "read",
        json!({"connection": "mg_ro", "fields": "customer\ntotal: number\nat\ntags\naddr",
               "sql": r#"{"find": "e2e_orders", "filter": {"customer": ":who"}, "sort": {"n": 1}}"#}),
        json!({"params": {"who": "Ada"}}),
    );
    let counted = query_node(
        "counted",
        json!({"connection": "mg_ro",
               "sql": r#"{"aggregate": "e2e_orders", "pipeline": [{"$match": {"n": {"$gte": ":min"}}}, {"$count": "n"}]}"#}),
        json!({"params": {"min": 1}}),
    );
    let out_stage = query_node(
        "out_stage",
        json!({"connection": "mg_rw",
               "sql": r#"{"aggregate": "e2e_orders", "pipeline": [{"$out": "copy"}]}"#}),
        json!({}),
    );
    let refused = query_node(
        "refused",
        json!({"connection": "mg_ro", "operation": "insert", "table": "e2e_stock"}),
        json!({"rows": [{"sku": "x", "qty": 1}]}),
    );
    let upsert = query_node(
        "upsert",
        json!({"connection": "mg_rw", "operation": "upsert", "table": "e2e_stock",
               "keyColumns": "sku", "columns": "sku, qty = count"}),
        json!({"rows": [{"sku": "a", "count": 5}, {"sku": "b", "count": 2}]}),
    );
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![read, counted, out_stage, refused, upsert],
        vec![],
    )
    .await;
    let body = wait_final(
        &app,
        &c.manager,
        start(&app, &c.manager, wf, json!({})).await,
    )
    .await;
    let out = &node_of(&body, "read")["executions"][0]["outputs"];
    assert_eq!(out["rowCount"], 1, "{body}");
    assert_eq!(
        out["first"],
        json!({"customer": "Ada", "total": 10.5, "at": "2026-01-02T03:04:05Z",
               "tags": ["a", "b"], "addr": {"city": "Oslo"}})
    );
    assert_eq!(
        node_of(&body, "counted")["executions"][0]["outputs"]["first"],
        json!({"n": 2})
    );
    assert!(message(&body, "out_stage").contains("only reads"), "{body}");
    assert!(
        message(&body, "refused").contains("only allows reading"),
        "{body}"
    );
    assert_eq!(node_of(&body, "upsert")["status"], "succeeded", "{body}");
    let mut skus: Vec<(String, i32)> = Vec::new();
    let mut cursor = stock.find(doc! {}).sort(doc! {"sku": 1}).await.unwrap();
    while cursor.advance().await.unwrap() {
        let d = cursor.deserialize_current().unwrap();
        skus.push((
            d.get_str("sku").unwrap().to_owned(),
            match d.get("qty") {
                Some(Bson::Int32(q)) => *q,
                other => panic!("{other:?}"),
            },
        ));
    }
    assert_eq!(skus, vec![("a".into(), 5), ("b".into(), 2)]);
    assert!(db
        .list_collection_names()
        .await
        .unwrap()
        .iter()
        .all(|n| n != "copy"));

    // A hostile value is a value: nothing found, nothing dropped.
    let body = wait_final(
        &app,
        &c.manager,
        start(
            &app,
            &c.manager,
            wf,
            json!({"inputs": {"read": {"params": {"who": "'; DROP TABLE x; --"}}}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        node_of(&body, "read")["executions"][0]["outputs"]["rowCount"],
        0,
        "{body}"
    );
    assert_eq!(orders.count_documents(doc! {}).await.unwrap(), 2);
    assert!(!body.to_string().contains(&s.password));
}
