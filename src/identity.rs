//! What people see of an account, its email address and username, brought
//! to one spelling, so that an address cannot be registered twice under
//! different code points, nor imitated with look-alike letters of another
//! script. Every place that accepts an email (users, invitations,
//! verification tokens, sign-in) goes through [`email`]; usernames through
//! [`username`].
//!
//! The rules (the README's users and security sections say the same):
//!
//! - **One spelling.** Unicode NFKC first, then lower case: a fullwidth
//!   `ａlice` is `alice`. The domain goes through IDNA (UTS #46) and is kept
//!   in its ASCII form (`bücher.example` is stored `xn--bcher-kva.example`),
//!   which is the form DNS and mail servers use.
//! - **No mixed scripts in one part.** The local part and each label of the
//!   domain must each stay within UTS #39's "moderately restrictive" level:
//!   one script, or Latin with one other script that is not Cyrillic or
//!   Greek (Chinese, Japanese and Korean mixes count as one). `exаmple` with
//!   a Cyrillic `а` is refused; so is `pаypal`. There is no opt-out.
//! - **One account per look-alike.** The database keeps one user per
//!   confusable skeleton (UTS #39) of the address, so an all-Cyrillic `асе`
//!   (which passes the rule above) cannot register next to `ace`: whoever
//!   comes second gets [`crate::Error::Conflict`] on
//!   `users_email_skeleton_key`. ASCII characters are kept as they are:
//!   `rn` and `m`, or `1` and `l`, are different mailboxes, and refusing
//!   `userl@` because `user1@` exists would lock real people out.
//! - **No quoted local parts.** `"alice"@example.com` is the mailbox
//!   `alice@example.com`, so it is refused rather than stored as another.
//! - **Usernames are ASCII** handles (letters, digits, `_`, `.`, `-`),
//!   after NFKC: a fullwidth `ａｌｉｃｅ` is the username `alice`, a Cyrillic or
//!   Japanese one is refused, so a username has no look-alike in another
//!   script by construction. Uniqueness ignores case, as before.

use std::borrow::Cow;

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};
use unicode_security::{skeleton, RestrictionLevel, RestrictionLevelDetection};

use crate::error::{Error, Result};
use crate::validate::{self, EMAIL_MAX};

/// Longest username.
pub const USERNAME_MAX: usize = 40;

/// An email address as stored, with the key the database keeps unique
/// among users to refuse look-alikes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// NFKC, lower case, the domain in ASCII (IDNA).
    pub address: String,
    /// The confusable skeleton, or `None` when it is the address itself
    /// (every plain ASCII address): the unique index is on
    /// `COALESCE(email_skeleton, email)`.
    pub skeleton: Option<String>,
}

/// Normalises and checks an email address; see the module docs.
///
/// # Errors
/// [`Error::Invalid`] naming `field`: a NUL byte, too long, malformed, a
/// domain IDNA refuses, or scripts mixed within one part.
pub fn email(field: &str, value: &str) -> Result<Email> {
    let normalised = nfkc_lower(field, value, EMAIL_MAX)?;
    let normalised = validate::text(field, normalised.trim(), 3, EMAIL_MAX)?;
    let malformed = || Error::invalid(field, "is not a well-formed email address");
    let (local, domain) = normalised.rsplit_once('@').ok_or_else(malformed)?;
    // `"alice"@example.com` is the mailbox `alice@example.com` (RFC 5321):
    // a quoted local part would be a second spelling of the same address.
    if local.contains('"') {
        return Err(Error::invalid(field, "may not have a quoted local part"));
    }
    let ascii_domain = idna::domain_to_ascii(domain).map_err(|_| {
        Error::invalid(
            field,
            "has a domain that is not a valid internationalised domain name",
        )
    })?;
    let address = format!("{local}@{ascii_domain}");
    validate::text(field, &address, 3, EMAIL_MAX)?;
    if !email_address::EmailAddress::is_valid(&address) || address.contains(char::is_whitespace) {
        return Err(malformed());
    }
    let (unicode_domain, _) = idna::domain_to_unicode(&ascii_domain);
    for part in std::iter::once(local).chain(unicode_domain.split('.')) {
        single_script(field, part)?;
    }
    let key = format!("{}@{}", skeleton_key(local), skeleton_key(&unicode_domain));
    Ok(Email {
        skeleton: (key != address).then_some(key),
        address,
    })
}

/// Normalises (NFKC) and checks a username: 3 to 40 ASCII letters, digits,
/// `_`, `.` and `-`. Case is kept; uniqueness ignores it.
///
/// # Errors
/// [`Error::Invalid`] naming `field`.
pub fn username<'a>(field: &str, value: &'a str) -> Result<Cow<'a, str>> {
    let normalised = nfkc(field, value, USERNAME_MAX)?;
    validate::text(field, &normalised, 3, USERNAME_MAX)?;
    if !normalised
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(Error::invalid(
            field,
            "may only contain ASCII letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(normalised)
}

/// The form a username is compared in: NFKC, lower case (for lookups; no
/// checks beyond a NUL byte and the length).
///
/// # Errors
/// [`Error::Invalid`] naming `field` for a NUL byte or an overlong value.
pub(crate) fn username_key(field: &str, value: &str) -> Result<String> {
    nfkc_lower(field, value, USERNAME_MAX)
}

/// NFKC of `value`, borrowed when it already is (the common case). The raw
/// length is bounded first, so a megabyte of input is refused before any
/// work: NFKC never needs more than 8 bytes of input per character of a
/// value that fits `max` characters.
fn nfkc<'a>(field: &str, value: &'a str, max: usize) -> Result<Cow<'a, str>> {
    if value.len() > max * 8 {
        return Err(Error::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(match is_nfkc_quick(value.chars()) {
        IsNormalized::Yes => Cow::Borrowed(value),
        _ => Cow::Owned(value.nfkc().collect()),
    })
}

/// NFKC, then lower case, then NFKC again (lower-casing can leave a string
/// that is not normalised), so that normalising twice changes nothing.
fn nfkc_lower(field: &str, value: &str, max: usize) -> Result<String> {
    let lower = nfkc(field, value, max)?.to_lowercase();
    Ok(match nfkc(field, &lower, max)? {
        Cow::Borrowed(_) => lower,
        Cow::Owned(again) => again,
    })
}

/// Refuses a part of an address that mixes scripts beyond UTS #39's
/// moderately restrictive level. Only letters count: digits and punctuation
/// belong to every script.
fn single_script(field: &str, part: &str) -> Result<()> {
    let letters: String = part.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.as_str().detect_restriction_level() <= RestrictionLevel::ModeratelyRestrictive {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("mixes scripts that look alike (such as Latin and Cyrillic) in '{part}'"),
        ))
    }
}

/// The UTS #39 skeleton of the non-ASCII runs of `value`, ASCII kept as it
/// is, in lower case: `аdmin` (Cyrillic `а`) becomes `admin`.
fn skeleton_key(value: &str) -> String {
    let mut key = String::with_capacity(value.len());
    let mut run = String::new();
    for c in value.chars() {
        if c.is_ascii() {
            key.extend(skeleton(&run));
            run.clear();
            key.push(c);
        } else {
            run.push(c);
        }
    }
    key.extend(skeleton(&run));
    key.to_lowercase()
}
