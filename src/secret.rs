//! Random values, hashes and comparisons for secrets (codes, tokens, client secrets, CSRF).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// 256 random bits, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// 128 random bits, base64url: identifiers that need to be unguessable but not secret.
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The system RNG failing means the OS cannot give us entropy; nothing safe can continue.
    SystemRandom::new()
        .fill(&mut out)
        .expect("operating system random number generator failed");
    out
}

/// SHA-256 of a secret, base64url: what the store keeps instead of the secret.
pub fn hash(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, secret.as_bytes()))
}

/// Compares without leaking through timing where the first differing byte is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// True when `secret` hashes to `expected_hash`, compared in constant time.
pub fn matches_hash(secret: &str, expected_hash: &str) -> bool {
    constant_time_eq(hash(secret).as_bytes(), expected_hash.as_bytes())
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Writes a new file readable only by its owner (0600 on Unix), creating its directory.
/// Fails if the file exists: a secret is never overwritten.
pub fn write_private_file(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn hash_matches_only_its_secret() {
        let h = hash("s3cret");
        assert!(matches_hash("s3cret", &h));
        assert!(!matches_hash("s3cres", &h));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
