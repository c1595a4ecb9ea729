//! Sessions: validation, revocation, bans, sliding expiry and purging.

use super::*;
use crate::support::acting_as;
use saas_db::ids::{SessionId, UserId};

#[test]
fn session_validates_to_itself_and_its_user_and_nothing_else_does() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let ip: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    let (created, token) = conn
        .sessions()
        .create(
            ada.id,
            SessionOptions::new(HOUR).ip(ip).user_agent("Mozilla/5.0"),
        )
        .unwrap();
    assert_eq!(created.user_id, ada.id);
    assert_eq!(created.ip_address, Some(ip));
    assert_eq!(created.user_agent.as_deref(), Some("Mozilla/5.0"));
    assert_eq!(created.revoked_at, None);
    assert_about(created.expires_at, Utc::now() + chrono::Duration::hours(1));
    assert_eq!(format!("{token:?}"), "Token(<redacted>)");

    let (session, user) = conn.sessions().validate(token.as_str()).unwrap();
    assert_eq!(session, created);
    assert_eq!(user, conn.users().get(ada.id).unwrap());

    let long = "x".repeat(10_000);
    let mut tampered = token.as_str().to_owned();
    tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
    let with_nul = format!("{}\0", token.as_str());
    for garbage in [
        "garbage",
        "",
        long.as_str(),
        "\0",
        "abc\0def",
        with_nul.as_str(),
        tampered.as_str(),
        &token.as_str()[..42],
    ] {
        let result = conn.sessions().validate(garbage);
        assert!(
            matches!(result, Err(Error::Unauthorized)),
            "{:?}: {result:?}",
            &garbage[..garbage.len().min(50)]
        );
    }

    let err = conn
        .sessions()
        .create(ada.id, SessionOptions::new(Duration::ZERO));
    assert!(
        matches!(&err, Err(Error::Invalid { field, .. }) if field == "ttl"),
        "{err:?}"
    );
}

#[test]
fn expired_and_revoked_sessions_do_not_validate() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");

    let (expired, expired_token) = session(&mut conn, ada.id);
    exec(
        &mut conn,
        "UPDATE sessions SET created_at = now() - interval '2 hours',
                             last_seen_at = now() - interval '2 hours',
                             expires_at = now() - interval '1 second'
          WHERE id = $1",
        expired.id,
    );
    assert!(!validates(&mut conn, expired_token.as_str()));

    let (revoked, revoked_token) = session(&mut conn, ada.id);
    assert!(validates(&mut conn, revoked_token.as_str()));
    conn.sessions().revoke(revoked.id).unwrap();
    assert!(!validates(&mut conn, revoked_token.as_str()));
    // Idempotent; an unknown session is NotFound.
    conn.sessions().revoke(revoked.id).unwrap();
    let err = conn
        .sessions()
        .revoke(SessionId(Uuid::now_v7()))
        .unwrap_err();
    assert!(
        matches!(err, Error::NotFound { entity: "session" }),
        "{err:?}"
    );
}

