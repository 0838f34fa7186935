//! The vocabularies and validated input of a connection.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use katalusis_crds::FieldError;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $ty:ident, $what:literal, { $($(#[$vdoc:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        // Every name is the snake_case of its variant (utoipa does not see
        // per-variant renames that come through a macro).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $ty { $($(#[$vdoc])* $v),+ }
        impl $ty {
            pub const ALL: &'static [Self] = &[$(Self::$v),+];
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),+ } }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    format!("unknown {} '{s}' (one of: {})", $what,
                        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                })
            }
        }
    };
}

vocabulary!(
    /// The database product behind a connection.
    ConnectionKind, "connection kind", {
    Mysql => "mysql",
    Postgres => "postgres",
    Sqlserver => "sqlserver",
    Mongodb => "mongodb",
});

impl ConnectionKind {
    pub fn default_port(self) -> u16 {
        match self {
            Self::Mysql => 3306,
            Self::Postgres => 5432,
            Self::Sqlserver => 1433,
            Self::Mongodb => 27017,
        }
    }
}

vocabulary!(
    /// Transport security towards the database server.
    TlsMode, "TLS mode", {
    /// Plain TCP.
    Disable => "disable",
    /// TLS when the server offers it, unverified.
    Prefer => "prefer",
    /// TLS required, certificate not verified.
    Require => "require",
    /// TLS required, certificate verified against the CA certificate.
    VerifyCa => "verify_ca",
    /// As `verify_ca`, and the host name must match.
    VerifyFull => "verify_full",
});

vocabulary!(
    /// The classified result of a connection test.
    TestOutcome, "test outcome", {
    Ok => "ok",
    Dns => "dns",
    Refused => "refused",
    Timeout => "timeout",
    Tls => "tls",
    Authentication => "authentication",
    DatabaseMissing => "database_missing",
    Error => "error",
});

/// A stored secret as the API shows it: whether one is set, never the value.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct SecretState {
    pub set: bool,
}

