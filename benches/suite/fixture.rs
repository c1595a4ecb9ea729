//! The data every benchmark reads: one database per size on one server,
//! seeded once by COPY (users, one published post each with two tags, one
//! audit entry each, 1,000 sessions), then vacuumed and analysed.

use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::audit::AuditEntry;
use saas_db::auth::SessionOptions;
use saas_db::content::Post;
use saas_db::enums::PostStatus;
use saas_db::ids::{PostId, TagId, UserId};
use saas_db::schema::{post_tags, posts, users};
use saas_db::users::NewUser;
use saas_db::{Database, Repos};

/// One data size.
pub struct Size {
    /// Label in benchmark ids: `10k`, `100k`, `1m`.
    pub label: &'static str,
    /// Users (and posts, and audit entries).
    pub users: usize,
    /// The database holding it (a fixed name: it is written into SQL).
    pub database: &'static str,
    create: &'static str,
    drop: &'static str,
}

/// Every size, smallest first.
pub const SIZES: [Size; 3] = [
    Size {
        label: "10k",
        users: 10_000,
        database: "saas_bench_10k",
        create: "CREATE DATABASE saas_bench_10k",
        drop: "DROP DATABASE IF EXISTS saas_bench_10k WITH (FORCE)",
    },
    Size {
        label: "100k",
        users: 100_000,
        database: "saas_bench_100k",
        create: "CREATE DATABASE saas_bench_100k",
        drop: "DROP DATABASE IF EXISTS saas_bench_100k WITH (FORCE)",
    },
    Size {
        label: "1m",
        users: 1_000_000,
        database: "saas_bench_1m",
        create: "CREATE DATABASE saas_bench_1m",
        drop: "DROP DATABASE IF EXISTS saas_bench_1m WITH (FORCE)",
    },
];

/// How many sampled rows the lookups cycle through.
pub const SAMPLE: usize = 1000;
const CHUNK: usize = 50_000;
const TAGS: usize = 50;

/// A seeded database and what the benchmarks need to address its rows.
pub struct Fixture {
    /// Which size.
    pub size: &'static Size,
    /// The pool the repositories run on.
    pub db: Database,
    /// Its URL (for bare Diesel and raw `postgres` connections).
    pub url: String,
    /// Sampled user ids, spread over the table.
    pub user_ids: Vec<UserId>,
    /// Their emails.
    pub emails: Vec<String>,
    /// Live session tokens.
    pub tokens: Vec<String>,
    /// The published post at the start, middle and end of the listing.
    pub depths: Vec<(&'static str, Post)>,
}

impl Fixture {
    /// Drops the size's database (and this pool with it).
    pub fn drop_database(self, admin_url: &str) {
        let Fixture { db, size, .. } = self;
        drop(db);
        if let Ok(mut admin) = PgConnection::establish(admin_url) {
            let _ = admin.batch_execute(size.drop);
        }
    }
}

/// Creates and seeds the size's database on the server at `admin_url`.
pub fn seed(size: &'static Size, admin_url: &str) -> Fixture {
    let started = Instant::now();
    let mut admin = PgConnection::establish(admin_url).expect("connect to the server");
    admin
        .batch_execute(size.drop)
        .expect("drop old bench database");
    admin
        .batch_execute(size.create)
        .expect("create bench database");
    let url = saas_db_testing::url_with_database(admin_url, size.database);
    let db = Database::builder(&url)
        .max_size(4)
        .build()
        .expect("migrate");
    let mut conn = db.conn().unwrap();

    let emails: Vec<String> = (0..size.users)
        .map(|i| format!("u{i}@bench.example"))
        .collect();
    for chunk in emails.chunks(CHUNK) {
        let new: Vec<NewUser> = chunk
            .iter()
            .map(|e| NewUser::new(e, "Bench User"))
            .collect();
        conn.users().import(&new).unwrap();
    }
    let all_ids: Vec<UserId> = users::table
        .select(users::id)
        .order(users::email)
        .load(&mut *conn)
        .unwrap();
    let mut all_emails: Vec<String> = emails;
    all_emails.sort();

    seed_posts(&mut conn, &all_ids);
    seed_audit(&mut conn, &all_ids);
    let step = (all_ids.len() / SAMPLE).max(1);
    let sampled: Vec<usize> = (0..all_ids.len()).step_by(step).take(SAMPLE).collect();
    let user_ids: Vec<UserId> = sampled.iter().map(|&i| all_ids[i]).collect();
    let emails: Vec<String> = sampled.iter().map(|&i| all_emails[i].clone()).collect();
    let tokens = user_ids
        .iter()
        .map(|&id| {
            let (_, token) = conn
                .sessions()
                .create(
                    id,
                    SessionOptions::new(std::time::Duration::from_secs(86_400)),
                )
                .unwrap();
            token.into_string()
        })
        .collect();
    // Settle the server before measuring: vacuum and statistics now, no
    // autovacuum or checkpoint in the middle of a measurement later.
    conn.batch_execute("VACUUM ANALYZE").unwrap();
    conn.batch_execute(
        "DO $$ DECLARE t regclass; BEGIN
             FOR t IN SELECT c.oid FROM pg_class c
                       WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace
             LOOP EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', t); END LOOP;
         END $$",
    )
    .unwrap();
    conn.batch_execute("CHECKPOINT").unwrap();
    let depths = ["start", "middle", "end"]
        .into_iter()
        .zip([0, size.users / 2, size.users - 21])
        .map(|(label, offset)| (label, post_at(&mut conn, offset as i64)))
        .collect();
    eprintln!(
        "seeded {} ({} users, posts, audit entries) in {:.1} s",
        size.label,
        size.users,
        started.elapsed().as_secs_f64()
    );
    drop(conn);
    Fixture {
        size,
        db,
        url,
        user_ids,
        emails,
        tokens,
        depths,
    }
}

/// The published post at `offset` in the newest-first listing.
fn post_at(conn: &mut PgConnection, offset: i64) -> Post {
    posts::table
        .filter(posts::status.eq(PostStatus::Published))
        .filter(posts::deleted_at.is_null())
        .order((posts::published_at.desc(), posts::id.desc()))
        .offset(offset)
        .select(Post::as_select())
        .first(conn)
        .unwrap()
}

#[derive(Insertable)]
#[diesel(table_name = posts, treat_none_as_default_value = false)]
struct PostRow {
    id: PostId,
    author_id: UserId,
    title: String,
    slug: String,
    content: String,
    status: PostStatus,
    published_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = post_tags, treat_none_as_default_value = false)]
