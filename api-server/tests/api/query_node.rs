//! The Query node and `ctx.query` against the real PostgreSQL and MariaDB:
//! rows into a workflow with field mapping, a Python step, an upsert back;
//! values bound (never spliced), read-only connections, limits, and the
//! connection allow-list per client.

use serde_json::{json, Value};
use sqlx::MySqlPool;

use crate::runs::{cast, edge, node, node_of, start, template, wait_final, workflow, Cast};
use crate::support::{spawn_app, TestApp};

async fn pg() -> sqlx::PgPool {
    sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .expect("the local PostgreSQL")
}

/// Runs `statements` on PostgreSQL, one by one.
pub(crate) async fn pg_exec(statements: &[&str]) {
    let pg = pg().await;
    for s in statements {
        sqlx::raw_sql(s)
            .execute(&pg)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

async fn pg_rows(sql: &str) -> Vec<(String, String)> {
    sqlx::query_as(sql).fetch_all(&pg().await).await.unwrap()
}

/// An admin-made PostgreSQL connection `name` for the cast's client.
pub(crate) async fn connection(
    app: &TestApp,
    c: &Cast,
    name: &str,
    read_only: bool,
    clients: Vec<u64>,
) {
    let r = app
        .post(
            "/api/admin/connections",
            &c.admin,
            json!({
                "name": name, "kind": "postgres", "host": "127.0.0.1", "database": "postgres",
                "user": "postgres", "password": "unused-by-trust-auth", "tlsMode": "disable",
                "readOnly": read_only, "clientIds": clients
            }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
}

fn query_node(id: &str, params: Value) -> Value {
    let mut n = node(id, "flow.query");
    n["params"] = params;
    n
}

#[sqlx::test(migrations = "../migrations")]
async fn rows_flow_from_postgres_through_python_into_an_upsert(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    pg_exec(&[
        "DROP TABLE IF EXISTS qn_orders, qn_summary",
        "CREATE TABLE qn_orders (id int PRIMARY KEY, customer text NOT NULL, \
         total numeric(10,2) NOT NULL, placed date NOT NULL, region text NOT NULL)",
        "INSERT INTO qn_orders VALUES (1, 'Ada', 10.50, '2026-01-02', 'eu'), \
         (2, 'Bo', 7.25, '2026-01-03', 'eu'), (3, 'Ada', 4.00, '2026-01-04', 'eu'), \
         (4, 'Cy', 99.00, '2026-01-05', 'us')",
        "CREATE TABLE qn_summary (customer text PRIMARY KEY, total numeric(10,2) NOT NULL)",
        "INSERT INTO qn_summary VALUES ('Ada', 1.00)",
    ])
    .await;
    connection(&app, &c, "crm", false, vec![c.client.user_id]).await;
    app.create_template(
        &c.admin,
        template(
            "qn.totals",
            "def run(inputs, params, ctx):\n    sums = {}\n    for r in inputs['rows']:\n        sums[r['customer']] = sums.get(r['customer'], 0) + r['total']\n    return {'rows': [{'who': k, 'sum': round(v, 2)} for k, v in sorted(sums.items())]}\n",
            json!([{"name": "rows", "type": "array", "required": true}]),
            json!([{"name": "rows", "type": "array"}]),
            json!({}),
        ),
    )
    .await;
    let mut read = query_node(
        "read",
        json!({"connection": "crm",
               "sql": "SELECT id, customer, total, placed FROM qn_orders WHERE region = :region ORDER BY id",
               "fields": "id: integer\ncustomer\ntotal: number\nplaced as day: date"}),
    );
    read["inputs"] = json!({"params": {"region": "eu"}});
    let write = query_node(
        "write",
        json!({"connection": "crm", "operation": "upsert", "table": "qn_summary",
               "columns": "customer = who, total = sum", "keyColumns": "customer"}),
    );
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![read, node("sum", "qn.totals"), write],
        vec![
            edge("read", "rows", "sum", "rows"),
            edge("sum", "rows", "write", "rows"),
        ],
    )
    .await;

    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let out = &node_of(&body, "read")["executions"][0]["outputs"];
    assert_eq!(out["rowCount"], 3);
    assert_eq!(
        out["first"],
        json!({"id": 1, "customer": "Ada", "total": 10.5, "day": "2026-01-02"})
    );
    assert_eq!(out["field1"], json!([1, 2, 3]));
    assert_eq!(out["field2"], json!(["Ada", "Bo", "Ada"]));
    assert_eq!(
        out["field4"],
        json!(["2026-01-02", "2026-01-03", "2026-01-04"])
    );
    let written = &node_of(&body, "write")["executions"][0]["outputs"];
    assert_eq!(written["rowCount"], 2, "{written}");
    assert_eq!(
        pg_rows("SELECT customer, total::text FROM qn_summary ORDER BY customer").await,
        vec![("Ada".into(), "14.50".into()), ("Bo".into(), "7.25".into())]
    );

    // An input that is SQL text is a value: no rows, and nothing dropped.
    let run = start(
        &app,
        &c.manager,
        wf,
        json!({"inputs": {"read": {"params": {"region": "'; DROP TABLE qn_orders; --"}}}}),
    )
    .await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(
        node_of(&body, "read")["executions"][0]["outputs"]["rowCount"],
        0
    );
    assert_eq!(
        pg_rows("SELECT count(*)::text, 'x' FROM qn_orders").await,
        vec![("4".into(), "x".into())]
    );
    // The run view never shows the connection's password.
    assert!(!body.to_string().contains("unused-by-trust-auth"));
}

#[sqlx::test(migrations = "../migrations")]
async fn read_only_connections_refuse_writes_and_limits_fail_with_their_reason(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    pg_exec(&[
        "DROP TABLE IF EXISTS qn_ro",
        "CREATE TABLE qn_ro (id int PRIMARY KEY, note text)",
        "INSERT INTO qn_ro VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    ])
    .await;
    connection(&app, &c, "ro", true, vec![c.client.user_id]).await;
    let mut insert = query_node(
        "insert",
        json!({"connection": "ro", "operation": "insert", "table": "qn_ro"}),
    );
    insert["inputs"] = json!({"rows": [{"id": 9, "note": "z"}]});
    let sneaky = query_node(
        "sneaky",
        json!({"connection": "ro", "sql": "INSERT INTO qn_ro VALUES (8, 'y') RETURNING id"}),
    );
    let limited = query_node(
        "limited",
        json!({"connection": "ro", "sql": "SELECT id FROM qn_ro", "maxRows": 2}),
    );
    let bad_map = query_node(
        "badmap",
        json!({"connection": "ro", "sql": "SELECT note FROM qn_ro", "fields": "note: integer"}),
    );
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![insert, sneaky, limited, bad_map],
        vec![],
    )
    .await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "failed", "{body}");
    let msg = |n: &str| {
        node_of(&body, n)["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert!(msg("insert").contains("only allows reading"), "{body}");
    assert!(msg("sneaky").contains("read-only"), "{body}");
    assert_eq!(node_of(&body, "limited")["reason"], "output_size");
    assert!(msg("limited").contains("more than 2 rows"), "{body}");
    assert!(msg("badmap").contains("column `note`, row 1"), "{body}");
    assert_eq!(
        pg_rows("SELECT count(*)::text, 'x' FROM qn_ro").await,
        vec![("3".into(), "x".into())]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_restricted_python_node_queries_through_the_platform(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    pg_exec(&[
        "DROP TABLE IF EXISTS qn_ctx",
        "CREATE TABLE qn_ctx (id int PRIMARY KEY, name text)",
        "INSERT INTO qn_ctx VALUES (1, 'one'), (2, 'two')",
    ])
    .await;
    connection(&app, &c, "crm", true, vec![c.client.user_id]).await;
    // Allowed for another client only: this client's nodes cannot use it.
    let other = app.user(&c.admin, "globex", "client").await;
    connection(&app, &c, "theirs", true, vec![other.user_id]).await;
    app.create_template(
        &c.admin,
        template(
            "qn.ctx",
            "def run(inputs, params, ctx):\n    rows = ctx.query('crm', 'SELECT name FROM qn_ctx WHERE id = :id', {'id': 2})\n    errors = []\n    for conn in ('theirs', 'nope'):\n        try:\n            ctx.query(conn, 'SELECT 1')\n        except Exception as e:\n            errors.append(type(e).__name__ + ': ' + str(e))\n    try:\n        ctx.query('crm', 'DELETE FROM qn_ctx')\n    except Exception as e:\n        errors.append(getattr(e, 'code', '?'))\n    return {'name': rows[0]['name'], 'errors': errors}\n",
            json!([]),
            json!([{"name": "name", "type": "string"}, {"name": "errors", "type": "array"}]),
            json!({"trustLevel": "restricted"}),
        ),
    )
    .await;
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![node("q", "qn.ctx")],
        vec![],
    )
    .await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(body["status"], "succeeded", "{body}");
    let out = &node_of(&body, "q")["executions"][0]["outputs"];
    assert_eq!(out["name"], "two");
    assert_eq!(
        out["errors"],
        json!([
            "QueryError: no connection named 'theirs' is allowed for this client",
            "QueryError: no connection named 'nope' is allowed for this client",
            "read_only"
        ])
    );
    assert_eq!(
        pg_rows("SELECT count(*)::text, 'x' FROM qn_ctx").await,
        vec![("2".into(), "x".into())]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn inserts_and_upserts_reach_mariadb_in_one_transaction(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    let maria = sqlx::MySqlPool::connect("mysql://root@127.0.0.1:3306/test")
        .await
        .expect("the local MariaDB");
    for s in [
        "DROP TABLE IF EXISTS qn_stock",
        "CREATE TABLE qn_stock (sku VARCHAR(20) PRIMARY KEY, qty INT NOT NULL, note TEXT)",
        "INSERT INTO qn_stock VALUES ('a', 1, 'old')",
    ] {
        sqlx::raw_sql(s).execute(&maria).await.unwrap();
    }
    let r = app
        .post(
            "/api/admin/connections",
            &c.admin,
            json!({"name": "erp", "kind": "mysql", "host": "127.0.0.1", "database": "test",
                   "user": "root", "tlsMode": "disable", "readOnly": false,
                   "clientIds": [c.client.user_id]}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
    let mut upsert = query_node(
        "upsert",
        json!({"connection": "erp", "operation": "upsert", "table": "qn_stock",
               "keyColumns": "sku", "columns": "sku, qty = count, note"}),
    );
    upsert["inputs"] = json!({"rows": [
        {"sku": "a", "count": 5, "note": "'; DROP TABLE qn_stock; --"},
        {"sku": "b", "count": 2, "note": null}
    ]});
    // The second row breaks NOT NULL: the whole insert rolls back.
    let mut insert = query_node(
        "insert",
        json!({"connection": "erp", "operation": "insert", "table": "qn_stock"}),
    );
    insert["inputs"] = json!({"rows": [{"sku": "c", "qty": 1}, {"sku": "d", "qty": null}]});
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        vec![upsert, insert],
        vec![],
    )
    .await;
    let run = start(&app, &c.manager, wf, json!({})).await;
    let body = wait_final(&app, &c.manager, run).await;
    assert_eq!(node_of(&body, "upsert")["status"], "succeeded", "{body}");
    assert_eq!(node_of(&body, "insert")["status"], "failed", "{body}");
    let rows: Vec<(String, i32, Option<String>)> =
        sqlx::query_as("SELECT sku, qty, note FROM qn_stock ORDER BY sku")
            .fetch_all(&maria)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            ("a".into(), 5, Some("'; DROP TABLE qn_stock; --".into())),
            ("b".into(), 2, None)
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_query_node_may_only_name_connections_its_client_may_use(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    connection(&app, &c, "crm", true, vec![c.client.user_id]).await;
    let other = app.user(&c.admin, "initech", "client").await;
    connection(&app, &c, "theirs", true, vec![other.user_id]).await;
    let graph = |conn: &str| {
        json!({"nodes": [
            query_node("ok", json!({"connection": "crm", "sql": "SELECT 1"})),
            query_node("lookup", json!({"connection": conn, "sql": "SELECT 1"})),
        ], "edges": []})
    };

    // Another client's connection, or none of that name: refused, naming the node.
    for name in ["theirs", "nope"] {
        let r = app
            .post(
                "/api/workflows",
                &c.manager,
                json!({"clientId": c.client.user_id, "name": "wf", "graph": graph(name)}),
            )
            .await;
        assert_eq!(
            r.status,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            r.body
        );
        assert_eq!(r.body["error"]["code"], "invalid_graph", "{}", r.body);
        let problems = r.body["error"]["details"]["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{}", r.body);
        assert_eq!(problems[0]["nodeId"], "lookup");
        assert_eq!(problems[0]["code"], "connection_not_allowed");
        assert!(
            problems[0]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("node 'lookup': no connection named '{name}'")),
            "{}",
            r.body
        );
    }
    let listed = app
        .get(
            &format!("/api/workflows?clientId={}", c.client.user_id),
            &c.manager,
        )
        .await;
    assert_eq!(listed.body["total"], 0, "{}", listed.body);

    // Allowed everywhere: saved; a later edit to a foreign name is refused
    // and the stored revision stays.
    let wf = workflow(
        &app,
        &c.manager,
        c.client.user_id,
        graph("crm")["nodes"].as_array().unwrap().clone(),
        vec![],
    )
    .await;
    let r = app
        .put(
            &format!("/api/workflows/{wf}"),
            &c.manager,
            json!({"revision": 1, "name": "wf", "graph": graph("theirs")}),
        )
        .await;
    assert_eq!(
        r.status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        r.body
    );
    assert_eq!(
        r.body["error"]["details"]["problems"][0]["nodeId"],
        "lookup"
    );
    let stored = app.get(&format!("/api/workflows/{wf}"), &c.manager).await;
    assert_eq!(stored.body["revision"], 1);
    assert_eq!(
        stored.body["graph"]["nodes"][1]["params"]["connection"],
        "crm"
    );

    // Validating with the client lists the same problem; without it, not.
    let r = app
        .post(
            "/api/workflows/validate",
            &c.manager,
            json!({"graph": graph("theirs"), "clientId": c.client.user_id}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["valid"], false);
    assert!(r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["code"] == "connection_not_allowed" && p["nodeId"] == "lookup"));
    let r = app
        .post(
            "/api/workflows/validate",
            &c.manager,
            json!({"graph": graph("theirs")}),
        )
        .await;
    assert!(!r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["code"] == "connection_not_allowed"));
    // A client outside the manager's scope is not found.
    let r = app
        .post(
            "/api/workflows/validate",
            &c.manager,
            json!({"graph": graph("crm"), "clientId": other.user_id}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::NOT_FOUND, "{}", r.body);
}

/// The SQL Server and MongoDB paths refuse what they must before any server
/// is reached (none runs here), and report an unreachable one by cause.
#[sqlx::test(migrations = "../migrations")]
async fn sqlserver_and_mongodb_nodes_refuse_writes_before_reaching_the_server(pool: MySqlPool) {
    let app = spawn_app(pool).await;
    let c = cast(&app).await;
    for (name, kind, read_only) in [
        ("ms", "sqlserver", true),
        ("ms_rw", "sqlserver", false),
        ("mg", "mongodb", true),
        ("mg_rw", "mongodb", false),
    ] {
        let r = app
            .post(
                "/api/admin/connections",
                &c.admin,
                json!({"name": name, "kind": kind, "host": "127.0.0.1", "port": 1,
                       "database": "shop", "user": "app", "password": "pw", "tlsMode": "disable",
                       "readOnly": read_only, "clientIds": [c.client.user_id]}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body);
    }
    let mut nodes = vec![
        query_node(
            "ms_sneaky",
            json!({"connection": "ms", "sql": "SELECT 1; /* fine */ DELETE FROM orders"}),
        ),
        query_node(
            "mg_out",
            json!({"connection": "mg_rw",
                   "sql": r#"{"aggregate": "orders", "pipeline": [{"$out": "copy"}]}"#}),
        ),
        query_node(
            "mg_bad",
            json!({"connection": "mg", "sql": "SELECT * FROM orders"}),
        ),
        query_node(
            "ms_down",
            json!({"connection": "ms_rw", "sql": "SELECT * FROM orders WHERE id = :id"}),
        ),
    ];
    for (id, conn) in [("ms_write", "ms"), ("mg_write", "mg")] {
        let mut n = query_node(
            id,
            json!({"connection": conn, "operation": "insert", "table": "orders"}),
        );
        n["inputs"] = json!({"rows": [{"id": 1}]});
        nodes.push(n);
    }
    nodes[3]["inputs"] = json!({"params": {"id": 7}});
    let wf = workflow(&app, &c.manager, c.client.user_id, nodes, vec![]).await;
    let body = wait_final(
        &app,
        &c.manager,
        start(&app, &c.manager, wf, json!({})).await,
    )
    .await;
    let msg = |n: &str| {
        assert_eq!(node_of(&body, n)["status"], "failed", "{n}: {body}");
        node_of(&body, n)["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        msg("ms_sneaky").contains("read-only: DELETE is not allowed"),
        "{body}"
    );
    assert!(
        msg("mg_out").contains("`$out` writes to a collection"),
        "{body}"
    );
    assert!(msg("mg_bad").contains("JSON document"), "{body}");
    assert!(msg("ms_down").contains("refused the connection"), "{body}");
    assert!(msg("ms_write").contains("only allows reading"), "{body}");
    assert!(msg("mg_write").contains("only allows reading"), "{body}");
    assert!(!body.to_string().contains("\"pw\""));
}
