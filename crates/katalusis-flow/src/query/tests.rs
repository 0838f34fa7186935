use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::*;

fn params(v: Value) -> BTreeMap<String, Value> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn read(extra: Value) -> QuerySpec {
    let mut p = params(json!({"connection": "crm", "sql": "SELECT 1"}));
    p.extend(params(extra));
    QuerySpec::from_params(&p).unwrap()
}

fn row(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn defaults_and_bounds() {
    let s = read(json!({}));
    assert_eq!(s.operation, Operation::Read);
    assert_eq!(s.max_rows, DEFAULT_MAX_ROWS);
    assert_eq!(s.timeout_seconds, DEFAULT_TIMEOUT_SECONDS);
    assert_eq!(s.decimals, Decimals::String);
    let err = |extra: Value| {
        let mut p = params(json!({"connection": "crm", "sql": "SELECT 1"}));
        p.extend(params(extra));
        QuerySpec::from_params(&p).unwrap_err()
    };
    assert_eq!(err(json!({"maxRows": 0})), QueryNodeError::MaxRows);
    assert_eq!(err(json!({"maxRows": 2.5})), QueryNodeError::MaxRows);
    assert_eq!(err(json!({"maxRows": 1_000_001})), QueryNodeError::MaxRows);
    assert_eq!(
        err(json!({"timeoutSeconds": 3601})),
        QueryNodeError::Timeout
    );
    assert_eq!(
        err(json!({"operation": "delete"})),
        QueryNodeError::Operation
    );
    assert_eq!(err(json!({"decimals": "float"})), QueryNodeError::Decimals);
    assert_eq!(err(json!({"sql": "  "})), QueryNodeError::NoSql);
    assert_eq!(err(json!({"connection": ""})), QueryNodeError::NoConnection);
    assert_eq!(read(json!({"maxRows": "250"})).max_rows, 250);
}

#[test]
fn writes_need_a_plain_table_and_keys_for_upsert() {
    let p = |v: Value| QuerySpec::from_params(&params(v));
    assert_eq!(
        p(json!({"connection": "c", "operation": "insert"})).unwrap_err(),
        QueryNodeError::NoTable
    );
    assert_eq!(
        p(json!({"connection": "c", "operation": "upsert", "table": "t"})).unwrap_err(),
        QueryNodeError::NoKeys
    );
    for bad in ["t; DROP TABLE x", "a.b.c", "1abc", "t`", "\"t\"", "a b"] {
        assert!(
            matches!(
                p(json!({"connection": "c", "operation": "insert", "table": bad})),
                Err(QueryNodeError::Identifier(_))
            ),
            "{bad}"
        );
    }
    let s = p(
        json!({"connection": "c", "operation": "upsert", "table": "crm.orders",
        "keyColumns": "id", "columns": "id, total = amount\nnote"}),
    )
    .unwrap();
    assert_eq!(s.table, "crm.orders");
    assert_eq!(s.key_columns, vec!["id"]);
    assert_eq!(
        s.write_columns,
        vec![
            WriteColumn {
                column: "id".into(),
                source: "id".into()
            },
            WriteColumn {
                column: "total".into(),
                source: "amount".into()
            },
            WriteColumn {
                column: "note".into(),
                source: "note".into()
            },
        ]
    );
}

#[test]
fn field_mapping_lines() {
    let s = read(
        json!({"fields": "id: integer\nname as customer\n# a comment\namount as total: number\ncreated: datetime"}),
    );
    assert_eq!(s.fields.len(), 4);
    assert_eq!(s.fields[1].name, "customer");
    assert_eq!(s.fields[2].field_type, FieldType::Number);
    let bad = QuerySpec::from_params(&params(
        json!({"connection": "c", "sql": "x", "fields": "id\nname: colour"}),
    ))
    .unwrap_err();
    assert!(
        matches!(bad, QueryNodeError::Mapping { line: 2, .. }),
        "{bad}"
    );
    let twice = QuerySpec::from_params(&params(
        json!({"connection": "c", "sql": "x", "fields": "a as x\nb as x"}),
    ))
    .unwrap_err();
    assert!(matches!(twice, QueryNodeError::Mapping { line: 2, .. }));
}

#[test]
fn mapping_converts_and_fills_the_field_ports() {
    let s = read(
        json!({"fields": "id: integer\nname as customer: string\namount: number\nday: date\npaid: boolean\nmeta: json"}),
    );
    let cols: Vec<String> = ["id", "name", "amount", "day", "paid", "meta"]
        .map(String::from)
        .to_vec();
    let rows = vec![
        row(
            json!({"id": "7", "name": 42, "amount": "12.50", "day": "2026-03-01T10:00:00", "paid": 1, "meta": "{\"a\":1}"}),
        ),
        row(
            json!({"id": 8, "name": "Bo", "amount": null, "day": "2026-03-02", "paid": "false", "meta": {"b": 2}}),
        ),
    ];
    let m = map_rows(&s, &cols, &["amount".into()], rows).unwrap();
    assert_eq!(
        m.rows[0],
        json!({"id": 7, "customer": "42", "amount": 12.5, "day": "2026-03-01", "paid": true, "meta": {"a": 1}})
    );
    assert_eq!(m.rows[1]["amount"], Value::Null);
    assert_eq!(m.rows[1]["paid"], json!(false));
    assert_eq!(m.field_values.len(), 4);
    assert_eq!(m.field_values[0], vec![json!(7), json!(8)]);
    assert_eq!(m.field_values[1], vec![json!("42"), json!("Bo")]);
}

#[test]
fn decimals_stay_exact_unless_asked() {
    let cols = vec!["price".to_string(), "code".to_string()];
    let rows = || {
        vec![row(
            json!({"price": "1234567890.123456789", "code": "0042"}),
        )]
    };
    let exact = map_rows(&read(json!({})), &cols, &["price".into()], rows()).unwrap();
    assert_eq!(exact.rows[0]["price"], json!("1234567890.123456789"));
    // Without a mapping there are no field ports: they would repeat the rows.
    assert!(exact.field_values.is_empty());
    let num = map_rows(
        &read(json!({"decimals": "number"})),
        &cols,
        &["price".into()],
        rows(),
    )
    .unwrap();
    assert!(num.rows[0]["price"].is_f64());
    // Only decimal columns become numbers: text that looks numeric stays text.
    assert_eq!(num.rows[0]["code"], json!("0042"));
}

#[test]
fn conversion_failures_name_the_column_and_row() {
    let s = read(json!({"fields": "n: integer"}));
    let err = map_rows(
        &s,
        &["n".into()],
        &[],
        vec![row(json!({"n": 1})), row(json!({"n": "1.5"}))],
    )
    .unwrap_err();
    assert_eq!(
        err,
        QueryNodeError::Convert {
            column: "n".into(),
            row: 2,
            message: "1.5 is not a whole number".into()
        }
    );
    let unknown =
        map_rows(&read(json!({"fields": "nope"})), &["n".into()], &[], vec![]).unwrap_err();
    assert_eq!(unknown, QueryNodeError::UnknownColumn("nope".into()));
}

#[test]
fn inserts_bind_every_value() {
    let s = QuerySpec::from_params(&params(
        json!({"connection": "c", "operation": "insert", "table": "orders"}),
    ))
    .unwrap();
    let rows = json!([{"id": 1, "note": "'; DROP TABLE orders; --"}, {"id": 2, "note": null}]);
    let st = write_statements(&s, &rows, Flavor::Postgres).unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(
        st[0].sql,
        "INSERT INTO \"orders\" (\"id\", \"note\") VALUES (:v0, :v1), (:v2, :v3)"
    );
    assert_eq!(st[0].params["v1"], json!("'; DROP TABLE orders; --"));
    assert_eq!(st[0].rows, 2);
    let missing = write_statements(
        &s,
        &json!([{"id": 1, "note": "a"}, {"id": 2}]),
        Flavor::Mysql,
    )
    .unwrap_err();
    assert_eq!(
        missing,
        QueryNodeError::MissingValue {
            row: 2,
            column: "note".into()
        }
    );
    assert_eq!(
        write_statements(&s, &json!("x"), Flavor::Mysql).unwrap_err(),
        QueryNodeError::RowsShape
    );
    assert!(matches!(
        write_statements(&s, &json!([{"bad key": 1}]), Flavor::Mysql),
        Err(QueryNodeError::Identifier(_))
    ));
}

#[test]
fn upserts_per_flavor_and_chunking() {
    let s = QuerySpec::from_params(&params(json!({"connection": "c", "operation": "upsert",
        "table": "t", "keyColumns": "id", "columns": "id, total = amount"})))
    .unwrap();
    let rows = json!([{"id": 1, "amount": 3}]);
    assert_eq!(
        write_statements(&s, &rows, Flavor::Mysql).unwrap()[0].sql,
        "INSERT INTO `t` (`id`, `total`) VALUES (:v0, :v1) ON DUPLICATE KEY UPDATE `total` = VALUES(`total`)"
    );
    assert_eq!(
        write_statements(&s, &rows, Flavor::Postgres).unwrap()[0].sql,
        "INSERT INTO \"t\" (\"id\", \"total\") VALUES (:v0, :v1) ON CONFLICT (\"id\") DO UPDATE SET \"total\" = EXCLUDED.\"total\""
    );
    let many: Vec<Value> = (0..2_500).map(|i| json!({"id": i, "amount": i})).collect();
    let st = write_statements(&s, &Value::Array(many), Flavor::Mysql).unwrap();
    assert_eq!(
        st.iter().map(|s| s.rows).collect::<Vec<_>>(),
        vec![1_000, 1_000, 500]
    );
    assert_eq!(st[2].params.len(), 1_000);
}

#[test]
fn sql_server_inserts_bracket_names_and_upserts_through_merge() {
    let insert = QuerySpec::from_params(&params(
        json!({"connection": "c", "operation": "insert", "table": "dbo.orders"}),
    ))
    .unwrap();
    let rows = json!([{"id": 1, "note": "'; DROP TABLE orders; --"}]);
    let st = write_statements(&insert, &rows, Flavor::SqlServer).unwrap();
    assert_eq!(
        st[0].sql,
        "INSERT INTO [dbo].[orders] ([id], [note]) VALUES (:v0, :v1)"
    );
    assert_eq!(st[0].params["v1"], json!("'; DROP TABLE orders; --"));

    let upsert = QuerySpec::from_params(&params(json!({"connection": "c", "operation": "upsert",
        "table": "stock", "keyColumns": "sku, site", "columns": "sku, site, qty = count"})))
    .unwrap();
    let rows = json!([{"sku": "a", "site": 1, "count": 3}, {"sku": "b", "site": 1, "count": 4}]);
    let st = write_statements(&upsert, &rows, Flavor::SqlServer).unwrap();
    assert_eq!(
        st[0].sql,
        "MERGE INTO [stock] WITH (HOLDLOCK) AS [t] USING (VALUES (:v0, :v1, :v2), (:v3, :v4, :v5)) \
         AS [s] ([sku], [site], [qty]) ON [t].[sku] = [s].[sku] AND [t].[site] = [s].[site] \
         WHEN MATCHED THEN UPDATE SET [t].[qty] = [s].[qty] WHEN NOT MATCHED THEN \
         INSERT ([sku], [site], [qty]) VALUES ([s].[sku], [s].[site], [s].[qty]);"
    );
    assert_eq!(st[0].params.len(), 6);

    // Only key columns: nothing to update, rows that exist stay as they are.
    let keys_only = QuerySpec::from_params(&params(json!({"connection": "c",
        "operation": "upsert", "table": "tags", "keyColumns": "tag"})))
    .unwrap();
    let sql =
        &write_statements(&keys_only, &json!([{"tag": "x"}]), Flavor::SqlServer).unwrap()[0].sql;
    assert!(!sql.contains("WHEN MATCHED"), "{sql}");
    assert!(sql.ends_with("WHEN NOT MATCHED THEN INSERT ([tag]) VALUES ([s].[tag]);"));
}

#[test]
fn sql_server_statements_stay_below_its_parameter_limit() {
    let s = QuerySpec::from_params(&params(
        json!({"connection": "c", "operation": "insert", "table": "t"}),
    ))
    .unwrap();
    let many: Vec<Value> = (0..1_500)
        .map(|i| json!({"a": i, "b": i, "c": i}))
        .collect();
    let st = write_statements(&s, &Value::Array(many), Flavor::SqlServer).unwrap();
    assert!(
        st.iter().all(|s| s.params.len() <= 2_000),
        "{}",
        st[0].params.len()
    );
    assert_eq!(st.iter().map(|s| s.rows).sum::<usize>(), 1_500);
    assert_eq!(st[0].rows, 666);
}

#[test]
fn documents_follow_the_column_mapping() {
    let s = QuerySpec::from_params(&params(json!({"connection": "c", "operation": "upsert",
        "table": "orders", "keyColumns": "sku", "columns": "sku, qty = count"})))
    .unwrap();
    let docs = write_documents(
        &s,
        &json!([{"sku": "a", "count": 2, "ignored": true}, {"sku": "b", "count": null}]),
    )
    .unwrap();
    assert_eq!(
        docs,
        vec![
            row(json!({"sku": "a", "qty": 2})),
            row(json!({"sku": "b", "qty": null}))
        ]
    );
    assert_eq!(
        write_documents(&s, &json!([{"sku": "a"}])).unwrap_err(),
        QueryNodeError::MissingValue {
            row: 1,
            column: "qty".into()
        }
    );
    assert_eq!(
        write_documents(&s, &json!([1, 2])).unwrap_err(),
        QueryNodeError::RowsShape
    );
    assert!(write_documents(&s, &json!([])).unwrap().is_empty());
}
