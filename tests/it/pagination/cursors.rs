//! Forged, tampered and out-of-range cursors: `InvalidCursor`, never a panic or a page.

use super::*;

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
