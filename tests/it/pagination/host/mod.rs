//! `saas_db::pagination::paginate` on a host's own table, written as a host
//! writes it (this test crate is outside `saas_db`): the table made with raw
//! SQL, declared with `diesel::table!`, paged by an `i64`, a timestamp and a
//! text key, with the same `PageRequest` / `Page` / `Cursor` as our listings.
//! Before, the keyset helper was `pub(crate)`: a host could not call it.
//!
//! `walks`: every row once across ties with rows inserted between pages;
//! `cursors`: foreign and tampered cursors refused.

mod cursors;
mod walks;

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::pagination::{paginate, Keyset, LISTING_NAME_MAX};
use saas_db::{Error, Page, PageRequest};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

diesel::table! {
    host_items (id) {
        id -> Uuid,
        owner_id -> Uuid,
        rank -> Int8,
        created_at -> Timestamptz,
        title -> Text,
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = host_items)]
struct Item {
    id: Uuid,
    owner_id: Uuid,
    rank: i64,
    created_at: DateTime<Utc>,
    title: String,
}

/// The host's own typed id: `key_of` may return it (it is `Into<Uuid>`).
struct ItemId(Uuid);
impl From<ItemId> for Uuid {
    fn from(id: ItemId) -> Uuid {
        id.0
    }
}

/// One owner's rows; the walks below all use this owner.
const OWNER: Uuid = Uuid::from_u128(0x0123);

type Lister = fn(&mut PgConnection, PageRequest) -> saas_db::Result<Page<Item>>;

fn by_rank(conn: &mut PgConnection, request: PageRequest) -> saas_db::Result<Page<Item>> {
    paginate(
        host_items::table.select(Item::as_select()).into_boxed(),
        Keyset::new("items.by_rank", host_items::rank, host_items::id)?,
        &request,
        |item: &Item| (item.rank, ItemId(item.id)),
        conn,
    )
}

fn newest_of(
    conn: &mut PgConnection,
    owner: Uuid,
    request: PageRequest,
) -> saas_db::Result<Page<Item>> {
    paginate(
        host_items::table
            .filter(host_items::owner_id.eq(owner))
            .select(Item::as_select())
            .into_boxed(),
        Keyset::new("items.newest", host_items::created_at, host_items::id)?
            .desc()
            .param(owner),
        &request,
        |item: &Item| (item.created_at, item.id),
        conn,
    )
}

fn newest(conn: &mut PgConnection, request: PageRequest) -> saas_db::Result<Page<Item>> {
    newest_of(conn, OWNER, request)
}

fn by_title(conn: &mut PgConnection, request: PageRequest) -> saas_db::Result<Page<Item>> {
    paginate(
        host_items::table.select(Item::as_select()).into_boxed(),
        Keyset::new("items.by_title", host_items::title, host_items::id)?.asc(),
        &request,
        |item: &Item| (item.title.clone(), item.id),
        conn,
    )
}

#[track_caller]
fn create_table(conn: &mut PgConnection) {
    conn.batch_execute(
        "CREATE TABLE host_items (
             id uuid PRIMARY KEY,
             owner_id uuid NOT NULL,
             rank bigint NOT NULL,
             created_at timestamptz NOT NULL,
             title text NOT NULL)",
    )
    .unwrap();
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A row of `OWNER` with a random id (ties are broken by it).
fn item(rank: i64, created_at: DateTime<Utc>, title: &str) -> Item {
    Item {
        id: Uuid::from_bytes(rand::random()),
        owner_id: OWNER,
        rank,
        created_at,
        title: title.to_owned(),
    }
}

#[track_caller]
fn insert(conn: &mut PgConnection, rows: &[Item]) {
    diesel::insert_into(host_items::table)
        .values(rows)
        .execute(conn)
        .unwrap();
}

/// 30 rows in 5 groups sharing every sort key (rank, time and title).
#[track_caller]
fn seed(conn: &mut PgConnection) -> Vec<Item> {
    let rows: Vec<Item> = (0..30)
        .map(|j| {
            let group = j % 5;
            item(
                group,
                base() + Duration::seconds(group),
                &format!("t{group:02}"),
            )
        })
        .collect();
    insert(conn, &rows);
    rows
}

/// First and last pages, an empty table, and the limit bounds.
#[test]
fn host_listing_first_last_and_limits() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_table(&mut conn);
    let empty = by_rank(&mut conn, PageRequest::first(10)).unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor().is_none());
    assert!(empty.prev_cursor().is_none());

    let mut rows = seed(&mut conn);
    rows.sort_by_key(|r| (r.rank, r.id));
    let ids = |items: &[Item]| items.iter().map(|i| i.id).collect::<Vec<_>>();
    let first = by_rank(&mut conn, PageRequest::first(7)).unwrap();
    assert_eq!(ids(&first.items), ids(&rows[..7]));
    assert!(first.prev_cursor().is_none() && first.next_cursor().is_some());
    let last = by_rank(&mut conn, PageRequest::last(7)).unwrap();
    assert_eq!(
        ids(&last.items),
        ids(&rows[23..]),
        "last page, in listing order"
    );
    assert!(last.next_cursor().is_none() && last.prev_cursor().is_some());
    let all = by_rank(&mut conn, PageRequest::first(30)).unwrap();
    assert_eq!(ids(&all.items), ids(&rows));
    assert!(all.next_cursor().is_none());

    for bad in [0, 1001] {
        for request in [PageRequest::first(bad), PageRequest::last(bad)] {
            let err = by_rank(&mut conn, request).unwrap_err();
            assert!(
                matches!(err, Error::Invalid { ref field, .. } if field == "limit"),
                "{err:?}"
            );
        }
    }
    assert_eq!(
        by_rank(&mut conn, PageRequest::first(1000))
            .unwrap()
            .items
            .len(),
        30
    );
}

/// A host listing name is checked before anything runs: `Invalid` naming
/// `listing` for an empty, blank, over-long or NUL-carrying name.
#[test]
fn host_listing_names_are_checked() {
    let invalid = |name: &str| {
        let err = Keyset::new(name, host_items::rank, host_items::id).unwrap_err();
        matches!(err, Error::Invalid { ref field, .. } if field == "listing")
    };
    let long = "n".repeat(LISTING_NAME_MAX + 1);
    for name in ["", "   ", "notes\0", "\0", long.as_str()] {
        assert!(invalid(name), "{name:?} was accepted");
    }
    let longest = "n".repeat(LISTING_NAME_MAX);
    for name in ["notes", "é", longest.as_str()] {
        assert!(
            Keyset::new(name, host_items::rank, host_items::id).is_ok(),
            "{name:?}"
        );
    }
}
