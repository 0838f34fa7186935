//! HTTPS with rustls (ring; no OpenSSL): the certificate from PEM files or a
//! generated development certificate, HTTP/2 and HTTP/1.1 offered by ALPN.

use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::config::TlsSource;

/// A ready server configuration and what to tell the operator about it.
#[derive(Clone)]
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the leaf certificate (DER), as colon-separated hex, the
    /// form browsers and `openssl x509 -fingerprint -sha256` show.
    pub fingerprint: String,
    /// The leaf certificate in PEM (clients of a self-signed server trust it).
    pub cert_pem: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The names a development certificate is valid for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub fn load(source: &TlsSource) -> anyhow::Result<Tls> {
    match source {
        TlsSource::Files { cert, key } => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .with_context(|| format!("KATALUSIS_TLS_CERT: reading {}", cert.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("KATALUSIS_TLS_CERT: {} is not PEM", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
                format!("KATALUSIS_TLS_KEY: no private key in {}", key.display())
            })?;
            let leaf = chain
                .first()
                .context("KATALUSIS_TLS_CERT: the file holds no certificate")?;
            let cert_pem = pem(leaf);
            let fingerprint = fingerprint(leaf);
            Ok(Tls {
                config: server_config(chain, key)?,
                fingerprint,
                cert_pem,
            })
        }
        TlsSource::SelfSigned => self_signed(),
    }
}

/// A fresh certificate for [`SELF_SIGNED_NAMES`] (a new key each start:
/// browsers ask again, which is the point of a development certificate).
pub fn self_signed() -> anyhow::Result<Tls> {
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
    let generated =
        rcgen::generate_simple_self_signed(names).context("generating a certificate")?;
    let leaf = generated.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
    Ok(Tls {
        fingerprint: fingerprint(&leaf),
        cert_pem: generated.cert.pem(),
        config: server_config(vec![leaf], key)?,
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not belong together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn pem(cert: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_loads_back_from_pem_files() {
        let dir = std::env::temp_dir().join(format!("katalusis-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let names: Vec<String> = vec!["localhost".into()];
        let generated = rcgen::generate_simple_self_signed(names).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();
        let tls = load(&TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        })
        .unwrap();
        assert_eq!(tls.fingerprint, fingerprint(generated.cert.der()));
        assert_eq!(tls.fingerprint.len(), 32 * 3 - 1);
        assert_eq!(tls.cert_pem, generated.cert.pem().replace("\r\n", "\n"));
        // A key that does not match the certificate is refused at start.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&key, other.serialize_pem()).unwrap();
        let e = load(&TlsSource::Files { cert, key }).unwrap_err();
        assert!(format!("{e:#}").contains("do not belong together"), "{e:#}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