/// A connection as the API shows it; the password only as `{"set": bool}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: u64,
    pub name: String,
    pub kind: ConnectionKind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: SecretState,
    pub tls_mode: TlsMode,
    /// PEM; public material, so it is shown.
    pub ca_cert: Option<String>,
    pub options: BTreeMap<String, String>,
    /// Clients whose workflows may use this connection.
    pub client_ids: Vec<u64>,
    pub read_only: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Create or replace a connection. `password`: a string sets it, `{"set":
/// true}` (or leaving it out on a replace) keeps the stored one, `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionInput {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,100}\s*$")]
    pub name: String,
    #[schema(value_type = ConnectionKind)]
    pub kind: String,
    #[schema(pattern = r"^\s*[A-Za-z0-9._:-]{1,255}\s*$")]
    pub host: String,
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u32>,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\x00]*$")]
    pub database: String,
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\x00]*$")]
    pub user: String,
    /// A string, `{"set": true}` or `null`.
    #[serde(default = "keep")]
    pub password: Value,
    #[serde(default)]
    #[schema(value_type = Option<TlsMode>)]
    pub tls_mode: Option<String>,
    #[serde(default)]
    #[schema(max_length = 65536, pattern = r"(^\s*$)|(-----BEGIN CERTIFICATE-----)")]
    pub ca_cert: Option<String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub client_ids: Vec<u64>,
    #[serde(default = "yes")]
    pub read_only: bool,
}

fn keep() -> Value {
    katalusis_crds::template::secret_placeholder()
}

fn yes() -> bool {
    true
}

/// What to do with the stored password.
#[derive(PartialEq, Eq)]
pub enum PasswordChange {
    Keep,
    Clear,
    Set(String),
}

impl fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keep => "Keep",
            Self::Clear => "Clear",
            Self::Set(_) => "Set(***)",
        })
    }
}

/// A checked [`ConnectionInput`].
#[derive(Debug)]
pub struct ValidConnection {
    pub name: String,
    pub kind: ConnectionKind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: PasswordChange,
    pub tls_mode: TlsMode,
    pub ca_cert: Option<String>,
    pub options: BTreeMap<String, String>,
    pub client_ids: Vec<u64>,
    pub read_only: bool,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ConnectionInput {
    /// Every problem at once, by field.
    pub fn validate(self) -> Result<ValidConnection, Vec<FieldError>> {
        let mut errs = Vec::new();
        let name = self.name.trim().to_string();
        if !is_name(&name) {
            errs.push(FieldError::new(
                "name",
                "must be 1-100 letters, digits, '-', '_' or '.'",
            ));
        }
        let kind = self
            .kind
            .parse::<ConnectionKind>()
            .map_err(|e| errs.push(FieldError::new("kind", e)))
            .ok();
        let host = self.host.trim().to_string();
        let host_ok = !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'_'));
        if !host_ok {
            errs.push(FieldError::new("host", "must be a host name or IP address"));
        }
        let port = match self.port {
            None => kind.map(ConnectionKind::default_port).unwrap_or(0),
            Some(p) if (1..=65535).contains(&p) => p as u16,
            Some(_) => {
                errs.push(FieldError::new("port", "must be between 1 and 65535"));
                0
            }
        };
        if self.database.chars().count() > 255 || self.database.contains('\0') {
            errs.push(FieldError::new(
                "database",
                "must be at most 255 characters",
            ));
        }
        if self.user.chars().count() > 255 || self.user.contains('\0') {
            errs.push(FieldError::new("user", "must be at most 255 characters"));
        }
        let password = match &self.password {
            Value::Null => PasswordChange::Clear,
            Value::String(s) if s.len() <= 1024 => PasswordChange::Set(s.clone()),
            v if katalusis_crds::template::is_secret_placeholder(v) => PasswordChange::Keep,
            _ => {
                errs.push(FieldError::new(
                    "password",
                    "must be a string (at most 1024 characters), {\"set\": true} or null",
                ));
                PasswordChange::Keep
            }
        };
        let tls_mode = match self.tls_mode.as_deref() {
            None => Some(TlsMode::Prefer),
            Some(t) => t
                .parse::<TlsMode>()
                .map_err(|e| errs.push(FieldError::new("tlsMode", e)))
                .ok(),
        };
        let ca_cert = self.ca_cert.filter(|c| !c.trim().is_empty());
        if let Some(c) = &ca_cert {
            if !c.contains("-----BEGIN CERTIFICATE-----") || c.chars().count() > 64 * 1024 {
                errs.push(FieldError::new(
                    "caCert",
                    "must be a PEM certificate (at most 64 KiB)",
                ));
            }
        }
        if matches!(tls_mode, Some(TlsMode::VerifyCa)) && ca_cert.is_none() {
            errs.push(FieldError::new("caCert", "is required for verify_ca"));
        }
        if self.options.len() > 50
            || self
                .options
                .iter()
                .any(|(k, v)| k.is_empty() || k.len() > 100 || v.len() > 1000)
        {
            errs.push(FieldError::new(
                "options",
                "at most 50 options, names 1-100 and values at most 1000 characters",
            ));
        }
        let mut client_ids = self.client_ids;
        client_ids.sort_unstable();
        client_ids.dedup();
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(ValidConnection {
            name,
            kind: kind.expect("checked"),
            host,
            port,
            database: self.database,
            user: self.user,
            password,
            tls_mode: tls_mode.expect("checked"),
            ca_cert,
            options: self.options,
            client_ids,
            read_only: self.read_only,
        })
    }
}

/// The classified result of `POST /api/admin/connections/{id}/test`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub outcome: TestOutcome,
    /// What happened, for a person; never contains the password.
    pub message: String,
    pub server_version: Option<String>,
    pub elapsed_ms: u64,
}

/// A connection a manager may use: its name and kind only.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsableConnection {
    pub name: String,
    pub kind: ConnectionKind,
    pub read_only: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> ConnectionInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn vocabularies_round_trip_and_refuse_unknown_names() {
        for k in ConnectionKind::ALL {
            assert_eq!(k.as_str().parse::<ConnectionKind>().unwrap(), *k);
        }
        assert!("oracle"
            .parse::<ConnectionKind>()
            .unwrap_err()
            .contains("mysql, postgres"));
        assert_eq!(
            "verify_full".parse::<TlsMode>().unwrap(),
            TlsMode::VerifyFull
        );
    }

    #[test]
    fn a_minimal_connection_gets_defaults() {
        let v =
            input(json!({"name": "crm", "kind": "postgres", "host": "db.local", "password": "pw"}))
                .validate()
                .unwrap();
        assert_eq!(v.port, 5432);
        assert_eq!(v.tls_mode, TlsMode::Prefer);
        assert!(v.read_only);
        assert_eq!(v.password, PasswordChange::Set("pw".into()));
        assert!(!format!("{v:?}").contains("pw\""), "{v:?}");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errs = input(json!({"name": "no spaces", "kind": "oracle", "host": "a b",
            "port": 70000, "password": 5, "tlsMode": "maybe", "caCert": "nope"}))
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "name", "kind", "host", "port", "password", "tlsMode", "caCert",
        ] {
            assert!(fields.contains(&f), "{f} missing in {fields:?}");
        }
    }

    #[test]
    fn password_placeholder_keeps_and_null_clears() {
        let keep =
            input(json!({"name": "a", "kind": "mysql", "host": "h", "password": {"set": true}}));
        assert_eq!(keep.validate().unwrap().password, PasswordChange::Keep);
        let absent = input(json!({"name": "a", "kind": "mysql", "host": "h"}));
        assert_eq!(absent.validate().unwrap().password, PasswordChange::Keep);
        let clear = input(json!({"name": "a", "kind": "mysql", "host": "h", "password": null}));
        assert_eq!(clear.validate().unwrap().password, PasswordChange::Clear);
    }
}
