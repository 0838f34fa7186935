//! `/api/admin/connections` (admins) and `/api/connections` (names a manager
//! may use). The password is write-only: responses say `{"set": bool}`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::db;
use super::driver::{self, Target};
use super::model::{
    Connection, ConnectionInput, PasswordChange, SecretState, TestResult, UsableConnection,
    ValidConnection,
};
use crate::audit::Audit;
use crate::auth::{Admin, ClientScope, RequireRole, Staff};
use crate::error::ApiError;
use crate::http::extract::{Json, Path, Query};
use crate::state::AppState;

fn view(row: db::Row, client_ids: Vec<u64>) -> Result<Connection, ApiError> {
    Ok(Connection {
        id: row.connection_id,
        kind: row.kind()?,
        tls_mode: row.tls_mode()?,
        options: row.options()?,
        name: row.name,
        host: row.host,
        port: u16::try_from(row.port).unwrap_or_default(),
        database: row.database_name,
        user: row.username,
        password: SecretState {
            set: row.password_sealed.is_some(),
        },
        ca_cert: row.ca_cert,
        client_ids,
        read_only: row.read_only,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

async fn checked(state: &AppState, req: ConnectionInput) -> Result<ValidConnection, ApiError> {
    let v = req.validate().map_err(ApiError::Validation)?;
    let found = db::existing_clients(&state.db, &v.client_ids).await?;
    if let Some(missing) = v.client_ids.iter().find(|c| !found.contains(c)) {
        return Err(ApiError::field(
            "clientIds",
            &format!("{missing} is not a client"),
        ));
    }
    Ok(v)
}

fn name_taken(name: &str) -> ApiError {
    ApiError::Conflict {
        message: format!("a connection named '{name}' exists"),
        details: json!({"field": "name"}),
    }
}

/// Every connection (admins only).
#[utoipa::path(get, path = "/api/admin/connections", tag = "connections", security(("bearer" = [])),
    responses((status = 200, body = Vec<Connection>)))]
pub async fn list(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
) -> Result<axum::Json<Vec<Connection>>, ApiError> {
    let mut out = Vec::new();
    for row in db::list(&state.db).await? {
        let clients = db::clients_of(&state.db, row.connection_id).await?;
        out.push(view(row, clients)?);
    }
    Ok(axum::Json(out))
}

/// Add a connection; the password is sealed by the vault before it is stored.
#[utoipa::path(post, path = "/api/admin/connections", tag = "connections", security(("bearer" = [])),
    request_body = ConnectionInput,
    responses((status = 201, body = Connection), (status = 409), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Json(req): Json<ConnectionInput>,
) -> Result<(StatusCode, axum::Json<Connection>), ApiError> {
    audit.action("connection.create");
    let v = checked(&state, req).await?;
    let sealed = match &v.password {
        PasswordChange::Set(p) => Some(state.settings.vault.seal(p)),
        PasswordChange::Keep | PasswordChange::Clear => None,
    };
    let options = serde_json::to_string(&v.options).map_err(anyhow::Error::from)?;
    let mut tx = state.db.begin().await?;
    let id = db::insert(
        &mut tx,
        &db::Write {
            name: &v.name,
            kind: v.kind,
            host: &v.host,
            port: v.port,
            database: &v.database,
            user: &v.user,
            password_sealed: sealed.as_deref(),
            tls_mode: v.tls_mode,
            ca_cert: v.ca_cert.as_deref(),
            options: &options,
            read_only: v.read_only,
            by: admin.id,
        },
    )
    .await?
    .ok_or_else(|| name_taken(&v.name))?;
    db::set_clients(&mut tx, id, &v.client_ids).await?;
    tx.commit().await?;
    audit.object("connection", id);
    let row = db::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(view(row, v.client_ids)?)))
}

