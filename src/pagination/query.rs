//! [`PageRequest`] from query parameters: `after`, `before`, `limit`.

use serde::Deserialize;

use super::{check_row_limit, Cursor, PageRequest, DEFAULT_LIMIT};
use crate::error::Error;

/// The query parameters of a listing, as a client sends them; checked into
/// a [`PageRequest`] by `TryFrom`.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    after: Option<Cursor>,
    before: Option<Cursor>,
    limit: Option<u32>,
}

impl TryFrom<PageQuery> for PageRequest {
    type Error = Error;

    fn try_from(query: PageQuery) -> Result<Self, Error> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        check_row_limit(i64::from(limit))?;
        match (query.after, query.before) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "after",
                "give either after or before, not both",
            )),
            (Some(cursor), None) => Ok(PageRequest::after(cursor, limit)),
            (None, Some(cursor)) => Ok(PageRequest::before(cursor, limit)),
            (None, None) => Ok(PageRequest::first(limit)),
        }
    }
}
