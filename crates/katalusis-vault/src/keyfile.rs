//! Key files: base64 text of 32 bytes, readable only by the owner.

use std::io::Write;
use std::path::Path;

use crate::{Key, VaultError};

/// Reads a key file.
pub fn read(path: &Path) -> Result<Key, VaultError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| VaultError::InvalidKey(format!("cannot read {}: {e}", path.display())))?;
    Key::from_base64(&text).map_err(|e| VaultError::InvalidKey(format!("{}: {e}", path.display())))
}

/// Returns the key in `path`, creating the file with a new random key (mode
/// 0600, parent directories as needed) when it does not exist. The bool is
/// true when the key was just created.
pub fn read_or_create(path: &Path) -> Result<(Key, bool), VaultError> {
    if path.exists() {
        return read(path).map(|k| (k, false));
    }
    let io = |e: std::io::Error| {
        VaultError::InvalidKey(format!("cannot create {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let (key, text) = Key::generate();
    let mut opts = std::fs::OpenOptions::new();
    // create_new: two processes starting at once cannot both write a key.
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes()).map_err(io)?;
            f.write_all(b"\n").map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path).map(|k| (k, false)),
        Err(e) => Err(io(e)),
    }
}
