//! The Query node's work against its connection: a read mapped into
//! fields, or the `rows` input written in one transaction.

use std::collections::BTreeMap;
use std::time::Duration;

use katalusis_crds::plan::FailureReason;
use katalusis_flow::{
    bound_params, map_rows, write_documents, write_statements, Flavor, Operation, QuerySpec,
    FIELD_PORTS,
};
use serde_json::{Map, Value};

use crate::connections::model::ConnectionKind;
use crate::connections::query::{Limits, QueryError, Writes};
use crate::connections::service::Connector;

/// Why a Query node failed: the reason the run shows, and the message.
pub type Failure = (FailureReason, String);

fn failure(e: QueryError) -> Failure {
    let reason = match e {
        QueryError::RowLimit(_) | QueryError::ByteLimit(_) => FailureReason::OutputSize,
        QueryError::TimeLimit(_) => FailureReason::Timeout,
        _ => FailureReason::Error,
    };
    (reason, e.to_string())
}

fn invalid(e: impl std::fmt::Display) -> Failure {
    (FailureReason::Error, e.to_string())
}

/// Runs the node's operation for `client_id`; the node's outputs.
pub async fn execute(
    connector: &Connector,
    client_id: u64,
    spec: &QuerySpec,
    inputs: &BTreeMap<String, Value>,
    max_bytes: usize,
) -> Result<Map<String, Value>, Failure> {
    let timeout = Duration::from_secs(spec.timeout_seconds);
    let mut out = Map::new();
    if spec.operation == Operation::Read {
        let params = bound_params(inputs.get("params")).map_err(invalid)?;
        let limits = Limits {
            max_rows: spec.max_rows,
            timeout,
            // The outputs are stored like a Python node's, within the same bound.
            max_bytes,
        };
        let result = connector
            .query(client_id, &spec.connection, &spec.sql, &params, limits)
            .await
            .map_err(failure)?;
        let mapped = map_rows(spec, &result.columns, &result.decimal_columns, result.rows)
            .map_err(invalid)?;
        out.insert("rowCount".into(), Value::from(mapped.rows.len()));
        out.insert(
            "first".into(),
            mapped.rows.first().cloned().unwrap_or(Value::Null),
        );
        for (port, values) in FIELD_PORTS.iter().zip(mapped.field_values) {
            out.insert((*port).into(), Value::Array(values));
        }
        out.insert("rows".into(), Value::Array(mapped.rows));
    } else {
        let opened = connector
            .open(client_id, &spec.connection)
            .await
            .map_err(failure)?;
        let rows = inputs.get("rows").cloned().unwrap_or(Value::Null);
        let sql = |flavor| -> Result<Writes, Failure> {
            Ok(Writes::Statements(
                write_statements(spec, &rows, flavor)
                    .map_err(invalid)?
                    .into_iter()
                    .map(|s| (s.sql, s.params))
                    .collect(),
            ))
        };
        let writes = match opened.kind {
            ConnectionKind::Postgres => sql(Flavor::Postgres)?,
            ConnectionKind::Mysql => sql(Flavor::Mysql)?,
            ConnectionKind::Sqlserver => sql(Flavor::SqlServer)?,
            ConnectionKind::Mongodb => Writes::Documents {
                collection: spec.table.clone(),
                keys: if spec.operation == Operation::Upsert {
                    spec.key_columns.clone()
                } else {
                    Vec::new()
                },
                documents: write_documents(spec, &rows).map_err(invalid)?,
            },
        };
        let changed = connector
            .write(client_id, &spec.connection, &writes, timeout)
            .await
            .map_err(failure)?;
        out.insert("rows".into(), Value::Array(Vec::new()));
        out.insert("rowCount".into(), Value::from(changed));
        out.insert("first".into(), Value::Null);
    }
    Ok(out)
}
