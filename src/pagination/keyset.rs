//! How a listing is keyed ([`Keyset`]) and the one function that loads a
//! page of it ([`paginate`]): every listing of ours goes through it, and so
//! can a host's listing of its own tables, with the same cursors.

use diesel::dsl;
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{Query, QueryFragment};
use diesel::query_dsl::methods::{FilterDsl, LoadQuery, OrderDsl};
use uuid::Uuid;

use super::cursor::Listing;
use super::sql::{PageLimit, RowCmp};
use super::{check_limit, Cursor, CursorKey, Page, PageRequest, Start};
use crate::error::Result;
use crate::validate;

/// The longest listing name a host may give [`Keyset::new`], in characters.
pub const LISTING_NAME_MAX: usize = 128;

/// Sort direction of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Asc,
    Desc,
}

/// `(sort, id) > (key, id)` or `<`, with the key and id bound.
type Cmp<S, I, K> = RowCmp<
    S,
    I,
    dsl::AsExprOf<K, <S as Expression>::SqlType>,
    dsl::AsExprOf<Uuid, <I as Expression>::SqlType>,
>;

/// How a listing is keyed: its name and parameters (part of every cursor),
/// the sort column, the tie-breaking uuid column, and the direction.
///
/// A host builds one for its own table with [`Keyset::new`] and loads pages
/// with [`paginate`]. The sort column must be `NOT NULL` (a row comparison
/// with NULL matches nothing) and its Rust type a [`CursorKey`]
/// (`DateTime<Utc>`, `i64`, `i32`, `f32`, `String`); the id column must be
/// a `uuid` that is unique in the listing. An index on `(sort, id)` (or
/// `(filter, sort, id)`) makes every page cost what the first one costs.
#[derive(Debug, Clone)]
pub struct Keyset<S, I> {
    pub(crate) listing: Listing,
    pub(crate) sort: S,
    pub(crate) id: I,
    pub(crate) order: Order,
}

impl<S, I> Keyset<S, I> {
    /// A host listing called `name`, sorted by `sort` then `id`, ascending.
    ///
    /// Its cursors carry `name` (hashed): one listing refuses another's
    /// cursors, and host listings live apart from the crate's own, so a
    /// host listing named `posts.published` still refuses the cursors of
    /// [`PostRepo::published`](crate::content::PostRepo::published).
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) naming `listing` for an
    /// empty or blank name, one longer than [`LISTING_NAME_MAX`]
    /// characters, or one with a NUL.
    pub fn new(name: &str, sort: S, id: I) -> Result<Self> {
        let name = validate::text("listing", name, 1, LISTING_NAME_MAX)?;
        Ok(Keyset {
            listing: Listing::host(name),
            sort,
            id,
            order: Order::Asc,
        })
    }

    /// Sorted ascending (the default): oldest or smallest first.
    pub fn asc(mut self) -> Self {
        self.order = Order::Asc;
        self
    }

    /// Sorted descending: newest or largest first.
    pub fn desc(mut self) -> Self {
        self.order = Order::Desc;
        self
    }

    /// Binds the cursors to one more parameter of the listing (the owner of
    /// "notes by owner", a search text, ...), so that a cursor from one
    /// owner's listing is refused by another's. Bind every parameter that
    /// changes which rows the listing shows; parameters are
    /// length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
    pub fn param(mut self, value: impl AsRef<[u8]>) -> Self {
        self.listing = self.listing.param(value);
        self
    }
}

