//! Walking 1,000 users sharing one `created_at` forward and back.

use super::*;
use saas_db::ids::UserId;

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
    let back_ids: Vec<UserId> = backward.iter().flat_map(|p| ids(p)).collect();
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
