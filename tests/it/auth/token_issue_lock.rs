//! Issue 13: `VerificationTokenRepo::issue` serialises concurrent issues
//! for one target with an advisory lock, so "earlier unused tokens stop
//! working" holds under concurrency too. Without the lock, 8 concurrent
//! issues left 6 live password-reset tokens instead of 1.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::enums::TokenKind;
use saas_db::ids::UserId;
use saas_db::Repos;
use saas_db_testing::TestDatabase;

use super::{user, HOUR};
use crate::support::count_bound;

/// Unused, unexpired password-reset tokens of `user`.
fn live_tokens(conn: &mut PgConnection, user: UserId) -> i64 {
    count_bound::<SqlUuid, _>(
        conn,
        "SELECT count(*) AS n FROM verification_tokens
          WHERE user_id = $1 AND kind = 'password_reset'
            AND used_at IS NULL AND expires_at > now()",
        user,
    )
}

/// What `issue` does, without the lock: expire the older live tokens, then
/// insert the new one (the hash is random, as a real token's would be).
fn expire_older(conn: &mut PgConnection, user: UserId) {
    diesel::sql_query(
        "UPDATE verification_tokens SET expires_at = now()
          WHERE user_id = $1 AND kind = 'password_reset'
            AND used_at IS NULL AND expires_at > now()",
    )
    .bind::<SqlUuid, _>(user)
    .execute(conn)
    .unwrap();
}

fn insert_token(conn: &mut PgConnection, user: UserId) {
    diesel::sql_query(
        "INSERT INTO verification_tokens (id, kind, email, user_id, token_hash, expires_at)
         SELECT gen_random_uuid(), 'password_reset', email, id,
                sha256(gen_random_uuid()::text::bytea), now() + interval '1 hour'
           FROM users WHERE id = $1",
    )
    .bind::<SqlUuid, _>(user)
    .execute(conn)
    .unwrap();
}

#[test]
fn eight_concurrent_issues_leave_exactly_one_live_token() {
    let db = TestDatabase::with_builder(|b| b.max_size(12)).unwrap();
    let mut conn = db.conn().unwrap();

    // Control: the same two statements without the lock, interleaved on two
    // connections, leave two live tokens.
    let bob = user(&mut conn, "bob@example.com");
    let mut other = db.conn().unwrap();
    conn.batch_execute("BEGIN").unwrap();
    other.batch_execute("BEGIN").unwrap();
    expire_older(&mut conn, bob.id);
    expire_older(&mut other, bob.id);
    insert_token(&mut conn, bob.id);
    insert_token(&mut other, bob.id);
    conn.batch_execute("COMMIT").unwrap();
    other.batch_execute("COMMIT").unwrap();
    assert_eq!(
        live_tokens(&mut conn, bob.id),
        2,
        "control: no lock, two live tokens"
    );

    let ada = user(&mut conn, "ada@example.com");
    for round in 0..5 {
        let issued = crate::support::race(8, |_, barrier| {
            let mut c = db.conn().unwrap();
            barrier.wait();
            c.verification_tokens()
                .issue(TokenKind::PasswordReset, &ada.email, Some(ada.id), HOUR)
                .map(|(t, _)| t.id)
        });
        assert!(
            issued.iter().all(Result::is_ok),
            "round {round}: {issued:?}"
        );
        assert_eq!(live_tokens(&mut conn, ada.id), 1, "round {round}");
    }
}