/// Loads one page of `query` (filtered and selected for the listing, and
/// boxed with `.into_boxed()`, so that the filter and order added here keep
/// its type) in keyset order: `WHERE (sort, id) > ($1, $2) ORDER BY sort,
/// id LIMIT n + 1`, one round trip, no OFFSET. `key_of` reads a row's sort
/// key and id back for the page's cursors; the id may be a typed id
/// (anything `Into<Uuid>`).
///
/// Every listing of the crate loads its pages through this function, and a
/// host can do the same for its own tables:
///
/// ```no_run
/// use saas_db::chrono::{DateTime, Utc};
/// use saas_db::diesel::prelude::*;
/// use saas_db::pagination::{paginate, Keyset};
/// use saas_db::uuid::Uuid;
/// use saas_db::{Page, PageRequest};
///
/// diesel::table! {
///     notes (id) {
///         id -> Uuid,
///         owner_id -> Uuid,
///         created_at -> Timestamptz,
///         body -> Text,
///     }
/// }
///
/// #[derive(Queryable, Selectable)]
/// struct Note {
///     id: Uuid,
///     created_at: DateTime<Utc>,
///     body: String,
/// }
///
/// fn my_notes(
///     conn: &mut PgConnection,
///     owner: Uuid,
///     request: &PageRequest,
/// ) -> saas_db::Result<Page<Note>> {
///     paginate(
///         notes::table
///             .filter(notes::owner_id.eq(owner))
///             .select(Note::as_select())
///             .into_boxed(),
///         Keyset::new("notes.by_owner", notes::created_at, notes::id)?
///             .desc()
///             .param(owner),
///         request,
///         |note: &Note| (note.created_at, note.id),
///         conn,
///     )
/// }
/// ```
///
/// # Errors
/// [`Error::InvalidCursor`](crate::Error::InvalidCursor) for a cursor of
/// another listing (ours or another of the host's, or this one with other
/// parameters) or with another key type, [`Error::Invalid`](crate::Error::Invalid)
/// naming `limit` for a page size outside 1..=[`MAX_LIMIT`](super::MAX_LIMIT),
/// and the query's own database errors.
pub fn paginate<'a, Q, T, K, D, S, I>(
    query: Q,
    keyset: Keyset<S, I>,
    request: &PageRequest,
    key_of: impl Fn(&T) -> (K, D),
    conn: &mut PgConnection,
) -> Result<Page<T>>
where
    K: CursorKey + Clone + AsExpression<S::SqlType>,
    D: Into<Uuid>,
    Uuid: AsExpression<I::SqlType>,
    S: ExpressionMethods + Clone,
    S::SqlType: diesel::sql_types::SqlType,
    I: ExpressionMethods + Clone,
    I::SqlType: diesel::sql_types::SqlType,
    Q: FilterDsl<Cmp<S, I, K>, Output = Q>
        + OrderDsl<(dsl::Asc<S>, dsl::Asc<I>), Output = Q>
        + OrderDsl<(dsl::Desc<S>, dsl::Desc<I>), Output = Q>
        + Query
        + QueryFragment<Pg>,
    PageLimit<Q>: LoadQuery<'a, PgConnection, T>,
{
    check_limit(request)?;
    let limit = request.limit;
    let Keyset {
        listing,
        sort,
        id,
        order,
    } = keyset;
    // Whether we walk the listing forwards (in its own order) or backwards.
    let (forwards, cursor) = match &request.start {
        Start::First => (true, None),
        Start::Last => (false, None),
        Start::After(c) => (true, Some(c.decode::<K>(&listing)?)),
        Start::Before(c) => (false, Some(c.decode::<K>(&listing)?)),
    };
    let ascending = forwards == (order == Order::Asc);
    let mut query = query;
    if let Some((k, i)) = cursor {
        let after = RowCmp {
            sort: sort.clone(),
            id: id.clone(),
            key: k.as_expression(),
            key_id: i.as_expression(),
            greater: ascending,
        };
        query = FilterDsl::filter(query, after);
    }
    query = if ascending {
        OrderDsl::order(query, (sort.asc(), id.asc()))
    } else {
        OrderDsl::order(query, (sort.desc(), id.desc()))
    };
    let mut items: Vec<T> = PageLimit {
        query,
        rows: limit + 1,
    }
    .load(conn)?;
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    if !forwards {
        items.reverse();
    }
    let cursor_at = |item: Option<&T>| {
        item.map(|row| {
            let (k, i) = key_of(row);
            Cursor::new(&listing, &k, i.into())
        })
    };
    let came_from_cursor = matches!(request.start, Start::After(_) | Start::Before(_));
    let (next, prev) = if forwards {
        let next = if has_more {
            cursor_at(items.last())
        } else {
            None
        };
        let prev = if came_from_cursor {
            cursor_at(items.first())
        } else {
            None
        };
        (next, prev)
    } else {
        let next = if came_from_cursor {
            cursor_at(items.last())
        } else {
            None
        };
        let prev = if has_more {
            cursor_at(items.first())
        } else {
            None
        };
        (next, prev)
    };
    Ok(Page { items, next, prev })
}
