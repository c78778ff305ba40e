//! HTTPS: a rustls server configuration from PEM files, and a self-signed localhost
//! certificate for trying https locally (`tessera dev-cert`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::secret::write_private_file;

/// Why HTTPS cannot be set up; the message names the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<ServerConfig, TlsError> {
    let fail = TlsError;
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            fail(format!(
                "cannot read TLS certificate {}: {e}",
                cert_path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(fail(format!("no certificate in {}", cert_path.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        fail(format!(
            "cannot read TLS private key {}: {e}",
            key_path.display()
        ))
    })?;
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| fail(format!("TLS certificate and key do not fit together: {e}")))
}

/// Writes `dev-cert.pem` and `dev-key.pem` (0600) for localhost and 127.0.0.1 into `dir`,
/// replacing an earlier pair.
pub fn dev_cert(dir: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| TlsError(format!("dev certificate: {e}")))?;
    let cert_path = dir.join("dev-cert.pem");
    let key_path = dir.join("dev-key.pem");
    let cannot_write =
        |path: &Path, e: std::io::Error| TlsError(format!("cannot write {}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(|e| cannot_write(dir, e))?;
    std::fs::write(&cert_path, certified.cert.pem()).map_err(|e| cannot_write(&cert_path, e))?;
    match std::fs::remove_file(&key_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(cannot_write(&key_path, e));
        }
        _ => {}
    }
    write_private_file(&key_path, certified.signing_key.serialize_pem().as_bytes())
        .map_err(|e| cannot_write(&key_path, e))?;
    Ok((cert_path, key_path))
}
