//! The key-encryption key: private signing keys are stored sealed under it with AES-256-GCM,
//! the kid as associated data so a sealed key cannot be swapped onto another row.

use std::fmt;
use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use zeroize::{Zeroize, Zeroizing};

use super::KeyError;
use crate::secret::{b64url, b64url_decode, random_bytes, write_private_file};

pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl MasterKey {
    /// Parses 32 bytes given as 64 hex digits or 43 base64url characters.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bad = |msg: String| KeyError::MasterKey(msg);
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| bad("master key is not valid hex".into()))?
        } else {
            b64url_decode(text)
                .ok_or_else(|| bad("master key is neither 64 hex digits nor base64url".into()))?
        };
        let bytes = Zeroizing::new(bytes);
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| bad(format!("master key must be 32 bytes, got {}", bytes.len())))?;
        Ok(Self(key))
    }

    /// Reads the key file, creating it (mode 0600) with a fresh random key when absent.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let bad = |msg: String| KeyError::MasterKey(msg);
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| bad(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self(random_bytes::<32>());
                write_private_file(path, format!("{}\n", b64url(&key.0)).as_bytes()).map_err(
                    |e| bad(format!("cannot create master key {}: {e}", path.display())),
                )?;
                tracing::info!(path = %path.display(), "created a new master key");
                Ok(key)
            }
            Err(e) => Err(bad(format!(
                "cannot read master key {}: {e}",
                path.display()
            ))),
        }
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always a valid AES-256 key.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.0).expect("32-byte AES key"))
    }

    /// nonce || ciphertext || tag, base64url.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> String {
        let nonce = random_bytes::<NONCE_LEN>();
        let mut buffer = Zeroizing::new(plaintext.to_vec());
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut *buffer,
            )
            .expect("AES-GCM sealing of a small buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        b64url(&out)
    }

    pub fn open(&self, kid: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let bad = |msg: &str| KeyError::Sealed(format!("key {kid}: {msg}"));
        let bytes = b64url_decode(sealed).ok_or_else(|| bad("sealed key is not base64url"))?;
        if bytes.len() < NONCE_LEN {
            return Err(bad("sealed key is too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad("bad nonce"))?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plain_len = self
            .aead()
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| {
                KeyError::Sealed(format!(
                    "cannot decrypt key {kid}: wrong master key or tampered row"
                ))
            })?
            .len();
        buffer.truncate(plain_len);
        Ok(buffer)
    }

    /// A stable secret derived for one purpose (e.g. the demo client's secret), so it can be
    /// printed again on every start without being stored.
    pub fn derive(&self, purpose: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        b64url(hmac::sign(&key, purpose.as_bytes()).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_kid_and_key() {
        let key = MasterKey::parse(&"ab".repeat(32)).unwrap();
        let sealed = key.seal("kid-1", b"private");
        assert_eq!(key.open("kid-1", &sealed).unwrap().as_slice(), b"private");
        assert!(key.open("kid-2", &sealed).is_err());
        let other = MasterKey::parse(&"cd".repeat(32)).unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
        assert!(MasterKey::parse("short").is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn key_file_is_created_private_and_reread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/master.key");
        let first = MasterKey::load_or_create(&path).unwrap();
        let again = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(first.derive("x"), again.derive("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
