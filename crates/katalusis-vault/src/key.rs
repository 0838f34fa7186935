use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::VaultError;

/// A short public name of a key: the first 4 bytes of SHA-256 over the key
/// material, in hex. It identifies, it does not reveal (2^-32 collisions are
/// caught by GCM's tag as `Undecryptable`, never a wrong plaintext).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 4]);

impl KeyId {
    pub fn parse(s: &str) -> Option<Self> {
        let mut b = [0u8; 4];
        if s.len() != 8 {
            return None;
        }
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).ok()?;
            b[i] = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(Self(b))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A 256-bit AES-GCM key. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct Key {
    id: KeyId,
    pub(crate) cipher: Aes256Gcm,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        Self {
            id: KeyId([digest[0], digest[1], digest[2], digest[3]]),
            cipher: Aes256Gcm::new(bytes.into()),
        }
    }

    /// Parses standard base64 of exactly 32 bytes (surrounding whitespace allowed).
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| VaultError::InvalidKey("not base64".into()))?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::InvalidKey(format!("must be 32 bytes, got {}", raw.len())))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// A new random key and its base64 text (to be written to a key file).
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        (Self::from_bytes(&bytes), text)
    }

    pub fn id(&self) -> KeyId {
        self.id
    }
}
