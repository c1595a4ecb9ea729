//! Input checks that run before a value reaches the database, so bad input
//! gets an [`Error::Invalid`] naming the field instead of a server error (a
//! NUL byte, for instance, is an encoding error in PostgreSQL, not a CHECK).
//! The database repeats the important rules as CHECK constraints.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::error::{Error, Result};

/// Longest email address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;

/// A text field: no NUL byte, between `min` and `max` characters, and
/// when required (`min` > 0) not only whitespace.
pub fn text<'a>(field: &str, value: &'a str, min: usize, max: usize) -> Result<&'a str> {
    if value.contains('\0') {
        return Err(Error::invalid(field, "contains a NUL byte"));
    }
    if min > 0 && !value.is_empty() && value.trim().is_empty() {
        // A required field of only spaces, tabs or newlines is as empty.
        return Err(Error::invalid(field, "must not be blank"));
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

/// An id that was set: not the nil UUID, which is what an id left at its
/// `Default` (or skipped when an input was deserialized) holds, and which
/// no row has.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn id_set(field: &str, id: impl Into<uuid::Uuid>) -> Result<()> {
    if id.into().is_nil() {
        return Err(Error::invalid(field, "is not set (the nil UUID)"));
    }
    Ok(())
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

/// The text a nullable changeset field (`Some(None)` clears the column)
/// sets, for the checks above: `None` when it keeps or clears the column.
pub(crate) fn new_text<'a>(
    value: &'a Option<Option<std::borrow::Cow<'_, str>>>,
) -> Option<&'a str> {
    value.as_ref().and_then(|v| v.as_deref())
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

/// Deepest JSON accepted, in nested arrays and objects (`{}` is depth 1,
/// `{"a": []}` depth 2). Far below serde_json's recursion limit of 128, so
/// whatever is written can be read back, and low enough that code walking
/// the value recursively (Serialize, Drop, a host's own) stays shallow.
pub const JSON_MAX_DEPTH: usize = 32;

/// Largest JSON accepted: 64 KiB of compact JSON text (as `serde_json::to_vec`
/// writes it).
pub const JSON_MAX_BYTES: usize = 64 * 1024;

/// A JSON value that must be an object (`{..}`), as the jsonb CHECKs
/// require, at most [`JSON_MAX_DEPTH`] levels deep and [`JSON_MAX_BYTES`]
/// long, with no NUL character in any key or string (jsonb refuses them).
/// Every JSON input of the crate goes through here before it is written.
///
/// The walk is iterative and stops at the first problem, so a value nested
/// 100,000 levels deep, or holding millions of items, is refused in time
/// proportional to the limits, without recursion.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn json_object(field: &str, value: &serde_json::Value) -> Result<()> {
    if !value.is_object() {
        return Err(Error::invalid(field, "must be a JSON object"));
    }
    json(field, value)
}

/// Any JSON value, checked as [`json_object`] checks an object's contents.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn json(field: &str, value: &serde_json::Value) -> Result<()> {
    use serde_json::Value;
    let too_big = || {
        Error::invalid(
            field,
            format!("is longer than {JSON_MAX_BYTES} bytes of JSON"),
        )
    };
    // (value, its depth): containers count, so `{}` at the top is depth 1.
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    let mut bytes = 0usize;
    while let Some((value, depth)) = stack.pop() {
        bytes += match value {
            Value::Null | Value::Bool(true) => 4,
            Value::Bool(false) => 5,
            Value::Number(n) => display_len(n),
            Value::String(s) => json_string_len(field, s)?,
            Value::Array(items) => {
                if depth + 1 > JSON_MAX_DEPTH {
                    return Err(too_deep(field));
                }
                // Each item takes a byte at least: refuse a huge array
                // before stacking it.
                if items.len() > JSON_MAX_BYTES {
                    return Err(too_big());
                }
                stack.extend(items.iter().map(|v| (v, depth + 1)));
                // brackets and commas
                2 + items.len().saturating_sub(1)
            }
            Value::Object(map) => {
                if depth + 1 > JSON_MAX_DEPTH {
                    return Err(too_deep(field));
                }
                if map.len() > JSON_MAX_BYTES {
                    return Err(too_big());
                }
                let mut keys = 0;
                for (key, v) in map {
                    keys += json_string_len(field, key)? + 1; // and the colon
                    if keys > JSON_MAX_BYTES {
                        return Err(too_big());
                    }
                    stack.push((v, depth + 1));
                }
                keys + 2 + map.len().saturating_sub(1)
            }
        };
        if bytes > JSON_MAX_BYTES {
            return Err(too_big());
        }
    }
    Ok(())
}

