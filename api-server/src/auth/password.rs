//! argon2id password hashing; always off the async runtime.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 1024;

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// Verified against when the user does not exist, so both paths cost the same.
    dummy_hash: String,
}

impl Hasher {
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let mut h = Self {
            params,
            dummy_hash: String::new(),
        };
        h.dummy_hash = h.hash_blocking("katalusis-timing-equaliser")?;
        Ok(h)
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_blocking(&self, password: &str) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(ApiError::Internal)
    }

    /// Verifies `password` against `hash`, or against a dummy hash when the
    /// account is unknown so timing does not reveal whether it exists.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| this.dummy_hash.clone());
            let ok = PasswordHash::new(&hash)
                .map(|parsed| {
                    this.argon()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && known
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))
    }
}

/// Password policy shared by user creation, reset and change.
pub fn check_policy(field: &str, password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(ApiError::field(field, "must be at least 10 characters"));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(ApiError::field(field, "must be at most 1024 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let h = Hasher::new(1024, 1).unwrap();
        let hash = h.hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h
            .verify("correct horse battery".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!h
            .verify("wrong horse battery".into(), Some(hash))
            .await
            .unwrap());
        assert!(!h
            .verify("katalusis-timing-equaliser".into(), None)
            .await
            .unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_policy("password", "123456789").is_err());
        assert!(check_policy("password", "1234567890").is_ok());
    }
}