#[test]
fn revoke_all_but_one_and_list_live_sessions_newest_first() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let bob = user(&mut conn, "bob@example.com");
    let (bobs, bobs_token) = session(&mut conn, bob.id);

    let sessions: Vec<_> = (0..4).map(|_| session(&mut conn, ada.id)).collect();
    let listed: Vec<SessionId> = conn
        .sessions()
        .list_for_user(ada.id)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    let newest_first: Vec<SessionId> = sessions.iter().rev().map(|(s, _)| s.id).collect();
    assert_eq!(listed, newest_first);

    // One already revoked and one expired are neither listed nor counted.
    conn.sessions().revoke(sessions[0].0.id).unwrap();
    exec(
        &mut conn,
        "UPDATE sessions SET created_at = now() - interval '2 hours',
                             expires_at = now() - interval '1 hour'
          WHERE id = $1",
        Uuid::from(sessions[1].0.id),
    );
    let listed: Vec<SessionId> = conn
        .sessions()
        .list_for_user(ada.id)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![sessions[3].0.id, sessions[2].0.id]);

    let more: Vec<_> = (0..2).map(|_| session(&mut conn, ada.id)).collect();
    let keep = sessions[2].0.id;
    let n = conn
        .sessions()
        .revoke_all_for_user(ada.id, Some(keep))
        .unwrap();
    assert_eq!(n, 3, "sessions[3] and the two more");
    for (s, token) in sessions.iter().chain(&more) {
        let valid = validates(&mut conn, token.as_str());
        assert_eq!(valid, s.id == keep, "session {}", s.id);
    }
    let listed: Vec<SessionId> = conn
        .sessions()
        .list_for_user(ada.id)
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![keep]);

    assert_eq!(
        conn.sessions().revoke_all_for_user(ada.id, None).unwrap(),
        1
    );
    assert_eq!(
        conn.sessions().revoke_all_for_user(ada.id, None).unwrap(),
        0
    );
    assert!(conn.sessions().list_for_user(ada.id).unwrap().is_empty());
    // Bob's session was never touched.
    let (still, _) = conn.sessions().validate(bobs_token.as_str()).unwrap();
    assert_eq!(still.id, bobs.id);
}

#[test]
fn ban_and_soft_delete_end_sessions_at_once_and_lifting_them_restores() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let (_, token) = session(&mut conn, ada.id);
    let valid = |conn: &mut PgConnection| validates(conn, token.as_str());
    assert!(valid(&mut conn));

    conn.users()
        .ban(&acting_as(ada.id), ada.id, None, Some("spam"))
        .unwrap();
    assert!(!valid(&mut conn), "permanent ban");
    conn.users().unban(&acting_as(ada.id), ada.id).unwrap();
    assert!(valid(&mut conn), "unbanned");

    conn.users()
        .ban(
            &acting_as(ada.id),
            ada.id,
            Some(Utc::now() + chrono::Duration::hours(1)),
            None,
        )
        .unwrap();
    assert!(!valid(&mut conn), "ban until an hour from now");
    // The ban ran out (ban() refuses past times, so move it back by hand).
    exec(
        &mut conn,
        "UPDATE users SET banned_at = now() - interval '2 days',
                          ban_expires_at = now() - interval '1 day'
          WHERE id = $1",
        ada.id,
    );
    let (_, user) = conn
        .sessions()
        .validate(token.as_str())
        .expect("valid again after the ban expired");
    assert!(user.banned_at.is_some());
    assert!(!user.is_banned_at(Utc::now()));
    conn.users().unban(&acting_as(ada.id), ada.id).unwrap();

    conn.users()
        .soft_delete(&acting_as(ada.id), ada.id)
        .unwrap();
    assert!(!valid(&mut conn), "soft-deleted");
    conn.users().restore(ada.id).unwrap();
    assert!(valid(&mut conn), "restored");
}

#[test]
fn sessions_are_refused_to_banned_deleted_and_missing_users() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");

    conn.users()
        .ban(&acting_as(ada.id), ada.id, None, None)
        .unwrap();
    let err = conn
        .sessions()
        .create(ada.id, SessionOptions::new(HOUR))
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    // An expired ban does not refuse.
    exec(
        &mut conn,
        "UPDATE users SET banned_at = now() - interval '2 days',
                          ban_expires_at = now() - interval '1 day'
          WHERE id = $1",
        ada.id,
    );
    let (_, token) = session(&mut conn, ada.id);
    assert!(validates(&mut conn, token.as_str()));

    let err = conn
        .sessions()
        .create(UserId(Uuid::now_v7()), SessionOptions::new(HOUR))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");

    conn.users()
        .soft_delete(&acting_as(ada.id), ada.id)
        .unwrap();
    let err = conn
        .sessions()
        .create(ada.id, SessionOptions::new(HOUR))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert_eq!(
        count_bound::<SqlUuid, _>(
            &mut conn,
            "SELECT count(*) AS n FROM sessions WHERE user_id = $1",
            ada.id
        ),
        1,
        "only the session made while the user could sign in"
    );
}

