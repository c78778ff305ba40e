//! Wire names of enums: the one mapping between a variant and the string the protocols, the
//! database and the CLI use for it.

/// Implements `as_str`, `Display` and `FromStr` for a fieldless enum from a variant → name list.
macro_rules! wire_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::str::FromStr for $ty {
            type Err = $crate::wire::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    other => Err($crate::wire::UnknownName {
                        got: other.chars().take(60).collect(),
                        expected: &[$($name),+],
                    }),
                }
            }
        }
    };
}
pub(crate) use wire_names;

/// A string that names no variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value '{got}' (expected one of: {})", expected.join(", "))]
pub struct UnknownName {
    pub got: String,
    pub expected: &'static [&'static str],
}
