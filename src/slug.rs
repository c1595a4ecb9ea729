//! Slugs: lower-case ASCII words joined by `-`, as the CHECKs require, and
//! the race-safe way to give a new row a unique one.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::error::{Error, Result};

/// The slug of `text` (unicode transliterated), at most `max` bytes, cut at
/// a word boundary: the words that fit whole are kept. A first word longer
/// than `max` (no boundary to cut at) is cut at `max` bytes. `fallback`
/// when nothing is left.
pub(crate) fn slugify(text: &str, max: usize, fallback: &str) -> String {
    let mut slug = slug::slugify(text);
    if slug.len() > max {
        // `slug` is ASCII, so every byte index is a character boundary.
        let end = if slug.as_bytes()[max] == b'-' {
            max
        } else {
            slug[..max].rfind('-').unwrap_or(max)
        };
        slug.truncate(end);
        slug = slug.trim_end_matches('-').to_owned();
    }
    if slug.is_empty() {
        fallback.to_owned()
    } else {
        slug
    }
}

/// The tables whose rows get unique slugs; each names the statement that
/// finds the largest taken `base-<n>` (table names cannot be bound).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SlugTable {
    Posts,
    Teams,
}

impl SlugTable {
    fn largest_suffixed(self) -> &'static str {
        // The LIKE prefix is an index range (the slug columns sort bytewise,
        // COLLATE "C"); the regex keeps only numeric suffixes.
        match self {
            SlugTable::Posts => {
                "SELECT slug FROM posts WHERE slug LIKE $1 AND slug ~ $2
                  ORDER BY length(slug) DESC, slug DESC LIMIT 1"
            }
            SlugTable::Teams => {
                "SELECT slug FROM teams WHERE slug LIKE $1 AND slug ~ $2
                  ORDER BY length(slug) DESC, slug DESC LIMIT 1"
            }
        }
    }

    fn constraint(self) -> &'static str {
        match self {
            SlugTable::Posts => "posts_slug_key",
            SlugTable::Teams => "teams_slug_key",
        }
    }
}

/// Inserts before a collision is reported; each retry follows a writer that
/// took the previous candidate, so this is reached only under a storm.
const ATTEMPTS: usize = 16;
/// Numeric suffixes above this get a random suffix instead (a title like
/// "x 99999999999999999999" cannot exhaust the suffixes of "x").
const SUFFIX_MAX: u64 = 1_000_000_000;

#[derive(QueryableByName)]
struct SlugRow {
    #[diesel(sql_type = Text)]
    slug: String,
}

/// Runs `insert(conn, candidate)` (an `INSERT .. ON CONFLICT (slug) DO
/// NOTHING`, returning `None` when the slug was taken) with `base`, then
/// `base-2`, `base-3`, ... the next free suffix, until one goes in. A taken
/// candidate does not abort the caller's transaction, and two writers
/// racing for one base both succeed. `base` must be a slug (`[a-z0-9-]`
/// only, so it carries no LIKE or regex syntax).
///
/// # Errors
/// What `insert` returns; [`Error::Conflict`] after 16 taken candidates.
pub(crate) fn insert_with_unique_slug<T>(
    conn: &mut PgConnection,
    table: SlugTable,
    base: &str,
    mut insert: impl FnMut(&mut PgConnection, &str) -> Result<Option<T>>,
) -> Result<T> {
    let mut candidate = base.to_owned();
    for _ in 0..ATTEMPTS {
        if let Some(row) = insert(conn, &candidate)? {
            return Ok(row);
        }
        let next = next_candidate(conn, table, base)?;
        // A slug we cannot see (Row-Level Security) looks free but is not:
        // fall back to a random suffix rather than retrying the same one.
        candidate = if next == candidate {
            format!("{base}-{:08x}", rand::random::<u32>())
        } else {
            next
        };
    }
    Err(Error::Conflict {
        constraint: table.constraint().into(),
    })
}

/// `base-<n+1>` after the largest visible `base-<n>` (`base-2` when only
/// `base` is taken).
fn next_candidate(conn: &mut PgConnection, table: SlugTable, base: &str) -> Result<String> {
    let taken: Option<SlugRow> = diesel::sql_query(table.largest_suffixed())
        .bind::<Text, _>(format!("{base}-%"))
        .bind::<Text, _>(format!("^{base}-[0-9]+$"))
        .get_result(conn)
        .optional()?;
    let largest = taken.map_or(Some(1), |row| {
        row.slug[base.len() + 1..].parse::<u64>().ok()
    });
    Ok(match largest {
        Some(n) if n < SUFFIX_MAX => format!("{base}-{}", (n + 1).max(2)),
        _ => format!("{base}-{:08x}", rand::random::<u32>()),
    })
}
