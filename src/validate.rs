//! Input checks that run before a value reaches the database, so bad input
//! gets an [`Error::Invalid`] naming the field instead of a server error (a
//! NUL byte, for instance, is an encoding error in PostgreSQL, not a CHECK).
//! The database repeats the important rules as CHECK constraints.

use crate::error::{Error, Result};

/// Longest email address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;

/// A text field: no NUL byte, between `min` and `max` characters.
pub fn text<'a>(field: &str, value: &'a str, min: usize, max: usize) -> Result<&'a str> {
    if value.contains('\0') {
        return Err(Error::invalid(field, "contains a NUL byte"));
    }
    let len = value.chars().count();
    if len < min {
        return Err(Error::invalid(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(Error::invalid(
            field,
            format!("is {len} characters, at most {max} allowed"),
        ));
    }
    Ok(value)
}

/// An optional text field (`None` passes).
pub fn opt_text<'a>(
    field: &str,
    value: Option<&'a str>,
    min: usize,
    max: usize,
) -> Result<Option<&'a str>> {
    value.map(|v| text(field, v, min, max)).transpose()
}

/// An email address as stored: NFKC, trimmed, lower-cased, the domain in
/// its ASCII (IDNA) form; see [`crate::identity::email`], which also gives
/// the look-alike key.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn email(field: &str, value: &str) -> Result<String> {
    crate::identity::email(field, value).map(|e| e.address)
}

/// A username: NFKC, then 3 to 40 ASCII letters, digits, `_`, `.` and `-`;
/// see [`crate::identity::username`].
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn username<'a>(field: &str, value: &'a str) -> Result<std::borrow::Cow<'a, str>> {
    crate::identity::username(field, value)
}

/// A language tag such as `en`, `pt-BR` or `zh_Hant`.
pub fn locale<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    text(field, value, 2, 35)?;
    let mut parts = value.split(['-', '_']);
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            "is not a language tag such as en or pt-BR",
        ))
    }
}

/// An http(s) URL of at most 2,048 characters.
pub fn url<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    text(field, value, 1, 2048)?;
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && !value.contains(char::is_whitespace);
    if ok {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            "must be an http(s) URL without spaces",
        ))
    }
}

/// A SQL identifier we are about to put into a statement where it cannot be
/// bound (a schema or database name): lower-case letters, digits and `_`,
/// starting with a letter or `_`, at most 63 bytes. Anything else is refused,
/// so the identifier needs no escaping beyond the double quotes we add.
pub fn identifier(field: &str, value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(format!("\"{value}\""))
    } else {
        Err(Error::invalid(
            field,
            "must be 1-63 of a-z, 0-9 and _, not starting with a digit",
        ))
    }
}

/// An IANA time zone name such as `UTC` or `America/New_York` (shape only).
pub fn timezone<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    text(field, value, 1, 64)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
    {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            "is not a time zone name such as Europe/Paris",
        ))
    }
}

/// A JSON value that must be an object (`{..}`), as the jsonb CHECKs
/// require, with no NUL character in any key or string (jsonb refuses them).
pub fn json_object(field: &str, value: &serde_json::Value) -> Result<()> {
    fn has_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(has_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(k, v)| k.contains('\0') || has_nul(v))
            }
            _ => false,
        }
    }
    if !value.is_object() {
        return Err(Error::invalid(field, "must be a JSON object"));
    }
    if has_nul(value) {
        return Err(Error::invalid(field, "contains a NUL character"));
    }
    Ok(())
}
