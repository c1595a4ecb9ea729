//! [`ConnUrl`]: a connection string whose `Debug` never shows the password.

use std::fmt;

const REDACTED: &str = "<redacted>";

/// A libpq connection string, URI (`postgres://user:pw@host/db?password=..`)
/// or key/value (`host=.. password='..'`). `Debug` prints it with every
/// password replaced by `<redacted>`; a string that cannot be parsed is
/// redacted whole.
#[derive(Clone)]
pub(crate) struct ConnUrl(pub(crate) String);

impl fmt::Debug for ConnUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact(&self.0), f)
    }
}

/// `url` with its passwords replaced by `<redacted>`.
pub(crate) fn redact(url: &str) -> String {
    let scheme = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|s| url.starts_with(s));
    match scheme {
        Some(scheme) => redact_uri(scheme, &url[scheme.len()..]),
        None => redact_key_value(url).unwrap_or_else(|| REDACTED.to_owned()),
    }
}

/// `user:password@` before the host, and `password=` among the parameters.
fn redact_uri(scheme: &str, rest: &str) -> String {
    // libpq ends the user part at the first '@' or '/', so a '?' may be part
    // of a password: the user part runs to the last '@' before the first
    // '/' (an unencoded '@' in a password would move the boundary too), and
    // only what follows it can hold the parameters.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (user, after_user) = match rest[..authority_end].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at..]),
        None => (None, rest),
    };
    let (main, query) = match after_user.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (after_user, None),
    };
    let mut out = scheme.to_owned();
    match user.map(|user| user.split_once(':')) {
        Some(Some((name, _))) => {
            out.push_str(name);
            out.push(':');
            out.push_str(REDACTED);
        }
        Some(None) => out.push_str(user.unwrap_or_default()),
        None => {}
    }
    out.push_str(main);
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if percent_decode(key) == "password" => {
                    format!("{key}={REDACTED}")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        });
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's `keyword = value` pairs, values bare or single-quoted with
/// backslash escapes. `None` when it does not parse.
fn redact_key_value(text: &str) -> Option<String> {
    let mut pairs = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace())?;
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start().strip_prefix('=')?.trim_start();
        let value_end = value_len(rest)?;
        let value = &rest[..value_end];
        rest = rest[value_end..].trim_start();
        pairs.push(if key == "password" {
            format!("{key}={REDACTED}")
        } else {
            format!("{key}={value}")
        });
    }
    Some(pairs.join(" "))
}

/// Length in bytes of the value at the start of `text`.
fn value_len(text: &str) -> Option<usize> {
    let quoted = text.starts_with('\'');
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(usize::from(quoted)) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '\'' if quoted => return Some(i + 1),
            c if !quoted && c.is_whitespace() => return Some(i),
            _ => {}
        }
    }
    (!quoted && !escaped).then_some(text.len())
}
