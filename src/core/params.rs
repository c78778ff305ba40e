//! Request parameters, bounded in number and size, with repeated names refused (RFC 6749 §3.1).

use super::error::OAuthError;

const MAX_PARAMS: usize = 64;
const MAX_VALUE_LEN: usize = 4096;
const MAX_NAME_LEN: usize = 128;

pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Self, OAuthError> {
        if pairs.len() > MAX_PARAMS {
            return Err(OAuthError::invalid_request("too many parameters"));
        }
        for (i, (name, value)) in pairs.iter().enumerate() {
            if value.len() > MAX_VALUE_LEN || name.len() > MAX_NAME_LEN {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' is too long",
                    truncate(name)
                )));
            }
            // No identifier, secret or URI has one, and PostgreSQL text cannot hold it.
            if name.contains('\0') || value.contains('\0') {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' contains a NUL character",
                    truncate(&name.replace('\0', ""))
                )));
            }
            if pairs[..i].iter().any(|(other, _)| other == name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{}' is repeated",
                    truncate(name)
                )));
            }
        }
        Ok(Self(pairs))
    }

    /// Parses `application/x-www-form-urlencoded` bytes (a query string or a form body).
    pub fn from_urlencoded(bytes: &[u8]) -> Result<Self, OAuthError> {
        Self::parse(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// A parameter's value; an empty value counts as absent (OIDC Core §3.1.2.1 via RFC 6749).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Form-encodes the parameters.
    pub fn to_urlencoded(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.0)
            .finish()
    }

    /// The parameters but those named in `names`.
    pub fn without(&self, names: &[&str]) -> Self {
        let kept = self.0.iter().filter(|(n, _)| !names.contains(&n.as_str()));
        Self(kept.cloned().collect())
    }

    /// Adds a parameter the request did not have.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A parameter that must be there.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// At most 40 characters of untrusted text, escaped, for an error description.
pub fn truncate(text: &str) -> String {
    text.chars()
        .take(40)
        .collect::<String>()
        .escape_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_oversized_and_empty_parameters() {
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert!(Params::parse(pairs(&[("a", "1"), ("a", "2")])).is_err());
        assert!(Params::parse(pairs(&[("a", &"x".repeat(4097))])).is_err());
        assert!(Params::parse(vec![("k".into(), "v".into()); 65]).is_err());
        let p = Params::from_urlencoded(b"a=&b=2&c=%20").unwrap();
        assert_eq!(
            (p.get("a"), p.get("b"), p.get("c")),
            (None, Some("2"), Some(" "))
        );
        assert!(p.required("a").is_err());
    }

    #[test]
    fn nul_characters_are_refused_in_names_and_values() {
        for query in [&b"client_id=a%00b"[..], b"a%00=1"] {
            let err = Params::from_urlencoded(query).err().unwrap();
            assert!(err.description.contains("NUL"), "{}", err.description);
        }
    }
}