/// One connection (admins only).
#[utoipa::path(get, path = "/api/admin/connections/{id}", tag = "connections", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = Connection), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    Path(id): Path<u64>,
) -> Result<axum::Json<Connection>, ApiError> {
    let row = db::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    let clients = db::clients_of(&state.db, id).await?;
    Ok(axum::Json(view(row, clients)?))
}

/// Replace a connection. `password`: a string replaces it, `{"set": true}`
/// or leaving it out keeps it, `null` removes it.
#[utoipa::path(put, path = "/api/admin/connections/{id}", tag = "connections", security(("bearer" = [])),
    params(("id" = u64, Path)), request_body = ConnectionInput,
    responses((status = 200, body = Connection), (status = 404), (status = 409), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    RequireRole(admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(id): Path<u64>,
    Json(req): Json<ConnectionInput>,
) -> Result<axum::Json<Connection>, ApiError> {
    audit.action("connection.update").object("connection", id);
    let current = db::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    let v = checked(&state, req).await?;
    let sealed = match &v.password {
        PasswordChange::Set(p) => Some(state.settings.vault.seal(p)),
        PasswordChange::Keep => current.password_sealed.clone(),
        PasswordChange::Clear => None,
    };
    let options = serde_json::to_string(&v.options).map_err(anyhow::Error::from)?;
    let mut tx = state.db.begin().await?;
    let saved = db::update(
        &mut tx,
        id,
        &db::Write {
            name: &v.name,
            kind: v.kind,
            host: &v.host,
            port: v.port,
            database: &v.database,
            user: &v.user,
            password_sealed: sealed.as_deref(),
            tls_mode: v.tls_mode,
            ca_cert: v.ca_cert.as_deref(),
            options: &options,
            read_only: v.read_only,
            by: admin.id,
        },
    )
    .await?;
    if !saved {
        return Err(name_taken(&v.name));
    }
    db::set_clients(&mut tx, id, &v.client_ids).await?;
    tx.commit().await?;
    let row = db::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    Ok(axum::Json(view(row, v.client_ids)?))
}

/// Remove a connection.
#[utoipa::path(delete, path = "/api/admin/connections/{id}", tag = "connections", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    audit.action("connection.delete").object("connection", id);
    if !db::delete(&state.db, id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The connection target with its password opened (server-side use only).
pub fn target(state: &AppState, row: &db::Row) -> Result<Target, ApiError> {
    let password = match &row.password_sealed {
        Some(s) => Some(state.settings.vault.open(s).map_err(|e| {
            anyhow::anyhow!(
                "connection {} password cannot be decrypted: {e}",
                row.connection_id
            )
        })?),
        None => None,
    };
    Ok(Target::from_row(row, password)?)
}

/// Connect once and report a classified result within 5 s. A failed test is
/// a 200 with its outcome: the request itself was fine.
#[utoipa::path(post, path = "/api/admin/connections/{id}/test", tag = "connections", security(("bearer" = [])),
    params(("id" = u64, Path)), responses((status = 200, body = TestResult), (status = 404)))]
pub async fn test(
    State(state): State<AppState>,
    RequireRole(_admin, ..): RequireRole<Admin>,
    audit: Audit,
    Path(id): Path<u64>,
) -> Result<axum::Json<TestResult>, ApiError> {
    audit.action("connection.test").object("connection", id);
    let row = db::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    let target = target(&state, &row)?;
    Ok(axum::Json(driver::test(&target).await))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsableQuery {
    /// Only connections allowed for this client.
    pub client_id: Option<u64>,
}

/// Names of the connections the caller's clients may use (staff only; no
/// host, user or password).
#[utoipa::path(get, path = "/api/connections", tag = "connections", security(("bearer" = [])),
    params(UsableQuery), responses((status = 200, body = Vec<UsableConnection>)))]
pub async fn usable(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Query(q): Query<UsableQuery>,
) -> Result<axum::Json<Vec<UsableConnection>>, ApiError> {
    Ok(axum::Json(
        db::usable(&state.db, ClientScope::of(&user), q.client_id).await?,
    ))
}
