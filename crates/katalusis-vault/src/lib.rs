//! The credential vault: secrets at rest are AES-256-GCM ciphertexts in a
//! versioned text envelope that names the key that sealed them, so several
//! keys can be accepted during a rotation (the idea of HashiCorp Vault's
//! transit engine: keys never leave the server, ciphertexts carry their key id).
//!
//! `key` and `envelope` are pure (no I/O besides the OS random source);
//! `keyfile` reads and creates key files.

mod envelope;
mod key;
pub mod keyfile;

pub use envelope::{is_sealed, key_id_of, ENVELOPE_PREFIX};
pub use key::{Key, KeyId};

/// Why a value could not be sealed or opened, or a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("not a sealed value (expected '{ENVELOPE_PREFIX}<key id>:<data>')")]
    Malformed,
    #[error("sealed with key {0}, which is not configured")]
    UnknownKey(KeyId),
    /// Wrong key material under a matching id, or a changed ciphertext: GCM
    /// cannot tell the two apart, and neither may be trusted.
    #[error("cannot be decrypted with key {0} (tampered or wrong key)")]
    Undecryptable(KeyId),
    #[error("the decrypted value is not UTF-8")]
    NotText,
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

/// The keys the server holds: one seals new values, all open old ones.
pub struct Keyring {
    primary: Key,
    old: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary.id())
            .field("old", &self.old.iter().map(Key::id).collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// `old` keys only decrypt; duplicates of the primary are ignored.
    pub fn new(primary: Key, old: Vec<Key>) -> Self {
        let old = old.into_iter().filter(|k| k.id() != primary.id()).collect();
        Self { primary, old }
    }

    /// The keyring for a rotation: `new` seals, every key of `self` still opens.
    pub fn rotated_to(&self, new: Key) -> Self {
        let mut old = vec![self.primary.clone()];
        old.extend(self.old.iter().cloned());
        Self::new(new, old)
    }

    /// The id of the key new values are sealed with.
    pub fn primary_id(&self) -> KeyId {
        self.primary.id()
    }

    /// Encrypts `plaintext` with the primary key and a fresh random nonce.
    pub fn seal(&self, plaintext: &str) -> String {
        envelope::seal(&self.primary, plaintext.as_bytes())
    }

    /// Opens a sealed value with whichever configured key sealed it.
    pub fn open(&self, sealed: &str) -> Result<String, VaultError> {
        let bytes = self.open_bytes(sealed)?;
        String::from_utf8(bytes).map_err(|_| VaultError::NotText)
    }

    pub fn open_bytes(&self, sealed: &str) -> Result<Vec<u8>, VaultError> {
        let id = key_id_of(sealed)?;
        let key = std::iter::once(&self.primary)
            .chain(&self.old)
            .find(|k| k.id() == id)
            .ok_or(VaultError::UnknownKey(id))?;
        envelope::open(key, sealed)
    }

    /// Whether `sealed` was sealed with another key than the primary (and so
    /// should be re-sealed by a rotation).
    pub fn is_stale(&self, sealed: &str) -> bool {
        key_id_of(sealed).is_ok_and(|id| id != self.primary.id())
    }

    /// Opens with any configured key and seals again with the primary.
    pub fn reseal(&self, sealed: &str) -> Result<String, VaultError> {
        let plain = self.open_bytes(sealed)?;
        Ok(envelope::seal(&self.primary, &plain))
    }
}

#[cfg(test)]
mod tests;
