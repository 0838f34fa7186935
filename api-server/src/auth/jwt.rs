//! HS256 access tokens. The algorithm is fixed and `exp` is required.
//!
//! Every token names its key in the `kid` header (a hash of the secret, so it
//! says which key without saying anything about it). During a rotation the
//! previous secret still verifies the tokens it signed, so changing
//! `KATALUSIS_JWT_SECRET` does not log everyone out at once; refresh tokens
//! are opaque and unaffected, so sessions carry on with new access tokens.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id; revoking the session invalidates the token at once.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    kid: String,
    encoding: EncodingKey,
    /// The current key first, then the previous one during a rotation.
    verifiers: Vec<(String, DecodingKey)>,
    validation: Validation,
    pub ttl_seconds: u64,
}

/// The key id of a secret: the first 16 hex digits of a domain-separated
/// SHA-256, stable across restarts and replicas.
pub fn kid_of(secret: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"katalusis-jwt-kid:");
    h.update(secret);
    hex::encode(h.finalize())[..16].to_string()
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_seconds: u64) -> Self {
        Self::rotating(secret, None, ttl_seconds)
    }

    /// Signs with `secret`; verifies tokens of `secret` and of `previous`.
    pub fn rotating(secret: &[u8], previous: Option<&[u8]>, ttl_seconds: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let mut verifiers = vec![(kid_of(secret), DecodingKey::from_secret(secret))];
        if let Some(p) = previous {
            verifiers.push((kid_of(p), DecodingKey::from_secret(p)));
        }
        Self {
            kid: kid_of(secret),
            encoding: EncodingKey::from_secret(secret),
            verifiers,
            validation,
            ttl_seconds,
        }
    }

    /// The id of the key new tokens are signed with.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn issue(&self, user_id: u64, session_id: &str, now: i64) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            iat: now,
            exp: now + self.ttl_seconds as i64,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        Ok(encode(&header, &claims, &self.encoding)?)
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        // Tokens from before key ids existed carry none: only the current key.
        let key = match header.kid.as_deref() {
            Some(kid) => &self.verifiers.iter().find(|(k, _)| k == kid)?.1,
            None => &self.verifiers[0].1,
        };
        decode::<Claims>(token, key, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// The `app_setting` key of the generated development secret.
pub const DEV_SECRET_KEY: &str = "jwt_dev_secret";

#[derive(Serialize, Deserialize)]
struct StoredSecret {
    kid: String,
    /// Base64 of 32 random bytes (the text is the HMAC key).
    secret: String,
}

/// The development secret: generated on the first start and kept in the
/// settings table, so a restart does not log everyone out. Concurrent first
/// starts agree on one (the first insert wins, everyone reads it back).
/// Production never gets here: it requires `KATALUSIS_JWT_SECRET`.
/// The secret is the Base64 text itself, as a configured one would be.
pub async fn dev_secret(db: &sqlx::MySqlPool) -> anyhow::Result<String> {
    use base64::Engine;
    if crate::db::settings::get(db, DEV_SECRET_KEY)
        .await?
        .is_none()
    {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let secret = base64::engine::general_purpose::STANDARD.encode(bytes);
        let stored = StoredSecret {
            kid: kid_of(secret.as_bytes()),
            secret,
        };
        crate::db::settings::insert_if_absent(db, DEV_SECRET_KEY, &serde_json::to_string(&stored)?)
            .await?;
    }
    let row = crate::db::settings::get(db, DEV_SECRET_KEY)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the development JWT secret was not stored"))?;
    let stored: StoredSecret = serde_json::from_str(&row.value)?;
    let secret = stored.secret;
    anyhow::ensure!(
        secret.len() >= 32 && kid_of(secret.as_bytes()) == stored.kid,
        "the stored development JWT secret is damaged; delete the '{DEV_SECRET_KEY}' setting to generate a new one"
    );
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_with_its_key_only() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let now = chrono::Utc::now().timestamp();
        let t = k.issue(7, "s1", now).unwrap();
        assert_eq!(k.verify(&t).unwrap().sub, "7");
        let other = JwtKeys::new(b"fedcba9876543210fedcba9876543210", 60);
        assert!(other.verify(&t).is_none());
    }

    #[test]
    fn expired_and_unsigned_tokens_are_rejected() {
        let k = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let old = k
            .issue(7, "s1", chrono::Utc::now().timestamp() - 120)
            .unwrap();
        assert!(k.verify(&old).is_none());
        // alg=none with the same claims must not pass.
        let parts: Vec<&str> = old.split('.').collect();
        let none_header = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"alg":"none","typ":"JWT"}"#,
        );
        assert!(k.verify(&format!("{none_header}.{}.", parts[1])).is_none());
    }

    #[test]
    fn the_previous_secret_verifies_its_tokens_during_a_rotation() {
        let old_secret = b"0123456789abcdef0123456789abcdef";
        let new_secret = b"fedcba9876543210fedcba9876543210";
        let now = chrono::Utc::now().timestamp();
        let old = JwtKeys::new(old_secret, 60);
        let t_old = old.issue(7, "s1", now).unwrap();
        let header = jsonwebtoken::decode_header(&t_old).unwrap();
        assert_eq!(header.kid.as_deref(), Some(old.kid()));
        let rotated = JwtKeys::rotating(new_secret, Some(old_secret), 60);
        assert_eq!(rotated.verify(&t_old).unwrap().sub, "7");
        let t_new = rotated.issue(8, "s2", now).unwrap();
        assert_ne!(
            jsonwebtoken::decode_header(&t_new).unwrap().kid,
            header.kid,
            "new tokens are signed with the new key"
        );
        assert!(old.verify(&t_new).is_none());
        // Once the previous secret is removed, its tokens stop working.
        assert!(JwtKeys::new(new_secret, 60).verify(&t_old).is_none());
        // A token naming the old kid but signed by someone else fails.
        let forged = JwtKeys::new(b"attacker-attacker-attacker-attack", 60);
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(old.kid().to_string());
        let claims = Claims {
            sub: "1".into(),
            sid: "x".into(),
            iat: now,
            exp: now + 60,
        };
        let t = encode(&h, &claims, &forged.encoding).unwrap();
        assert!(rotated.verify(&t).is_none());
    }
}
