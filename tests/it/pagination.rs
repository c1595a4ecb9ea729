//! Keyset pagination of the users listings: complete and ordered in both
//! directions when many rows share a sort key, cursors that survive text and
//! refuse tampering, limit bounds, role and soft-delete filtering.

use std::collections::{BTreeMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use saas_db::enums::UserRole;
use saas_db::schema::users;
use saas_db::testing::TestDatabase;
use saas_db::users::{NewUser, User};
use saas_db::{Cursor, Error, Page, PageRequest, Repos};
use sha2::{Digest, Sha256};
use uuid::Uuid;

type Lister = fn(&mut PgConnection, PageRequest) -> saas_db::Result<Page<User>>;

fn ids(users: &[User]) -> Vec<Uuid> {
    users.iter().map(|u| u.id).collect()
}

/// Prints and parses a cursor, checking that nothing changes on the way.
fn round_trip(cursor: Cursor) -> Cursor {
    let text = cursor.to_string();
    assert!(
        text.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "cursor is not URL-safe: {text}"
    );
    let parsed: Cursor = text
        .parse()
        .unwrap_or_else(|e| panic!("own cursor {text} refused: {e:?}"));
    assert_eq!(parsed, cursor);
    assert_eq!(parsed.to_string(), text);
    parsed
}

/// All pages from the first on, following `next_cursor()` (through text).
/// Each page's `prev_cursor()` must lead back to the page before it.
fn walk_forward(conn: &mut PgConnection, limit: u32, list: Lister) -> Vec<Vec<User>> {
    let mut pages: Vec<Vec<User>> = Vec::new();
    let mut page = list(conn, PageRequest::first(limit)).unwrap();
    assert!(page.prev_cursor().is_none(), "first page has a prev cursor");
    loop {
        assert!(pages.len() < 10_000, "forward paging does not end");
        if let Some(prev) = page.prev_cursor() {
            let back = list(conn, PageRequest::before(round_trip(prev), limit)).unwrap();
            assert_eq!(
                ids(&back.items),
                ids(pages.last().unwrap()),
                "prev of page {}",
                pages.len()
            );
        }
        let next = page.next_cursor();
        pages.push(page.items);
        match next {
            Some(cursor) => {
                page = list(conn, PageRequest::after(round_trip(cursor), limit)).unwrap()
            }
            None => break,
        }
    }
    pages
}

/// All pages from the last back, following `prev_cursor()` (through text),
/// returned in listing order. Each page's `next_cursor()` must lead to the
/// page after it.
fn walk_backward(conn: &mut PgConnection, limit: u32, list: Lister) -> Vec<Vec<User>> {
    let mut pages: Vec<Vec<User>> = Vec::new();
    let mut page = list(conn, PageRequest::last(limit)).unwrap();
    assert!(page.next_cursor().is_none(), "last page has a next cursor");
    loop {
        assert!(pages.len() < 10_000, "backward paging does not end");
        if let Some(next) = page.next_cursor() {
            let forward = list(conn, PageRequest::after(round_trip(next), limit)).unwrap();
            assert_eq!(
                ids(&forward.items),
                ids(pages.last().unwrap()),
                "next of page -{}",
                pages.len()
            );
        }
        let prev = page.prev_cursor();
        pages.push(page.items);
        match prev {
            Some(cursor) => {
                page = list(conn, PageRequest::before(round_trip(cursor), limit)).unwrap()
            }
            None => break,
        }
    }
    pages.reverse();
    pages
}

fn list_all(conn: &mut PgConnection, page: PageRequest) -> saas_db::Result<Page<User>> {
    conn.users().list(page)
}
fn list_all_including_deleted(
    conn: &mut PgConnection,
    page: PageRequest,
) -> saas_db::Result<Page<User>> {
    conn.users().including_deleted().list(page)
}
fn list_admins(conn: &mut PgConnection, page: PageRequest) -> saas_db::Result<Page<User>> {
    conn.users().list_by_role(UserRole::Admin, page)
}
fn list_plain_users(conn: &mut PgConnection, page: PageRequest) -> saas_db::Result<Page<User>> {
    conn.users().list_by_role(UserRole::User, page)
}
fn list_admins_including_deleted(
    conn: &mut PgConnection,
    page: PageRequest,
) -> saas_db::Result<Page<User>> {
    conn.users()
        .including_deleted()
        .list_by_role(UserRole::Admin, page)
}

/// Page sizes: all `limit` except the last, which is not empty.
fn assert_page_sizes(pages: &[Vec<User>], limit: usize, total: usize) {
    assert_eq!(pages.len(), total.div_ceil(limit), "number of pages");
    for (i, page) in pages.iter().enumerate() {
        if i + 1 < pages.len() {
            assert_eq!(page.len(), limit, "page {i}");
        } else {
            assert_eq!(page.len(), total - limit * i, "last page");
        }
    }
}

/// The ids in listing order, straight from SQL.
fn expected_order(
    conn: &mut PgConnection,
    role: Option<UserRole>,
    include_deleted: bool,
) -> Vec<Uuid> {
    let mut query = users::table
        .select(users::id)
        .order((users::created_at.asc(), users::id.asc()))
        .into_boxed();
    if let Some(role) = role {
        query = query.filter(users::role.eq(role));
    }
    if !include_deleted {
        query = query.filter(users::deleted_at.is_null());
    }
    query.load(conn).unwrap()
}

/// Creates `n` users one statement at a time (so each has its own
/// `created_at`); user `j` is an admin when `admin(j)`.
fn create_users(conn: &mut PgConnection, n: usize, admin: impl Fn(usize) -> bool) -> Vec<User> {
    (0..n)
        .map(|j| {
            let email = format!("user{j:04}@example.com");
            let role = if admin(j) {
                UserRole::Admin
            } else {
                UserRole::User
            };
            conn.users()
                .create(&NewUser::new(&email, "User").role(role))
                .unwrap()
        })
        .collect()
}

#[test]
fn forward_then_backward_over_1000_users_sharing_created_at() {
    const GROUPS: usize = 4;
    const TOTAL: usize = 1000;
    const LIMIT: u32 = 37;
    let db = TestDatabase::new();

    // Four transactions opened one after the other (so four distinct now()
    // values), then users inserted round-robin across them: within a group
    // all share created_at, and the UUIDv7 ids interleave across groups, so
    // neither created_at alone nor id alone gives the listing order.
    let mut writers: Vec<_> = (0..GROUPS).map(|_| db.conn().unwrap()).collect();
    for conn in &mut writers {
        AnsiTransactionManager::begin_transaction(&mut **conn).unwrap();
        thread::sleep(Duration::from_millis(2));
    }
    for j in 0..TOTAL {
        let email = format!("user{j:04}@example.com");
        writers[j % GROUPS]
            .users()
            .create(&NewUser::new(&email, "User"))
            .unwrap();
    }
    for conn in &mut writers {
        AnsiTransactionManager::commit_transaction(&mut **conn).unwrap();
    }
    drop(writers);

    let mut conn = db.conn().unwrap();
    let stamps: Vec<chrono::DateTime<chrono::Utc>> = users::table
        .select(users::created_at)
        .load(&mut *conn)
        .unwrap();
    let mut groups = BTreeMap::new();
    for stamp in stamps {
        *groups.entry(stamp).or_insert(0) += 1;
    }
    assert_eq!(
        groups.values().copied().collect::<Vec<_>>(),
        vec![TOTAL / GROUPS; GROUPS],
        "one created_at per transaction, shared by its users"
    );
    let expected = expected_order(&mut conn, None, false);
    assert_eq!(expected.len(), TOTAL);
    let mut by_id = expected.clone();
    by_id.sort();
    assert_ne!(
        by_id, expected,
        "the setup should make id order differ from listing order"
    );
    assert_eq!(conn.users().count().unwrap(), TOTAL as i64);

    // Forward.
    let forward = walk_forward(&mut conn, LIMIT, list_all);
    assert_page_sizes(&forward, LIMIT as usize, TOTAL);
    let seen: Vec<User> = forward.into_iter().flatten().collect();
    let seen_ids = ids(&seen);
    assert_eq!(
        seen_ids.iter().collect::<HashSet<_>>().len(),
        TOTAL,
        "a user was seen twice"
    );
    for pair in seen.windows(2) {
        assert!(
            (pair[0].created_at, pair[0].id) < (pair[1].created_at, pair[1].id),
            "not strictly increasing: {:?} then {:?}",
            (pair[0].created_at, pair[0].id),
            (pair[1].created_at, pair[1].id)
        );
    }
    assert_eq!(seen_ids, expected);

    // Backward from the end.
    let backward = walk_backward(&mut conn, LIMIT, list_all);
    assert_eq!(backward.len(), TOTAL.div_ceil(LIMIT as usize));
    assert_eq!(
        backward[0].len(),
        TOTAL % LIMIT as usize,
        "the short page is at the start"
    );
    assert!(backward[1..].iter().all(|p| p.len() == LIMIT as usize));
    let back_ids: Vec<Uuid> = backward.iter().flat_map(|p| ids(p)).collect();
    assert_eq!(back_ids, expected);

    // A limit that divides the total: no empty page at either end.
    let even = walk_forward(&mut conn, 40, list_all);
    assert_page_sizes(&even, 40, TOTAL);
    assert_eq!(
        even.iter().flat_map(|p| ids(p)).collect::<Vec<_>>(),
        expected
    );
    let even_back = walk_backward(&mut conn, 40, list_all);
    assert_page_sizes(&even_back, 40, TOTAL);
    assert_eq!(
        even_back.iter().flat_map(|p| ids(p)).collect::<Vec<_>>(),
        expected
    );
}

const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `text` must be refused with `InvalidCursor`: at parse, or (if it parses)
/// when used after and before. Never a panic, never a page.
fn assert_refused(conn: &mut PgConnection, text: &str, list: Lister) {
    let shown: String = text.chars().take(80).collect();
    let shown = format!("{shown:?} ({} chars)", text.chars().count());
    let outcome = catch_unwind(AssertUnwindSafe(|| match text.parse::<Cursor>() {
        Err(e) => vec![Err(e)],
        Ok(cursor) => vec![
            list(conn, PageRequest::after(cursor.clone(), 10)),
            list(conn, PageRequest::before(cursor, 10)),
        ],
    }));
    let results = outcome.unwrap_or_else(|_| panic!("cursor {shown} panicked"));
    for result in results {
        assert!(
            matches!(result, Err(Error::InvalidCursor { .. })),
            "cursor {shown} was not refused as InvalidCursor: {:?}",
            result.map(|p| ids(&p.items))
        );
    }
}

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A cursor with a correct checksum over `payload` (the format is in the
/// module docs of `saas_db::pagination`: version, listing tag, key tag, key,
/// id, 4 bytes of SHA-256).
fn forge(payload: &[u8]) -> String {
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&Sha256::digest(payload)[..4]);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn cursor_tampering_is_invalid_cursor() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let made = create_users(&mut conn, 6, |j| j % 2 == 0);

    let page = conn.users().list(PageRequest::first(2)).unwrap();
    let cursor = page.next_cursor().unwrap();
    let text = cursor.to_string();
    // The genuine cursor works.
    let next = conn
        .users()
        .list(PageRequest::after(text.parse().unwrap(), 2))
        .unwrap();
    assert_eq!(ids(&next.items), ids(&made[2..4]));

    // Every single-character substitution.
    for (pos, original) in text.char_indices() {
        for replacement in B64URL.chars().filter(|&c| c != original) {
            let mut altered = text.clone();
            altered.replace_range(pos..pos + 1, replacement.encode_utf8(&mut [0; 4]));
            assert_refused(&mut conn, &altered, list_all);
        }
    }
    // Every truncation, including the empty string.
    for len in 0..text.len() {
        assert_refused(&mut conn, &text[..len], list_all);
    }
    // Appended and prepended characters.
    for extra in [
        "A", "AA", "AAA", "AAAA", "-", "_", "x", "0", "=", "==", "%3D", "!", "\0", "é", "\u{202e}",
    ] {
        assert_refused(&mut conn, &format!("{text}{extra}"), list_all);
        assert_refused(&mut conn, &format!("{extra}{text}"), list_all);
    }
    assert_refused(&mut conn, &format!("{text}{text}"), list_all);
    // Changed case (as a careless proxy might do).
    for mangled in [text.to_uppercase(), text.to_lowercase()] {
        if mangled != text {
            assert_refused(&mut conn, &mangled, list_all);
        }
    }
    // Non-base64 text, and standard base64 instead of base64url.
    for junk in [
        "",
        " ",
        "\t\n",
        "!!!!",
        "abc$def",
        "héllo wörld",
        "+/+/",
        "====",
        "null",
        "{}",
        "\0\0\0\0",
    ] {
        assert_refused(&mut conn, junk, list_all);
    }
    let standard = text.replace('-', "+").replace('_', "/");
    if standard != text {
        assert_refused(&mut conn, &standard, list_all);
    }
    // Random garbage: base64url strings of every length (they decode, so the
    // checksum has to catch them) and arbitrary printable text.
    let alphabet: Vec<char> = B64URL.chars().collect();
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    for len in 1..=200 {
        let b64: String = (0..len).map(|_| alphabet[rng.below(64)]).collect();
        assert_refused(&mut conn, &b64, list_all);
        let printable: String = (0..len)
            .map(|_| char::from_u32(0x20 + rng.below(0x5f) as u32).unwrap())
            .collect();
        assert_refused(&mut conn, &printable, list_all);
    }
    // Very long strings.
    assert_refused(&mut conn, &"A".repeat(10_000), list_all);
    assert_refused(&mut conn, &text.repeat(10_000 / text.len() + 1), list_all);
    assert_refused(&mut conn, &"é".repeat(10_000), list_all);

    // Forged cursors with a correct checksum but a bad structure.
    let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
    assert_eq!(bytes.len(), 1 + 4 + 1 + 8 + 16 + 4, "cursor layout changed");
    let payload = &bytes[..bytes.len() - 4];
    assert_eq!(
        forge(payload),
        text,
        "the forging helper matches the format"
    );
    let with = |at: usize, value: &[u8]| {
        let mut p = payload.to_vec();
        p.splice(at..at + value.len(), value.iter().copied());
        forge(&p)
    };
    let key_of = |micros: i64| {
        let mut p = payload[..6].to_vec();
        p.extend_from_slice(&micros.to_be_bytes());
        p.extend_from_slice(&payload[14..]);
        forge(&p)
    };
    let mut forged = vec![
        with(0, &[0]),          // version
        with(0, &[2]),          // version
        with(1, &[0, 0, 0, 0]), // listing tag
        with(5, &[2]),          // key tag: i64 instead of timestamp
        with(5, &[3]),          // key tag: i32
        with(5, &[0xff]),       // unknown key tag
        key_of(i64::MAX),       // a timestamp chrono cannot hold
        key_of(i64::MIN),
    ];
    let mut short_key = payload[..6].to_vec(); // no key bytes at all
    short_key.extend_from_slice(&payload[14..]);
    forged.push(forge(&short_key));
    let mut long_key = payload[..14].to_vec(); // 12-byte key
    long_key.extend_from_slice(&[0; 4]);
    long_key.extend_from_slice(&payload[14..]);
    forged.push(forge(&long_key));
    let mut huge = payload.to_vec(); // long but under the text limit
    huge.splice(14..14, [7u8; 300]);
    forged.push(forge(&huge));
    forged.push(forge(&[1])); // shorter than the fixed part
    forged.push(forge(&[]));
    for f in &forged {
        assert_refused(&mut conn, f, list_all);
    }

    // Foreign cursors: from list_by_role in list, and the other way round.
    let role_page = conn
        .users()
        .list_by_role(UserRole::Admin, PageRequest::first(1))
        .unwrap();
    let role_cursor = role_page.next_cursor().unwrap().to_string();
    assert_refused(&mut conn, &role_cursor, list_all);
    assert_refused(&mut conn, &text, list_admins);
    assert_refused(&mut conn, &text, list_plain_users);
    // The genuine role cursor still works where it belongs.
    let role_next = conn
        .users()
        .list_by_role(
            UserRole::Admin,
            PageRequest::after(role_cursor.parse().unwrap(), 10),
        )
        .unwrap();
    assert_eq!(ids(&role_next.items), vec![made[2].id, made[4].id]);

    // Nothing above broke the connection.
    assert_eq!(conn.users().count().unwrap(), 6);
}

/// A forged cursor with a correct checksum whose timestamp is valid for
/// chrono but outside PostgreSQL's range. The module promises hand-made
/// cursors can only choose where a listing starts; this one should be an
/// `InvalidCursor` (or an empty / full page), not a server error.
#[test]
fn forged_cursor_with_out_of_range_timestamp() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_users(&mut conn, 3, |_| false);
    let text = conn
        .users()
        .list(PageRequest::first(1))
        .unwrap()
        .next_cursor()
        .unwrap()
        .to_string();
    let bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
    let payload = &bytes[..bytes.len() - 4];
    // Year -200000: chrono holds it, PostgreSQL's timestamptz (from 4713 BC) does not.
    let micros = chrono::NaiveDate::from_ymd_opt(-200_000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    let mut p = payload[..6].to_vec();
    p.extend_from_slice(&micros.to_be_bytes());
    p.extend_from_slice(&payload[14..]);
    let forged: Cursor = forge(&p).parse().expect("checksum is right, so it parses");
    for request in [
        PageRequest::after(forged.clone(), 10),
        PageRequest::before(forged, 10),
    ] {
        match conn.users().list(request) {
            Err(Error::InvalidCursor { .. }) => {}
            Ok(page) => assert!(page.items.len() <= 3),
            Err(other) => panic!("forged out-of-range cursor gave {other:?}"),
        }
    }
    assert_eq!(conn.users().count().unwrap(), 3);
}

#[test]
fn limit_bounds() {
    let db = TestDatabase::new();
    db.transaction(|tx| {
        for j in 0..1001 {
            let email = format!("bulk{j:04}@example.com");
            tx.users().create(&NewUser::new(&email, "Bulk"))?;
        }
        Ok(())
    })
    .unwrap();
    let mut conn = db.conn().unwrap();
    let cursor = conn
        .users()
        .list(PageRequest::first(1))
        .unwrap()
        .next_cursor()
        .unwrap();

    let bad = [
        PageRequest::first(0),
        PageRequest::first(1001),
        PageRequest::first(u32::MAX),
        PageRequest::last(0),
        PageRequest::last(1001),
        PageRequest::after(cursor.clone(), 0),
        PageRequest::after(cursor.clone(), 1001),
        PageRequest::before(cursor.clone(), 0),
        PageRequest::before(cursor.clone(), 1001),
    ];
    for request in bad {
        let err = conn.users().list(request.clone()).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "limit"),
            "{request:?}: {err:?}"
        );
        let err = conn
            .users()
            .list_by_role(UserRole::User, request.clone())
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "limit"),
            "by role {request:?}: {err:?}"
        );
    }

    let first = conn.users().list(PageRequest::first(1000)).unwrap();
    assert_eq!(first.items.len(), 1000);
    let next = first.next_cursor().expect("1001 users: a second page");
    let rest = conn.users().list(PageRequest::after(next, 1000)).unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor().is_none());
    assert!(rest.prev_cursor().is_some());
    let last = conn.users().list(PageRequest::last(1000)).unwrap();
    assert_eq!(last.items.len(), 1000);
    assert!(last.prev_cursor().is_some());
    assert_eq!(last.items[..999], first.items[1..]);
    let one = conn.users().list(PageRequest::first(1)).unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(conn.users().count().unwrap(), 1001);
}