struct LinkRow {
    post_id: PostId,
    tag_id: TagId,
}

/// One published post per user, a minute apart, with two of 50 tags each.
/// The tag links go in with their counting trigger off, and the counts are
/// set once at the end (the trigger would update a hot tag row per link).
fn seed_posts(conn: &mut PgConnection, authors: &[UserId]) {
    let first = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
    let tag_ids: Vec<TagId> = (0..TAGS)
        .map(|i| conn.tags().create(&format!("tag {i}")).unwrap().id)
        .collect();
    conn.batch_execute("ALTER TABLE post_tags DISABLE TRIGGER post_tags_count_usage")
        .unwrap();
    for (c, chunk) in authors.chunks(CHUNK).enumerate() {
        let rows: Vec<PostRow> = chunk
            .iter()
            .enumerate()
            .map(|(j, &author_id)| {
                let i = c * CHUNK + j;
                PostRow {
                    id: PostId::now_v7(),
                    author_id,
                    title: format!("Post number {i}"),
                    slug: format!("post-number-{i}"),
                    content: "Benchmark content about databases, Rust and PostgreSQL.".into(),
                    status: PostStatus::Published,
                    published_at: first + Duration::minutes(i as i64),
                }
            })
            .collect();
        diesel::copy_from(posts::table)
            .from_insertable(&rows)
            .execute(conn)
            .unwrap();
        let links: Vec<LinkRow> = rows
            .iter()
            .enumerate()
            .flat_map(|(j, p)| {
                let i = c * CHUNK + j;
                [i % TAGS, (i * 7 + 3) % TAGS].map(|t| LinkRow {
                    post_id: p.id,
                    tag_id: tag_ids[t],
                })
            })
            .collect();
        diesel::copy_from(post_tags::table)
            .from_insertable(&links)
            .execute(conn)
            .unwrap();
    }
    conn.batch_execute(
        "ALTER TABLE post_tags ENABLE TRIGGER post_tags_count_usage;
         UPDATE tags t SET usage_count = (SELECT count(*) FROM post_tags WHERE tag_id = t.id);",
    )
    .unwrap();
}

/// One audit entry per user.
fn seed_audit(conn: &mut PgConnection, actors: &[UserId]) {
    for chunk in actors.chunks(CHUNK) {
        let entries: Vec<AuditEntry> = chunk
            .iter()
            .map(|&id| {
                AuditEntry::new("signed_up", "user", Some(id.into()))
                    .by(id)
                    .changes(serde_json::json!({ "plan": { "before": null, "after": "free" } }))
            })
            .collect();
        conn.audit().record_many(&entries).unwrap();
    }
}
