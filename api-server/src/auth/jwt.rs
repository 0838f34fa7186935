//! HS256 access tokens. The algorithm is fixed and `exp` is required.

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
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_seconds: u64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_seconds: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds,
        }
    }

    pub fn issue(&self, user_id: u64, session_id: &str, now: i64) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            iat: now,
            exp: now + self.ttl_seconds as i64,
        };
        Ok(encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
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
}