fn too_deep(field: &str) -> Error {
    Error::invalid(
        field,
        format!("is nested deeper than {JSON_MAX_DEPTH} levels"),
    )
}

/// Length of a JSON string as serde_json writes it (quotes and escapes
/// included); a NUL is refused.
fn json_string_len(field: &str, s: &str) -> Result<usize> {
    let mut len = 2;
    for c in s.chars() {
        len += match c {
            '\0' => return Err(Error::invalid(field, "contains a NUL character")),
            '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        };
    }
    Ok(len)
}

/// Length of `value`'s Display output, without allocating it.
fn display_len(value: impl Display) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail.
    let _ = std::fmt::write(&mut count, format_args!("{value}"));
    count.0
}

/// Longest duration accepted anywhere (ttls, trials, windows, timeouts):
/// 100 years. `now() + ` any longer one can leave PostgreSQL's timestamp
/// range (`Duration::MAX` is 584 billion years), and none is meaningful.
pub const DURATION_MAX: Duration = Duration::from_secs(36_525 * 86_400);

/// Longest statement timeout PostgreSQL accepts: `i32::MAX` milliseconds
/// (about 24.8 days).
pub const STATEMENT_TIMEOUT_MAX: Duration = Duration::from_millis(i32::MAX as u64);

/// A duration between 1 microsecond (the resolution of a PostgreSQL
/// interval; zero is refused too) and `max` (usually [`DURATION_MAX`]).
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn duration(field: &str, value: Duration, max: Duration) -> Result<Duration> {
    if value.as_micros() == 0 {
        return Err(Error::invalid(field, "must be at least 1 microsecond"));
    }
    if value > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {} seconds", max.as_secs()),
        ));
    }
    Ok(value)
}

/// A number within `range`.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn range<T: PartialOrd + Display + Copy>(
    field: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<T> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            format!(
                "must be between {} and {}, got {value}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// A slug to look up: what [`text`] checks, then the shape every stored
/// slug has (lower-case ASCII letters and digits in words joined by single
/// `-`, at most `max` bytes), so a lookup that cannot match is refused
/// before the database, as the write would have been.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn slug<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str> {
    text(field, value, 1, max)?;
    let well_formed = value.split('-').all(|word| {
        !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if well_formed {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            "is not a slug (a-z and 0-9 in words joined by single '-')",
        ))
    }
}

/// Earliest timestamp accepted: 0001-01-01 00:00:00 UTC.
pub const TIMESTAMP_MIN: DateTime<Utc> = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(date) => date.and_time(NaiveTime::MIN).and_utc(),
    None => DateTime::<Utc>::MIN_UTC,
};

/// Latest timestamp accepted: the end of 9999 (UTC).
pub const TIMESTAMP_MAX: DateTime<Utc> = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => match date.and_hms_micro_opt(23, 59, 59, 999_999) {
        Some(t) => t.and_utc(),
        None => DateTime::<Utc>::MAX_UTC,
    },
    None => DateTime::<Utc>::MAX_UTC,
};

/// A timestamp within years 1 to 9999. chrono reaches further than
/// PostgreSQL in the past (its minimum is a server "timestamp out of
/// range"), and the database adds intervals to stored times (a renewal
/// adds a period), which must stay in range too.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn timestamp(field: &str, value: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if (TIMESTAMP_MIN..=TIMESTAMP_MAX).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            "must be within the years 1 to 9999 (UTC)",
        ))
    }
}
