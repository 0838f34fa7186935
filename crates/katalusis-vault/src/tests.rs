use super::*;

fn key(n: u8) -> Key {
    Key::from_bytes(&[n; 32])
}

#[test]
fn sealed_value_round_trips() {
    let ring = Keyring::new(key(1), vec![]);
    let sealed = ring.seal("hunter2 ünïcode");
    assert!(is_sealed(&sealed));
    assert!(!sealed.contains("hunter2"));
    assert_eq!(ring.open(&sealed).unwrap(), "hunter2 ünïcode");
    assert_eq!(ring.open(&ring.seal("")).unwrap(), "");
}

#[test]
fn every_seal_uses_a_fresh_nonce() {
    let ring = Keyring::new(key(1), vec![]);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let sealed = ring.seal("same");
        let b64 = sealed.rsplit(':').next().unwrap();
        let data = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
        assert!(seen.insert(data[..12].to_vec()), "nonce repeated");
    }
}

#[test]
fn tampered_ciphertext_is_refused() {
    let ring = Keyring::new(key(1), vec![]);
    let sealed = ring.seal("secret");
    let id = ring.primary_id();
    let head = format!("{ENVELOPE_PREFIX}{id}:");
    let mut data = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &sealed[head.len()..],
    )
    .unwrap();
    for i in [0, 12, data.len() - 1] {
        data[i] ^= 1;
        let forged = head.clone()
            + &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data);
        assert_eq!(ring.open(&forged), Err(VaultError::Undecryptable(id)));
        data[i] ^= 1;
    }
    assert_eq!(ring.open("plain text"), Err(VaultError::Malformed));
    assert!(ring.open(&sealed[..sealed.len() - 8]).is_err());
    assert!(ring.open(&sealed[..head.len() + 10]).is_err());
}

#[test]
fn relabelled_ciphertext_is_refused() {
    // Same key material under two ids is impossible, so relabel to a key that exists.
    let a = key(1);
    let b = key(2);
    let ring = Keyring::new(a.clone(), vec![b.clone()]);
    let sealed = ring.seal("x");
    let relabelled = sealed.replace(&a.id().to_string(), &b.id().to_string());
    assert_eq!(
        ring.open(&relabelled),
        Err(VaultError::Undecryptable(b.id()))
    );
}

#[test]
fn wrong_key_names_the_missing_key() {
    let sealed = Keyring::new(key(1), vec![]).seal("x");
    let other = Keyring::new(key(2), vec![]);
    assert_eq!(
        other.open(&sealed),
        Err(VaultError::UnknownKey(key(1).id()))
    );
}

#[test]
fn rotation_reseals_with_the_new_key_and_old_key_is_then_unneeded() {
    let old = Keyring::new(key(1), vec![]);
    let sealed = old.seal("pw");
    let rotating = Keyring::new(key(2), vec![key(1)]);
    assert!(rotating.is_stale(&sealed));
    let resealed = rotating.reseal(&sealed).unwrap();
    assert!(!rotating.is_stale(&resealed));
    let after = Keyring::new(key(2), vec![]);
    assert_eq!(after.open(&resealed).unwrap(), "pw");
    assert!(after.open(&sealed).is_err());
}

#[test]
fn keys_parse_from_base64_of_32_bytes_only() {
    let (k, text) = Key::generate();
    assert_eq!(
        Key::from_base64(&format!(" {text}\n")).unwrap().id(),
        k.id()
    );
    assert!(matches!(
        Key::from_base64("c2hvcnQ="),
        Err(VaultError::InvalidKey(_))
    ));
    assert!(matches!(
        Key::from_base64("not base64!"),
        Err(VaultError::InvalidKey(_))
    ));
}

#[test]
fn debug_output_shows_no_key_material() {
    let k = key(7);
    let shown = format!("{k:?} {:?}", Keyring::new(k.clone(), vec![key(8)]));
    assert!(shown.contains(&k.id().to_string()));
    assert!(!shown.contains("7, 7"), "{shown}");
    assert!(!shown.to_lowercase().contains("0707"), "{shown}");
}

#[cfg(unix)]
#[test]
fn dev_key_file_is_created_once_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("kvault-{}", std::process::id()));
    let path = dir.join("sub/secret.key");
    let (a, created) = keyfile::read_or_create(&path).unwrap();
    assert!(created);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (b, created) = keyfile::read_or_create(&path).unwrap();
    assert!(!created);
    assert_eq!(a.id(), b.id());
    std::fs::remove_dir_all(dir).unwrap();
}
