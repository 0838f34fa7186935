//! The query engine against the real PostgreSQL and MariaDB: bound
//! parameters, read-only transactions, type conversion and limits.

use std::time::{Duration, Instant};

use katalusis_api::connections::driver::Target;
use katalusis_api::connections::model::{ConnectionKind, TlsMode};
use katalusis_api::connections::query::{connect_lazy, run, Limits, Pool, QueryError};
use serde_json::{json, Map, Value};

fn pg() -> Pool {
    connect_lazy(&Target {
        kind: ConnectionKind::Postgres,
        host: "127.0.0.1".into(),
        port: 5432,
        database: "postgres".into(),
        user: "postgres".into(),
        password: None,
        tls_mode: TlsMode::Disable,
        ca_cert: None,
        options: Default::default(),
    })
    .unwrap()
}

fn maria() -> Pool {
    connect_lazy(&Target {
        kind: ConnectionKind::Mysql,
        host: "127.0.0.1".into(),
        port: 3306,
        database: "test".into(),
        user: "root".into(),
        password: None,
        tls_mode: TlsMode::Disable,
        ca_cert: None,
        options: Default::default(),
    })
    .unwrap()
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn exec(pool: &Pool, sql: &str) {
    run(pool, sql, &Map::new(), false, Limits::default())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(pool: &Pool, table: &str) -> i64 {
    let r = run(
        pool,
        &format!("SELECT COUNT(*) AS n FROM {table}"),
        &Map::new(),
        true,
        Limits::default(),
    )
    .await
    .unwrap();
    r.rows[0]["n"].as_i64().unwrap()
}

#[tokio::test]
async fn a_hostile_input_value_is_bound_and_drops_nothing() {
    for (pool, table) in [(pg(), "kat_q_inject_pg"), (maria(), "kat_q_inject_my")] {
        exec(&pool, &format!("DROP TABLE IF EXISTS {table}")).await;
        exec(&pool, &format!("CREATE TABLE {table} (name VARCHAR(50))")).await;
        exec(&pool, &format!("INSERT INTO {table} VALUES ('a')")).await;
        let hostile = format!("'; DROP TABLE {table}; --");
        let r = run(
            &pool,
            &format!("SELECT name FROM {table} WHERE name = :name"),
            &params(json!({"name": hostile})),
            true,
            Limits::default(),
        )
        .await
        .unwrap();
        assert_eq!(r.row_count, 0);
        assert_eq!(count(&pool, table).await, 1, "{table} survived");
        exec(&pool, &format!("DROP TABLE {table}")).await;
    }
}

#[tokio::test]
async fn read_only_connections_refuse_writes_and_read_write_ones_commit() {
    for (pool, table) in [(pg(), "kat_q_ro_pg"), (maria(), "kat_q_ro_my")] {
        exec(&pool, &format!("DROP TABLE IF EXISTS {table}")).await;
        exec(&pool, &format!("CREATE TABLE {table} (n INT)")).await;
        let insert = format!("INSERT INTO {table} (n) VALUES (:n)");
        let err = run(
            &pool,
            &insert,
            &params(json!({"n": 1})),
            true,
            Limits::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, QueryError::ReadOnly(_)), "{table}: {err:?}");
        assert_eq!(err.code(), "read_only");
        assert_eq!(count(&pool, table).await, 0);
        run(
            &pool,
            &insert,
            &params(json!({"n": 2})),
            false,
            Limits::default(),
        )
        .await
        .unwrap();
        assert_eq!(count(&pool, table).await, 1);
        exec(&pool, &format!("DROP TABLE {table}")).await;
    }
}

#[tokio::test]
async fn postgres_column_types_become_json() {
    let r = run(
        &pg(),
        "SELECT 1::int2 AS a, 2::int4 AS b, 3::int8 AS c, 1.5::float8 AS d, 12.30::numeric AS e, \
         'x'::text AS f, true AS g, DATE '2024-01-02' AS h, \
         TIMESTAMPTZ '2024-01-02 03:04:05+00' AS i, '\\x0102'::bytea AS j, \
         '{\"k\": [1]}'::jsonb AS k, NULL::text AS l, :p::text AS m",
        &params(json!({"p": "bound"})),
        true,
        Limits::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        r.columns,
        ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"]
    );
    assert_eq!(
        Value::Object(r.rows[0].clone()),
        json!({"a": 1, "b": 2, "c": 3, "d": 1.5, "e": "12.30", "f": "x", "g": true,
            "h": "2024-01-02", "i": "2024-01-02T03:04:05Z", "j": "AQI=", "k": {"k": [1]},
            "l": null, "m": "bound"})
    );
}

#[tokio::test]
async fn mariadb_column_types_become_json() {
    let r = run(
        &maria(),
        "SELECT CAST(1 AS SIGNED) AS a, CAST(12.30 AS DECIMAL(6,2)) AS e, 'x' AS f, \
         DATE '2024-01-02' AS h, CAST('2024-01-02 03:04:05' AS DATETIME) AS i, \
         CAST(X'0102' AS BINARY(2)) AS j, NULL AS l, :p AS m",
        &params(json!({"p": 7})),
        true,
        Limits::default(),
    )
    .await
    .unwrap();
    let row = Value::Object(r.rows[0].clone());
    assert_eq!(row["a"], 1);
    assert_eq!(row["e"], "12.30");
    assert_eq!(row["f"], "x");
    assert_eq!(row["h"], "2024-01-02");
    assert_eq!(row["i"], "2024-01-02T03:04:05");
    assert_eq!(row["j"], "AQI=");
    assert_eq!(row["l"], Value::Null);
    assert_eq!(row["m"], 7);
}

#[tokio::test]
async fn each_limit_fails_with_its_own_reason() {
    let pool = pg();
    let rows = Limits {
        max_rows: 1000,
        ..Limits::default()
    };
    let err = run(
        &pool,
        "SELECT g FROM generate_series(1, 1001) g",
        &Map::new(),
        true,
        rows,
    )
    .await
    .unwrap_err();
    assert_eq!(err, QueryError::RowLimit(1000));
    let ok = run(
        &pool,
        "SELECT g FROM generate_series(1, 1000) g",
        &Map::new(),
        true,
        rows,
    )
    .await
    .unwrap();
    assert_eq!(ok.row_count, 1000);

    let bytes = Limits {
        max_bytes: 500,
        ..Limits::default()
    };
    let err = run(
        &pool,
        "SELECT repeat('x', 100) FROM generate_series(1, 10)",
        &Map::new(),
        true,
        bytes,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "byte_limit");

    let time = Limits {
        timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let started = Instant::now();
    let err = run(&pool, "SELECT pg_sleep(3)", &Map::new(), true, time)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "time_limit");
    assert!(started.elapsed() < Duration::from_secs(2));

    let err = run(
        &pool,
        "SELECT :missing",
        &Map::new(),
        true,
        Limits::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err, QueryError::MissingParameter("missing".into()));
}

/// The benchmark the README reports: 100,000 rows × 5 columns into JSON rows.
#[tokio::test]
async fn a_hundred_thousand_rows_of_five_columns_arrive_quickly() {
    let pool = pg();
    run(&pool, "SELECT 1", &Map::new(), true, Limits::default())
        .await
        .unwrap();
    let started = Instant::now();
    let r = run(
        &pool,
        "SELECT g AS id, 'name ' || g AS name, g * 1.5::float8 AS score, (g % 2 = 0) AS even, \
         TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * interval '1 second' AS at \
         FROM generate_series(1, 100000) g",
        &Map::new(),
        true,
        Limits::default(),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(r.row_count, 100_000);
    eprintln!("100,000 rows x 5 columns: {} ms", took.as_millis());
    assert!(took < Duration::from_secs(10), "{took:?}");
}
