//! Serde helpers shared by the web-facing types: types that travel as text
//! (cursors) deserialize through their `FromStr`, `XChanges` fields of
//! type `Option<Option<T>>` keep "absent" apart from `null`.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer};

/// Deserializes a `T` from a string with `T::from_str`; its error's
/// message becomes the deserialization error. `expecting` names the type in
/// the error for a value that is not a string.
pub(crate) fn from_text<'de, D, T>(deserializer: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    struct Text<T>(&'static str, PhantomData<T>);
    impl<T: FromStr> de::Visitor<'_> for Text<T>
    where
        T::Err: fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            text.parse().map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Text(expecting, PhantomData))
}

/// For `#[serde(default, deserialize_with = "..")]` on an
/// `Option<Option<T>>` changeset field: a field that is present is
/// `Some(..)`, so `null` is `Some(None)` (set NULL) while a missing field
/// stays `None` (keep the column). Serde's own `Option<Option<T>>` reads
/// both as `None`.
pub(crate) fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
