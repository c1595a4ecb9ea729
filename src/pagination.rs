//! Keyset pagination for every listing: [`PageRequest`] in, [`Page<T>`] out,
//! opaque [`Cursor`]s in between. No OFFSET anywhere: a page deep in a large
//! table costs what the first page costs.
//!
//! A cursor carries the sort key and the id of the row it points at (the id
//! breaks ties between rows with the same sort key), the listing it belongs
//! to with the parameters it was called with, and a checksum. It is
//! base64url text, safe in a URL. A truncated, altered or foreign cursor
//! (one from another listing, or from the same listing called with other
//! parameters: another author, role, search text, ...) is
//! [`Error::InvalidCursor`], never a panic and never a wrong page. Cursors are
//! integrity-checked, not encrypted or signed: they carry no authority, every
//! listing applies its own filters, so a hand-made cursor can only choose
//! where a listing the caller may read starts.
//!
//! A host pages its own tables the same way, with the same types:
//! [`paginate`] with a [`Keyset::new`] naming the listing (see the README's
//! "Paginating your own tables").

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod cursor;
mod keyset;
mod query;
mod sql;

pub(crate) use cursor::Listing;
pub use cursor::{Cursor, CursorKey};
pub(crate) use keyset::Order;
pub use keyset::{paginate, Keyset, LISTING_NAME_MAX};
pub use sql::{PageLimit, RowCmp};

/// The largest page a listing returns.
pub const MAX_LIMIT: u32 = 1000;

/// The page size of [`PageRequest::default()`], and of a request
/// deserialized without a `limit`.
pub const DEFAULT_LIMIT: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Start {
    First,
    Last,
    After(Cursor),
    Before(Cursor),
}

/// Which page of a listing to load: the first or last `limit` rows, or the
/// `limit` rows after or before a cursor.
///
/// It deserializes from the query parameters `after`, `before` (cursor
/// text, at most one of them) and `limit` (1..=[`MAX_LIMIT`], default
/// [`DEFAULT_LIMIT`]), so a handler can take it straight from a query
/// string (axum's or actix's `Query<PageRequest>`). A tampered cursor, both
/// `after` and `before`, or a limit out of range is a deserialization
/// error (the extractor's 400), never a panic:
///
/// ```
/// use saas_db::PageRequest;
///
/// let page: PageRequest = serde_json::from_str(r#"{"limit": 50}"#).unwrap();
/// assert_eq!(page, PageRequest::first(50));
/// assert_eq!(serde_json::from_str::<PageRequest>("{}").unwrap(), PageRequest::default());
/// assert!(serde_json::from_str::<PageRequest>(r#"{"limit": 0}"#).is_err());
/// assert!(serde_json::from_str::<PageRequest>(r#"{"after": "AAAA"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "query::PageQuery")]
pub struct PageRequest {
    start: Start,
    limit: u32,
}

impl PageRequest {
    /// The first `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self::new(Start::First, limit)
    }
    /// The last `limit` rows (still returned in listing order).
    pub fn last(limit: u32) -> Self {
        Self::new(Start::Last, limit)
    }
    /// The `limit` rows after `cursor` (usually a page's `next_cursor()`).
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        Self::new(Start::After(cursor), limit)
    }
    /// The `limit` rows before `cursor` (usually a page's `prev_cursor()`).
    pub fn before(cursor: Cursor, limit: u32) -> Self {
        Self::new(Start::Before(cursor), limit)
    }
    fn new(start: Start, limit: u32) -> Self {
        PageRequest { start, limit }
    }
    /// The requested page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

impl Default for PageRequest {
    /// The first [`DEFAULT_LIMIT`] rows.
    fn default() -> Self {
        Self::first(DEFAULT_LIMIT)
    }
}

/// One page of a listing, in listing order, with cursors to its neighbours.
///
/// It serializes with the names of its accessors: `{"items": [..],
/// "next_cursor": "..", "prev_cursor": null}` (a cursor as its text), and
/// deserializes from the same, so a client in Rust reads it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    #[serde(rename = "next_cursor")]
    next: Option<Cursor>,
    #[serde(rename = "prev_cursor")]
    prev: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page with no rows and no neighbours.
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            next: None,
            prev: None,
        }
    }
    /// Cursor for the following page, if there is one.
    pub fn next_cursor(&self) -> Option<Cursor> {
        self.next.clone()
    }
    /// Cursor for the preceding page, if there is one.
    pub fn prev_cursor(&self) -> Option<Cursor> {
        self.prev.clone()
    }
    /// Transforms all rows at once (a batch load), keeping the cursors.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn try_map_items<U>(self, f: impl FnOnce(Vec<T>) -> Result<Vec<U>>) -> Result<Page<U>> {
        Ok(Page {
            items: f(self.items)?,
            next: self.next,
            prev: self.prev,
        })
    }
    /// Transforms the rows, keeping the cursors.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            prev: self.prev,
        }
    }
}

/// `Error::Invalid` naming `limit` unless the page size is within
/// 1..=[`MAX_LIMIT`].
pub(crate) fn check_limit(request: &PageRequest) -> Result<()> {
    check_row_limit(i64::from(request.limit))
}

/// `Error::Invalid` naming `limit` unless `limit` is within 1..=[`MAX_LIMIT`]:
/// the one bound on how many rows any call returns at once.
pub(crate) fn check_row_limit(limit: i64) -> Result<()> {
    if !(1..=i64::from(MAX_LIMIT)).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    Ok(())
}
