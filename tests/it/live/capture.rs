//! What the triggers record: one row per written row, ids and owner only.

use std::time::Duration;

use crate::support::names;
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db::live::{CapturedTable as T, ChangeOp as Op};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{collect, count, last_cursor, project, team, Id};

fn exec(conn: &mut PgConnection, sql: &str, a: impl Into<Uuid>, b: impl Into<Uuid>) -> Uuid {
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(a.into())
        .bind::<SqlUuid, _>(b.into())
        .get_result::<Id>(conn)
        .unwrap()
        .id
}

/// Each write leaves the change the README documents: row id and owner per
/// table (post_tags under its post and author, team_members under the
/// member and team), deletes included (cascades too). Control: a write to
/// an uncaptured table (tags) records nothing.
#[test]
fn writes_are_captured_with_their_row_and_owner() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (alice, team_id) = team(&mut conn, "capture@example.com");
    let u = alice.user_id;
    // From the last change so far (the setup's, written one transaction
    // after another on this connection), as a client would resume.
    let mut feed = db.db().change_feed(last_cursor(&mut conn)).unwrap();

    let tags_before = count(&mut conn, "SELECT count(*) AS n FROM changes");
    let tag = exec(
        &mut conn,
        "INSERT INTO tags (name, slug) SELECT 'Rust', 'rust' WHERE $1 <> $2 RETURNING id",
        u,
        team_id,
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM changes"),
        tags_before,
        "control: tags are not captured"
    );
    let post = exec(
        &mut conn,
        "INSERT INTO posts (author_id, title, slug, content)
         SELECT $1, 'Hi', 'hi', 'secret draft text' WHERE $2 IS NOT NULL RETURNING id",
        u,
        u,
    );
    exec(
        &mut conn,
        "INSERT INTO post_tags (post_id, tag_id) VALUES ($1, $2) RETURNING post_id AS id",
        post,
        tag,
    );
    let invitation = exec(
        &mut conn,
        "INSERT INTO team_invitations (team_id, email, token_hash, expires_at)
         SELECT $1, 'bob@example.com', sha256($2::text::bytea), now() + interval '1 day'
         RETURNING id",
        team_id,
        u,
    );
    let p = project(&mut conn, team_id, "plan");
    diesel::sql_query("UPDATE users SET name = $1 WHERE id = $2")
        .bind::<Text, _>("Alice")
        .bind::<SqlUuid, _>(u)
        .execute(&mut conn)
        .unwrap();
    // Deleting the team cascades to its members, invitations, projects;
    // the user's to the post and its tag link.
    diesel::sql_query("DELETE FROM teams WHERE id = $1")
        .bind::<SqlUuid, _>(team_id)
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("DELETE FROM users WHERE id = $1")
        .bind::<SqlUuid, _>(u)
        .execute(&mut conn)
        .unwrap();

    let got: Vec<_> = collect(&mut feed, 12, Duration::from_secs(5))
        .into_iter()
        .map(|c| (c.table, c.row_id, c.op, c.team_id, c.user_id))
        .collect();
    let (t, user) = (Some(team_id), Some(u));
    assert_eq!(
        got,
        vec![
            (T::Posts, post, Op::Insert, None, user),
            (T::PostTags, post, Op::Insert, None, user),
            (T::TeamInvitations, invitation, Op::Insert, t, None),
            (T::Projects, p, Op::Insert, t, None),
            (T::Users, u.into(), Op::Update, None, user),
            (T::Teams, team_id.into(), Op::Delete, t, None),
            (T::TeamMembers, u.into(), Op::Delete, t, user),
            (T::TeamInvitations, invitation, Op::Delete, t, None),
            (T::Projects, p, Op::Delete, t, None),
            (T::Users, u.into(), Op::Delete, None, user),
            (T::Posts, post, Op::Delete, None, user),
            // Cascaded after its post is gone: the author cannot be looked
            // up any more (the post's own delete carries it).
            (T::PostTags, post, Op::Delete, None, None),
        ]
    );
    assert_eq!(feed.poll(Duration::from_millis(50)).unwrap(), vec![]);

    // Only ids and owners are stored.
    let columns: Vec<String> = names(
        &mut conn,
        "SELECT column_name::text AS name FROM information_schema.columns
          WHERE table_name = 'changes' AND table_schema = current_schema()
          ORDER BY ordinal_position",
    );
    assert_eq!(
        columns,
        [
            "id",
            "xid",
            "table_name",
            "row_id",
            "op",
            "team_id",
            "user_id",
            "at"
        ]
    );
    // Every captured table has the trigger.
    let triggered = count(
        &mut conn,
        "SELECT count(DISTINCT tgrelid) AS n FROM pg_trigger
          WHERE tgfoid = 'changes_capture()'::regprocedure",
    );
    assert_eq!(triggered as usize, T::ALL.len());
}

/// In a custom schema (`DatabaseBuilder::schema`), the trigger writes that
/// schema's `changes` and the feed's connection reads it (the pool's
/// search_path); the public schema's feed does not see it.
#[test]
fn custom_schema_feed_reads_its_own_changes() {
    let test_db = TestDatabase::new();
    let tenant = saas_db::Database::builder(test_db.url())
        .schema("feed_tenant")
        .max_size(2)
        .min_idle(Some(0))
        .build()
        .unwrap();
    let mut feed = tenant
        .change_feed(saas_db::live::ChangeCursor::start())
        .unwrap();
    let mut public = test_db
        .db()
        .change_feed(saas_db::live::ChangeCursor::start())
        .unwrap();
    let mut conn = tenant.conn().unwrap();
    let (_, team_id) = team(&mut conn, "schema@example.com");
    let p = project(&mut conn, team_id, "in the tenant schema");
    let got = collect(&mut feed, 4, Duration::from_secs(5));
    assert_eq!(
        got.last().map(|c| (c.table, c.row_id)),
        Some((T::Projects, p))
    );
    assert_eq!(public.poll(Duration::from_millis(100)).unwrap(), vec![]);
}
