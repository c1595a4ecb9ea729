//! Walks of a host listing in both directions, with rows inserted between
//! pages before, after and on the cursor's sort key.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::*;
use saas_db::Cursor;

/// A listing, and where a row stands in it (sort key, then id).
struct Case {
    name: &'static str,
    list: Lister,
    order: fn(&Item, &Item) -> Ordering,
}

const CASES: [Case; 3] = [
    Case {
        name: "by_rank (i64, asc)",
        list: by_rank,
        order: |a, b| (a.rank, a.id).cmp(&(b.rank, b.id)),
    },
    Case {
        name: "newest (timestamptz, desc, param)",
        list: newest,
        order: |a, b| (b.created_at, b.id).cmp(&(a.created_at, a.id)),
    },
    Case {
        // Titles of one case and shape: every collation orders them as C does.
        name: "by_title (text, asc)",
        list: by_title,
        order: |a, b| (&a.title, a.id).cmp(&(&b.title, b.id)),
    },
];

/// Rows that land before everything, after everything, and on the exact
/// sort key of `at` (before or after it by their random id), in every case.
fn newcomers(at: &Item) -> [Item; 3] {
    [
        item(-1, base() + Duration::days(1), "a"),
        item(1000, base() - Duration::days(1), "z"),
        item(at.rank, at.created_at, &at.title),
    ]
}

/// Walks `case` from the first page along `next_cursor()` (through text),
/// inserting `newcomers` between pages. Returns what it saw and the rows
/// it had to see: all of `seeded`, and each newcomer placed after the
/// cursor it was inserted at. Each page must continue strictly after the
/// last row seen, so no row comes twice or out of order.
fn walk_forward_inserting(conn: &mut PgConnection, case: &Case, seeded: &[Item]) -> [Vec<Uuid>; 2] {
    let mut expected: Vec<Uuid> = seeded.iter().map(|i| i.id).collect();
    let mut seen: Vec<Item> = Vec::new();
    let mut page = (case.list)(conn, PageRequest::first(4)).unwrap();
    assert!(
        page.prev_cursor().is_none(),
        "{}: first page has prev",
        case.name
    );
    for _ in 0..100 {
        let next = page.next_cursor();
        for row in page.items {
            if let Some(last) = seen.last() {
                assert_eq!((case.order)(last, &row), Ordering::Less, "{}", case.name);
            }
            seen.push(row);
        }
        let Some(next) = next else {
            return [seen.into_iter().map(|i| i.id).collect(), expected];
        };
        let at = seen.last().unwrap().clone();
        let rows = newcomers(&at);
        insert(conn, &rows);
        let ahead = rows
            .iter()
            .filter(|r| (case.order)(&at, r) == Ordering::Less);
        expected.extend(ahead.map(|r| r.id));
        let next: Cursor = next.to_string().parse().unwrap();
        page = (case.list)(conn, PageRequest::after(next, 4)).unwrap();
    }
    panic!("{}: forward walk does not end", case.name);
}

/// The same from the last page along `prev_cursor()`.
fn walk_backward_inserting(
    conn: &mut PgConnection,
    case: &Case,
    seeded: &[Item],
) -> [Vec<Uuid>; 2] {
    let mut expected: Vec<Uuid> = seeded.iter().map(|i| i.id).collect();
    let mut seen: Vec<Item> = Vec::new();
    let mut page = (case.list)(conn, PageRequest::last(4)).unwrap();
    assert!(
        page.next_cursor().is_none(),
        "{}: last page has next",
        case.name
    );
    for _ in 0..100 {
        // A page is in listing order; walking back, rows come last first.
        let prev = page.prev_cursor();
        for row in page.items.into_iter().rev() {
            if let Some(last) = seen.last() {
                assert_eq!((case.order)(last, &row), Ordering::Greater, "{}", case.name);
            }
            seen.push(row);
        }
        let Some(prev) = prev else {
            return [seen.into_iter().map(|i| i.id).collect(), expected];
        };
        let at = seen.last().unwrap().clone();
        let rows = newcomers(&at);
        insert(conn, &rows);
        let behind = rows
            .iter()
            .filter(|r| (case.order)(r, &at) == Ordering::Less);
        expected.extend(behind.map(|r| r.id));
        let prev: Cursor = prev.to_string().parse().unwrap();
        page = (case.list)(conn, PageRequest::before(prev, 4)).unwrap();
    }
    panic!("{}: backward walk does not end", case.name);
}

/// Every row seen once, in order, across ties in the sort key, while rows
/// are inserted between pages before, after and on the cursor's key.
#[test]
fn host_listing_walks_both_ways_across_ties_with_inserts_between_pages() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_table(&mut conn);
    for case in &CASES {
        for backward in [false, true] {
            conn.batch_execute("DELETE FROM host_items").unwrap();
            let seeded = seed(&mut conn);
            let [seen, expected] = if backward {
                walk_backward_inserting(&mut conn, case, &seeded)
            } else {
                walk_forward_inserting(&mut conn, case, &seeded)
            };
            let unique: BTreeSet<Uuid> = seen.iter().copied().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{} (back: {backward}): repeated",
                case.name
            );
            assert_eq!(
                unique,
                expected.into_iter().collect::<BTreeSet<Uuid>>(),
                "{} (back: {backward}): skipped or extra rows",
                case.name
            );
        }
    }
}
