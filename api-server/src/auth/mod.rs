//! Authentication (passwords, tokens, sessions) and the authorization
//! extractors every protected handler takes.

pub mod extract;
pub mod jwt;
pub mod password;
pub mod scope;
pub mod tokens;

pub use extract::{Admin, CurrentUser, RequireRole, Staff};
pub use scope::ClientScope;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Client,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "manager" => Some(Self::Manager),
            "client" => Some(Self::Client),
            _ => None,
        }
    }
}