// ---------------------------------------------------------------------------
// 3. Sliding expiry.

#[test]
fn touch_writes_at_most_once_a_minute_and_slides_the_expiry() {
    assert_eq!(TOUCH_INTERVAL, Duration::from_secs(60));
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let (created, token) = conn
        .sessions()
        .create(ada.id, SessionOptions::new(Duration::from_secs(600)))
        .unwrap();

    assert!(
        !conn.sessions().touch(created.id, HOUR).unwrap(),
        "just created: seen now"
    );
    let (unchanged, _) = conn.sessions().validate(token.as_str()).unwrap();
    assert_eq!(unchanged, created);

    exec(
        &mut conn,
        "UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        created.id,
    );
    assert!(conn.sessions().touch(created.id, HOUR).unwrap());
    let (touched, _) = conn.sessions().validate(token.as_str()).unwrap();
    assert_about(touched.expires_at, Utc::now() + chrono::Duration::hours(1));
    assert_about(touched.last_seen_at, Utc::now());
    assert!(touched.expires_at > created.expires_at + chrono::Duration::minutes(40));

    assert!(
        !conn.sessions().touch(created.id, HOUR).unwrap(),
        "second touch within the minute"
    );
    let (again, _) = conn.sessions().validate(token.as_str()).unwrap();
    assert_eq!(again, touched);

    // A revoked session is not brought back by a touch.
    conn.sessions().revoke(created.id).unwrap();
    exec(
        &mut conn,
        "UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = $1",
        created.id,
    );
    assert!(!conn.sessions().touch(created.id, HOUR).unwrap());
    assert!(!conn
        .sessions()
        .touch(SessionId(Uuid::now_v7()), HOUR)
        .unwrap());
}

// ---------------------------------------------------------------------------
// 4. Purging sessions.

#[test]
fn purge_expired_sessions_deletes_exactly_the_dead_ones_in_batches() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let bob = user(&mut conn, "bob@example.com");

    let live: Vec<_> = (0..3).map(|_| session(&mut conn, ada.id)).collect();
    let mut dead = Vec::new();
    for owner in [ada.id, ada.id, bob.id] {
        let (s, _) = session(&mut conn, owner);
        exec(
            &mut conn,
            "UPDATE sessions SET created_at = now() - interval '2 hours',
                                 expires_at = now() - interval '1 hour'
              WHERE id = $1",
            s.id,
        );
        dead.push(s.id);
    }
    for owner in [ada.id, bob.id] {
        let (s, _) = session(&mut conn, owner);
        conn.sessions().revoke(s.id).unwrap();
        dead.push(s.id);
    }
    let (bobs_live, bobs_token) = session(&mut conn, bob.id);

    let err = conn.sessions().purge_expired(0).unwrap_err();
    assert!(err.field() == Some("batch"), "{err:?}");

    // 5 dead rows in batches of 2: 2 + 2 + 1.
    assert_eq!(conn.sessions().purge_expired(2).unwrap(), 5);
    assert_eq!(conn.sessions().purge_expired(2).unwrap(), 0);
    for id in dead {
        assert_eq!(
            count_bound::<SqlUuid, _>(
                &mut conn,
                "SELECT count(*) AS n FROM sessions WHERE id = $1",
                id
            ),
            0
        );
    }
    for (s, token) in &live {
        let (valid, _) = conn.sessions().validate(token.as_str()).unwrap();
        assert_eq!(valid.id, s.id);
    }
    let (valid, _) = conn.sessions().validate(bobs_token.as_str()).unwrap();
    assert_eq!(valid.id, bobs_live.id);
    let total = diesel::sql_query("SELECT count(*) AS n FROM sessions")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
    assert_eq!(total, 4);
}
