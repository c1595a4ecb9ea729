//! `PageRequest` and `Cursor` from a query string, and `Page` as JSON: what
//! a web handler receives and sends.

use super::*;

fn query(text: &str) -> Result<PageRequest, serde_urlencoded::de::Error> {
    serde_urlencoded::from_str(text)
}

/// A query string with a real cursor loads the same page as the cursor
/// itself; no parameters is the default first page. `PageRequest` had no
/// `Deserialize` and no `Default` before (the handler parsed by hand).
#[test]
fn a_page_request_deserializes_from_a_query_string() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let made = create_users(&mut conn, 5, |_| false);

    assert_eq!(query("").unwrap(), PageRequest::default());
    assert_eq!(PageRequest::default(), PageRequest::first(20));
    assert_eq!(query("limit=2").unwrap(), PageRequest::first(2));
    assert_eq!(
        query("limit=1000").unwrap(),
        PageRequest::first(1000),
        "the largest page is allowed"
    );

    let first = conn.users().list(query("limit=2").unwrap()).unwrap();
    assert_eq!(ids(&first.items), ids(&made[..2]));
    let next = first.next_cursor().unwrap();
    let request = query(&format!("after={next}&limit=2")).unwrap();
    assert_eq!(request, PageRequest::after(next.clone(), 2));
    let second = conn.users().list(request).unwrap();
    assert_eq!(ids(&second.items), ids(&made[2..4]));

    let prev = second.prev_cursor().unwrap();
    let back = query(&format!("before={prev}")).unwrap();
    assert_eq!(back, PageRequest::before(prev, 20), "default size");
    assert_eq!(
        ids(&conn.users().list(back).unwrap().items),
        ids(&made[..2])
    );

    // Parameters this type does not know are ignored (a host's own filters
    // share the query string).
    assert_eq!(query("q=x&limit=3").unwrap(), PageRequest::first(3));
}

/// Every malformed query string is a deserialization error naming what is
/// wrong, never a panic: a tampered or truncated cursor, `after` and
/// `before` together, a limit of 0, above `MAX_LIMIT`, beyond `u32` or
/// negative, a non-numeric limit.
#[test]
fn a_bad_page_query_is_a_deserialization_error() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_users(&mut conn, 3, |_| false);
    let cursor = conn
        .users()
        .list(PageRequest::first(1))
        .unwrap()
        .next_cursor()
        .unwrap()
        .to_string();
    let mut tampered = cursor.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    let cases = [
        (format!("after={tampered}"), "invalid cursor"),
        (
            format!("before={}", &cursor[..cursor.len() - 3]),
            "invalid cursor",
        ),
        ("after=".to_owned(), "invalid cursor"),
        ("after=%00%FF".to_owned(), "invalid cursor"),
        (format!("after={}", "A".repeat(5000)), "too long"),
        (format!("after={cursor}&before={cursor}"), "not both"),
        ("limit=0".to_owned(), "between 1 and 1000"),
        ("limit=1001".to_owned(), "between 1 and 1000"),
        ("limit=99999999999999999999".to_owned(), "too large"),
        ("limit=-1".to_owned(), "invalid digit"),
        ("limit=ten".to_owned(), "invalid digit"),
    ];
    for (text, expected) in &cases {
        let outcome = catch_unwind(|| query(text));
        let shown: String = text.chars().take(60).collect();
        let error = outcome
            .unwrap_or_else(|_| panic!("{shown} panicked"))
            .expect_err(&shown);
        assert!(
            error.to_string().contains(expected),
            "{shown}: {error} (expected {expected:?})"
        );
    }
}

/// A cursor inside JSON: the text round-trips, an altered one is refused
/// with `InvalidCursor`'s message. `Cursor` had only `Serialize` before.
#[test]
fn a_cursor_deserializes_from_json_with_the_same_checks() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_users(&mut conn, 3, |_| false);
    let cursor = conn
        .users()
        .list(PageRequest::first(1))
        .unwrap()
        .next_cursor()
        .unwrap();
    let json = serde_json::to_string(&cursor).unwrap();
    assert_eq!(json, format!("\"{cursor}\""));
    assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), cursor);

    let altered = json.replacen(&cursor.to_string()[..2], "zz", 1);
    let error = serde_json::from_str::<Cursor>(&altered).unwrap_err();
    assert!(error.to_string().starts_with("invalid cursor:"), "{error}");
    let error = serde_json::from_str::<Cursor>("42").unwrap_err();
    assert!(error.to_string().contains("pagination cursor"), "{error}");
}

/// `Page` serializes with its accessors' names, `items`, `next_cursor`,
/// `prev_cursor` (it used to say `next` / `prev`), and reads back.
#[test]
fn a_page_serializes_with_the_names_of_its_methods() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_users(&mut conn, 5, |_| false);
    let first = conn.users().list(PageRequest::first(2)).unwrap();
    let second = conn
        .users()
        .list(PageRequest::after(first.next_cursor().unwrap(), 2))
        .unwrap();

    let json = serde_json::to_value(&second).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["items", "next_cursor", "prev_cursor"]);
    assert_eq!(
        json["next_cursor"].as_str().unwrap(),
        second.next_cursor().unwrap().to_string()
    );
    assert_eq!(
        json["prev_cursor"].as_str().unwrap(),
        second.prev_cursor().unwrap().to_string()
    );
    let first_json = serde_json::to_value(&first).unwrap();
    assert!(first_json["prev_cursor"].is_null());

    let back: Page<User> = serde_json::from_value(json).unwrap();
    assert_eq!(back.next_cursor(), second.next_cursor());
    assert_eq!(back.prev_cursor(), second.prev_cursor());
    assert_eq!(back.items, second.items);
}
