//! Serde helpers shared by the web-facing types: types that travel as text
//! (cursors) deserialize through their `FromStr`, `XChanges` fields of
//! type `Option<Option<T>>` keep "absent" apart from `null`, and the input
//! structs' `Cow<'a, str>` fields borrow from the input also inside an
//! `Option` or a `Vec` (serde borrows a bare `#[serde(borrow)] Cow<str>`
//! but deserializes one inside a container as an owned copy).

use std::borrow::Cow;
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

/// For `#[serde(default, borrow, deserialize_with = "..")]` on an
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

/// Text borrowed from the input when it holds no escape, an owned copy when
/// it does (the unescaped text has to be written somewhere).
#[derive(Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// For `#[serde(default, borrow, deserialize_with = "..")]` on an
/// `Option<Cow<'a, str>>` field: borrows like a bare `Cow<'a, str>` field.
pub(crate) fn opt_text<'de: 'a, 'a, D>(deserializer: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<Text<'a>>::deserialize(deserializer)?.map(|t| t.0))
}

/// [`double_option`] for an `Option<Option<Cow<'a, str>>>` field, borrowing
/// as [`opt_text`] does.
pub(crate) fn double_opt_text<'de: 'a, 'a, D>(
    deserializer: D,
) -> Result<Option<Option<Cow<'a, str>>>, D::Error>
where
    D: Deserializer<'de>,
{
    opt_text(deserializer).map(Some)
}

/// For `#[serde(default, borrow, deserialize_with = "..")]` on a
/// `Vec<Cow<'a, str>>` field, each item borrowing as [`opt_text`] does.
pub(crate) fn text_list<'de: 'a, 'a, D>(deserializer: D) -> Result<Vec<Cow<'a, str>>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Vec::<Text<'a>>::deserialize(deserializer)?
        .into_iter()
        .map(|t| t.0)
        .collect())
}

/// [`text_list`] for an `Option<Vec<Cow<'a, str>>>` field.
pub(crate) fn opt_text_list<'de: 'a, 'a, D>(
    deserializer: D,
) -> Result<Option<Vec<Cow<'a, str>>>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<Vec<Text<'a>>>::deserialize(deserializer)?
        .map(|items| items.into_iter().map(|t| t.0).collect()))
}
