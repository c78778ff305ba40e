//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits,
//! 30-second steps, the current step and one on either side accepted. A step, once used, is
//! never accepted again for the same user (the caller records the last step used).

use ring::hmac;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, RFC 4226 §4's recommendation).
pub const SECRET_LEN: usize = 20;

/// The HOTP value of `secret` at `counter` (RFC 4226 §5.3), as `DIGITS` decimal digits.
pub fn code(secret: &[u8], counter: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step `now` falls in.
pub fn step_at(now: i64) -> i64 {
    now.div_euclid(STEP)
}

/// The step `given` is the code of: the current one or one on either side (clock drift),
/// later than `last_used` (a code works once), compared in constant time. None otherwise.
pub fn matching_step(secret: &[u8], given: &str, now: i64, last_used: Option<i64>) -> Option<i64> {
    let given = given.trim().replace(' ', "");
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let matches =
            crate::secret::constant_time_eq(code(secret, counter).as_bytes(), given.as_bytes());
        if matches && last_used.is_none_or(|last| step > last) {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of a base32 secret (as `base32` writes it; case, spaces and padding ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !matches!(c, ' ' | '=')) {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads from the QR code (Key Uri Format).
pub fn otpauth_uri(issuer_name: &str, account: &str, secret: &[u8]) -> String {
    let escape = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // In the label a space is %20, not '+'.
    let label = format!("{}:{}", escape(issuer_name), escape(account)).replace('+', "%20");
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        base32(secret),
        escape(issuer_name).replace('+', "%20"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 vectors (8 digits there; the last 6 here).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            let counter = u64::try_from(step_at(time)).unwrap();
            assert_eq!(code(secret, counter), eight[2..], "T = {time}");
        }
    }

    #[test]
    fn a_code_is_good_for_its_step_and_its_neighbours_once() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111;
        let current = step_at(now);
        let code_of = |step: i64| code(secret, u64::try_from(step).unwrap());
        assert_eq!(
            matching_step(secret, &code_of(current), now, None),
            Some(current)
        );
        assert_eq!(
            matching_step(secret, &code_of(current - 1), now, None),
            Some(current - 1)
        );
        assert_eq!(
            matching_step(secret, &code_of(current + 1), now, None),
            Some(current + 1)
        );
        assert_eq!(
            matching_step(secret, &code_of(current - 2), now, None),
            None
        );
        assert_eq!(
            matching_step(secret, &code_of(current + 2), now, None),
            None
        );
        // Used: neither it nor an earlier step works again.
        assert_eq!(
            matching_step(secret, &code_of(current), now, Some(current)),
            None
        );
        assert_eq!(
            matching_step(secret, &code_of(current - 1), now, Some(current)),
            None
        );
        assert_eq!(matching_step(secret, "12345", now, None), None);
        assert_eq!(matching_step(secret, "abcdef", now, None), None);
        let spaced = format!("{} {}", &code_of(current)[..3], &code_of(current)[3..]);
        assert_eq!(matching_step(secret, &spaced, now, None), Some(current));
    }

    #[test]
    fn base32_and_the_otpauth_uri() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(base32_decode("mzxw6ytboi").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(
            base32_decode("MZXW 6YTB OI==").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("M1"), None);
        assert_eq!(
            otpauth_uri("Tessera", "alice@example.com", b"12345678901234567890"),
            "otpauth://totp/Tessera:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tessera&algorithm=SHA1&digits=6&period=30"
        );
    }
}