#[test]
fn list_by_role_pages_only_that_role() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let made = create_users(&mut conn, 30, |j| j % 3 == 0);
    assert_eq!(conn.users().count().unwrap(), 30);

    let admins = walk_forward(&mut conn, 3, list_admins);
    assert_page_sizes(&admins, 3, 10);
    let admins: Vec<User> = admins.into_iter().flatten().collect();
    assert!(admins.iter().all(|u| u.role == UserRole::Admin));
    assert_eq!(
        ids(&admins),
        expected_order(&mut conn, Some(UserRole::Admin), false)
    );
    let made_admins: Vec<Uuid> = made
        .iter()
        .filter(|u| u.role == UserRole::Admin)
        .map(|u| u.id)
        .collect();
    assert_eq!(ids(&admins), made_admins);

    let plain = walk_forward(&mut conn, 3, list_plain_users);
    assert_page_sizes(&plain, 3, 20);
    let plain: Vec<User> = plain.into_iter().flatten().collect();
    assert!(plain.iter().all(|u| u.role == UserRole::User));
    assert_eq!(
        ids(&plain),
        expected_order(&mut conn, Some(UserRole::User), false)
    );
    let back: Vec<Uuid> = walk_backward(&mut conn, 3, list_plain_users)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(back, ids(&plain));

    // Together they are everyone, which is what count() says.
    let everyone: Vec<User> = walk_forward(&mut conn, 7, list_all)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(everyone.len() as i64, conn.users().count().unwrap());
    assert_eq!(admins.len() + plain.len(), everyone.len());

    // Changing a role moves the user between the listings.
    conn.users().set_role(made[1].id, UserRole::Admin).unwrap();
    let admins: Vec<Uuid> = walk_forward(&mut conn, 4, list_admins)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(admins.len(), 11);
    assert!(admins.contains(&made[1].id));
    assert_eq!(
        admins,
        expected_order(&mut conn, Some(UserRole::Admin), false)
    );
    let plain: Vec<Uuid> = walk_forward(&mut conn, 4, list_plain_users)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(plain.len(), 19);
    assert!(!plain.contains(&made[1].id));
}

