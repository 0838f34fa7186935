//! `katalusis:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The header
//! (version and key id) is authenticated as associated data, so a ciphertext
//! cannot be relabelled to another key or version.

use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;

use crate::{Key, KeyId, VaultError};

pub const ENVELOPE_PREFIX: &str = "katalusis:v1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Whether `s` looks like a sealed value (it may still fail to open).
pub fn is_sealed(s: &str) -> bool {
    key_id_of(s).is_ok()
}

/// The key id a sealed value names.
pub fn key_id_of(sealed: &str) -> Result<KeyId, VaultError> {
    let rest = sealed
        .strip_prefix(ENVELOPE_PREFIX)
        .ok_or(VaultError::Malformed)?;
    let (id, _) = rest.split_once(':').ok_or(VaultError::Malformed)?;
    KeyId::parse(id).ok_or(VaultError::Malformed)
}

fn header(id: KeyId) -> String {
    format!("{ENVELOPE_PREFIX}{id}:")
}

pub(crate) fn seal(key: &Key, plaintext: &[u8]) -> String {
    // 96-bit random nonces: safe for far more than 2^32 values per key.
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let head = header(key.id());
    let ct = key
        .cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: head.as_bytes(),
            },
        )
        // Only fails for plaintexts beyond GCM's 64 GiB bound.
        .expect("AES-GCM encryption of a bounded value");
    let mut data = Vec::with_capacity(NONCE_LEN + ct.len());
    data.extend_from_slice(&nonce);
    data.extend_from_slice(&ct);
    head + &base64::engine::general_purpose::STANDARD.encode(data)
}

pub(crate) fn open(key: &Key, sealed: &str) -> Result<Vec<u8>, VaultError> {
    let id = key_id_of(sealed)?;
    let head = header(id);
    let data = base64::engine::general_purpose::STANDARD
        .decode(&sealed[head.len()..])
        .map_err(|_| VaultError::Malformed)?;
    if data.len() < NONCE_LEN + TAG_LEN {
        return Err(VaultError::Malformed);
    }
    let (nonce, ct) = data.split_at(NONCE_LEN);
    key.cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: head.as_bytes(),
            },
        )
        .map_err(|_| VaultError::Undecryptable(id))
}
