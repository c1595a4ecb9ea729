//! Core costs, side by side in one run on a throwaway PostgreSQL:
//! - a primary-key get through the repository (pooled connection with our
//!   instrumentation, no tracing subscriber) against the same query
//!   hand-written in Diesel on a bare connection: the instrumentation's cost;
//! - pool checkout;
//! - 1,000 audit rows as one multi-row INSERT against one COPY.
//!
//! `cargo bench --bench core`; `scripts/bench.sh` pins client and server to
//! CPUs and prints the ratios.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use diesel::prelude::*;
use saas_db::audit::AuditEntry;
use saas_db::embedded::EmbeddedPostgres;
use saas_db::schema::{audit_logs, users};
use saas_db::users::{NewUser, User};
use saas_db::{Database, PageRequest, Repos};
use uuid::Uuid;

struct Fixture {
    _pg: EmbeddedPostgres,
    db: Database,
    url: String,
    ids: Vec<Uuid>,
}

fn fixture() -> Fixture {
    let pg = EmbeddedPostgres::start().expect("start PostgreSQL");
    let url = pg.url().to_owned();
    let db = Database::builder(&url)
        .max_size(4)
        .build()
        .expect("connect");
    let mut conn = db.conn().unwrap();
    let emails: Vec<String> = (0..10_000).map(|i| format!("b{i}@bench.example")).collect();
    let new: Vec<NewUser> = emails.iter().map(|e| NewUser::new(e, "Bench")).collect();
    conn.users().import(&new).unwrap();
    let ids = conn
        .users()
        .list(PageRequest::first(1000))
        .unwrap()
        .items
        .iter()
        .map(|u| u.id)
        .collect();
    diesel::sql_query("ANALYZE").execute(&mut *conn).unwrap();
    Fixture {
        _pg: pg,
        db,
        url,
        ids,
    }
}

fn get_by_id(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("get_user_by_id");
    let mut pooled = f.db.conn().unwrap();
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let mut i = 0;
    group.bench_function("saas_db", |b| {
        b.iter(|| {
            i = (i + 1) % f.ids.len();
            pooled.users().get(f.ids[i]).unwrap()
        })
    });
    group.bench_function("diesel_by_hand_on_pooled", |b| {
        b.iter(|| {
            i = (i + 1) % f.ids.len();
            users::table
                .filter(users::id.eq(f.ids[i]))
                .filter(users::deleted_at.is_null())
                .select(User::as_select())
                .first::<User>(&mut *pooled)
                .unwrap()
        })
    });
    group.bench_function("diesel_by_hand", |b| {
        b.iter(|| {
            i = (i + 1) % f.ids.len();
            users::table
                .filter(users::id.eq(f.ids[i]))
                .filter(users::deleted_at.is_null())
                .select(User::as_select())
                .first::<User>(&mut bare)
                .unwrap()
        })
    });
    group.finish();
}

fn pool_checkout(c: &mut Criterion, f: &Fixture) {
    c.bench_function("pool_checkout", |b| b.iter(|| f.db.conn().unwrap()));
}

fn audit_batch(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("audit_1000_rows");
    group.throughput(criterion::Throughput::Elements(1000));
    let entries: Vec<AuditEntry> = (0..1000)
        .map(|i| {
            AuditEntry::new("updated", "user", Some(Uuid::now_v7()))
                .changes(serde_json::json!({ "n": { "before": i, "after": i + 1 } }))
        })
        .collect();
    let mut conn = f.db.conn().unwrap();
    group.bench_function("copy", |b| {
        b.iter(|| conn.audit().record_many(&entries).unwrap())
    });
    #[derive(Insertable)]
    #[diesel(table_name = audit_logs)]
    struct Row<'a> {
        id: Uuid,
        action: &'a str,
        entity: &'a str,
        entity_id: Option<Uuid>,
        changes: &'a serde_json::Value,
    }
    group.bench_function("multi_row_insert", |b| {
        b.iter_batched(
            || {
                entries
                    .iter()
                    .map(|e| Row {
                        id: Uuid::now_v7(),
                        action: e.action,
                        entity: e.entity,
                        entity_id: e.entity_id,
                        changes: &e.changes,
                    })
                    .collect::<Vec<_>>()
            },
            |rows| {
                diesel::insert_into(audit_logs::table)
                    .values(&rows)
                    .execute(&mut *conn)
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    get_by_id(c, &f);
    pool_checkout(c, &f);
    audit_batch(c, &f);
}

criterion_group! {
    name = core;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(core);