#[test]
fn soft_deleted_users_are_not_listed() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let made = create_users(&mut conn, 12, |j| j % 4 == 0); // admins: 0, 4, 8
    for j in [1, 4, 5, 10] {
        conn.users().soft_delete(made[j].id).unwrap();
    }
    let visible: Vec<Uuid> = [0, 2, 3, 6, 7, 8, 9, 11]
        .iter()
        .map(|&j| made[j].id)
        .collect();

    let listed: Vec<User> = walk_forward(&mut conn, 3, list_all)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids(&listed), visible);
    assert!(listed.iter().all(|u| u.deleted_at.is_none()));
    let back: Vec<Uuid> = walk_backward(&mut conn, 3, list_all)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(back, visible);
    assert_eq!(conn.users().count().unwrap(), 8);
    let admins: Vec<Uuid> = walk_forward(&mut conn, 2, list_admins)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(admins, vec![made[0].id, made[8].id]);

    // Including deleted: everyone, in the same order.
    let all: Vec<User> = walk_forward(&mut conn, 5, list_all_including_deleted)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids(&all), ids(&made));
    assert_eq!(all.iter().filter(|u| u.deleted_at.is_some()).count(), 4);
    assert_eq!(ids(&all), expected_order(&mut conn, None, true));
    assert_eq!(conn.users().including_deleted().count().unwrap(), 12);
    let all_admins: Vec<Uuid> = walk_forward(&mut conn, 2, list_admins_including_deleted)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(all_admins, vec![made[0].id, made[4].id, made[8].id]);

    // A cursor whose row is deleted afterwards still continues correctly.
    let page = conn.users().list(PageRequest::first(2)).unwrap();
    assert_eq!(ids(&page.items), vec![made[0].id, made[2].id]);
    let cursor = page.next_cursor().unwrap();
    conn.users().soft_delete(made[2].id).unwrap();
    let rest = conn
        .users()
        .list(PageRequest::after(cursor.clone(), 3))
        .unwrap();
    assert_eq!(ids(&rest.items), vec![made[3].id, made[6].id, made[7].id]);
    let before = conn.users().list(PageRequest::before(cursor, 3)).unwrap();
    assert_eq!(ids(&before.items), vec![made[0].id]);
    assert!(before.prev_cursor().is_none());
    assert_eq!(conn.users().count().unwrap(), 7);

    // Restoring brings them back into the listing, in place.
    conn.users().restore(made[2].id).unwrap();
    conn.users().restore(made[5].id).unwrap();
    let listed: Vec<Uuid> = walk_forward(&mut conn, 3, list_all)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    let visible: Vec<Uuid> = [0, 2, 3, 5, 6, 7, 8, 9, 11]
        .iter()
        .map(|&j| made[j].id)
        .collect();
    assert_eq!(listed, visible);
    assert_eq!(conn.users().count().unwrap(), 9);
}
