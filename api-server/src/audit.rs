//! Audit trail: a middleware records every state-changing request after it is
//! answered, so no handler can forget it. Extractors and handlers fill in the
//! actor, the action and the object through the request's `AuditSlot`.
//!
//! Reads are recorded when the handler calls [`Audit::read`] and the kind of
//! read is within `KATALUSIS_AUDIT_READS` (downloads and exports by default;
//! log and audit-log views too with `all`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::Role;
use crate::state::AppState;

#[derive(Debug, Default, Clone)]
pub struct AuditRecord {
    pub user_id: Option<u64>,
    pub role: Option<Role>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// Set by read-only POST endpoints (validation) that change nothing.
    pub skip: bool,
    /// Set by GET handlers that serve sensitive data.
    pub read: Option<SensitiveRead>,
}

/// A read worth recording, by how much of it `KATALUSIS_AUDIT_READS` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensitiveRead {
    /// Data leaves the platform: outputs, files, attachments, exports.
    Download,
    /// Data is looked at: node logs, the audit log.
    View,
}

impl SensitiveRead {
    /// The least `KATALUSIS_AUDIT_READS` level that records this read.
    fn recorded_from(self) -> crate::config::AuditReads {
        match self {
            Self::Download => crate::config::AuditReads::Downloads,
            Self::View => crate::config::AuditReads::All,
        }
    }
}

/// Shared between the middleware and the request's extractors and handler.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<AuditRecord>>);

impl AuditSlot {
    fn with(&self, f: impl FnOnce(&mut AuditRecord)) {
        if let Ok(mut r) = self.0.lock() {
            f(&mut r);
        }
    }
    pub fn set_actor(&self, user_id: u64, role: Role) {
        self.with(|r| {
            r.user_id = Some(user_id);
            r.role = Some(role);
        });
    }
    pub fn set_action(&self, action: &str) {
        self.with(|r| r.action = Some(action.to_string()));
    }
    pub fn set_object(&self, object_type: &str, object_id: impl ToString) {
        self.with(|r| {
            r.object_type = Some(object_type.to_string());
            r.object_id = Some(object_id.to_string());
        });
    }
    fn take(&self) -> AuditRecord {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Lets handlers name the action and object: `audit.object("workflow", id)`.
pub struct Audit(pub AuditSlot);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Audit {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<AuditSlot>()
                .cloned()
                .unwrap_or_default(),
        ))
    }
}

impl Audit {
    /// Marks a GET as a sensitive read of `object_type`/`object_id` under
    /// `action` (recorded according to `KATALUSIS_AUDIT_READS`).
    pub fn read(
        &self,
        kind: SensitiveRead,
        action: &str,
        object_type: &str,
        object_id: impl ToString,
    ) {
        self.0.with(|r| r.read = Some(kind));
        self.0.set_action(action);
        self.0.set_object(object_type, object_id);
    }
    pub fn skip(&self) {
        self.0.with(|r| r.skip = true);
    }
    pub fn action(&self, action: &str) -> &Self {
        self.0.set_action(action);
        self
    }
    pub fn object(&self, object_type: &str, object_id: impl ToString) -> &Self {
        self.0.set_object(object_type, object_id);
        self
    }
}

pub fn client_ip(req: &Request, trust_proxy: bool) -> Option<String> {
    if trust_proxy {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|s| s.trim().to_string())
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// The client address the request came from, for handlers (login throttling).
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req, state.settings.trust_proxy_headers);
    req.extensions_mut().insert(ClientIp(ip.clone()));
    let is_read = matches!(*req.method(), Method::GET | Method::HEAD);
    let is_mutation = !is_read && *req.method() != Method::OPTIONS;
    let audit_reads = state.settings.audit_reads;
    let may_record_read = is_read && audit_reads != crate::config::AuditReads::Off;
    if !(is_mutation || may_record_read) {
        return next.run(req).await;
    }
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let default_action = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| req.uri().path().to_string())
    );
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let resp = next.run(req).await;
    let rec = slot.take();
    if rec.skip {
        return resp;
    }
    if is_read && rec.read.is_none_or(|k| k.recorded_from() > audit_reads) {
        return resp;
    }
    let status = resp.status();
    let outcome = if status.is_success() {
        "success"
    } else if matches!(status.as_u16(), 401 | 403 | 404 | 429) {
        "denied"
    } else if status.is_client_error() {
        "rejected"
    } else {
        "error"
    };
    let entry = crate::db::audit::NewEntry {
        user_id: rec.user_id,
        role: rec.role.map(|r| r.as_str()),
        action: rec.action.unwrap_or(default_action),
        object_type: rec.object_type,
        object_id: rec.object_id,
        outcome,
        status: status.as_u16(),
        request_id,
        client_ip: ip,
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // The database is unreachable (that is what 503 means here): waiting
        // for it again would only delay the answer, so the entry goes to the
        // log, where it is kept.
        tracing::warn!(
            action = %entry.action,
            user_id = ?entry.user_id,
            object_type = ?entry.object_type,
            object_id = ?entry.object_id,
            request_id = %entry.request_id,
            client_ip = ?entry.client_ip,
            outcome,
            status = status.as_u16(),
            "audit entry not stored: database unavailable"
        );
        return resp;
    }
    if let Err(e) = crate::db::audit::insert(&state.db, &entry).await {
        tracing::error!(error = %e, action = %entry.action, "could not write audit entry");
    }
    resp
}
