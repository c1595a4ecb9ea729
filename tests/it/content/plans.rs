//! Keyset pages are planned once: after PostgreSQL's five custom plans, the
//! cached statement of a page after a cursor runs on the generic plan
//! (`pg_prepared_statements.generic_plans`), because the cursor is a row
//! comparison, the page size a number and the listing filter SQL text. The
//! control, the same page written the usual Diesel way (`status = $1`,
//! `LIMIT $n`, the cursor as `a <= $1 AND (a < $1 OR id < $2)`), is planned
//! anew on every execution. No timing is asserted.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use saas_db::content::Post;
use saas_db::enums::PostStatus;
use saas_db::schema::posts;
use saas_db::testing::TestDatabase;
use saas_db::{PageRequest, Repos};

use super::author;

const RUNS: i64 = 12;

#[derive(QueryableByName, Debug)]
struct Prepared {
    #[diesel(sql_type = Text)]
    statement: String,
    #[diesel(sql_type = BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = BigInt)]
    custom_plans: i64,
}

/// The session's prepared statements over `posts` with a `LIMIT`.
fn page_statements(conn: &mut PgConnection) -> Vec<Prepared> {
    diesel::sql_query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
          WHERE statement LIKE '%FROM \"posts\"%' AND statement LIKE '%LIMIT%'",
    )
    .load(conn)
    .unwrap()
}

#[test]
fn listing_pages_run_on_a_generic_plan() {
    let db = TestDatabase::new();
    let mut setup = db.conn().unwrap();
    let a = author(&mut setup, "plans@example.com");
    // 20,000 published posts and as many drafts: enough that the partial
    // index is worth using and a seq scan is not.
    diesel::sql_query(
        "INSERT INTO posts (author_id, title, slug, status, published_at)
         SELECT $1, 'p' || g, 'p-' || g,
                CASE WHEN g % 2 = 0 THEN 'published' ELSE 'draft' END::post_status,
                CASE WHEN g % 2 = 0 THEN timestamptz '2026-01-01Z' + g * interval '1 minute' END
           FROM generate_series(1, 40000) g",
    )
    .bind::<SqlUuid, _>(a)
    .execute(&mut setup)
    .unwrap();
    diesel::sql_query("ANALYZE posts")
        .execute(&mut setup)
        .unwrap();

    // A fresh connection: its statement cache is empty.
    let mut conn = PgConnection::establish(db.url()).unwrap();
    let first = conn.posts().published(PageRequest::first(20)).unwrap();
    let cursor = first.next_cursor().unwrap();
    let last = first.items.last().unwrap();
    let (key, after_id) = (last.published_at.unwrap(), last.id);
    for _ in 0..RUNS {
        let page = conn
            .posts()
            .published(PageRequest::after(cursor.clone(), 20))
            .unwrap();
        assert_eq!(page.items.len(), 20);
        let control: Vec<Post> = posts::table
            .filter(posts::status.eq(PostStatus::Published))
            .filter(posts::deleted_at.is_null())
            .filter(
                posts::published_at
                    .le(key)
                    .and(posts::published_at.lt(key).or(posts::id.lt(after_id))),
            )
            .order((posts::published_at.desc(), posts::id.desc()))
            .limit(21)
            .select(Post::as_select())
            .load(&mut conn)
            .unwrap();
        assert_eq!(control.len(), 21);
    }

    let statements = page_statements(&mut conn);
    let ours: Vec<&Prepared> = statements
        .iter()
        .filter(|s| s.statement.contains(") < ("))
        .collect();
    assert_eq!(ours.len(), 1, "{statements:#?}");
    assert!(
        ours[0].generic_plans >= RUNS - 5 && ours[0].custom_plans <= 5,
        "our page is re-planned: {:#?}",
        ours[0]
    );
    let control: Vec<&Prepared> = statements
        .iter()
        .filter(|s| s.statement.contains("\"status\" = $1"))
        .collect();
    assert_eq!(control.len(), 1, "{statements:#?}");
    assert_eq!(
        (control[0].generic_plans, control[0].custom_plans),
        (0, RUNS),
        "the control shows the failure this test guards against"
    );
}
