//! Writes, three ways each: the optimistic-lock update (success and
//! conflict), a transaction with two writes, one audit insert; and pool
//! checkout. The same writes interleaved with the raw driver, which the
//! targets are read from, are in `write_pairs.rs`; COPY in `copy.rs`.

use criterion::{BenchmarkId, Criterion};
use diesel::dsl::now;
use diesel::prelude::*;
use saas_db::audit::{AuditEntry, AuditLog};
use saas_db::ids::UserId;
use saas_db::schema::{audit_logs, users};
use saas_db::users::{User, UserChanges};
use saas_db::Repos;
use uuid::Uuid;

use crate::fixture::{Fixture, SAMPLE};
use crate::raw;

const NAMES: [&str; 2] = ["Bench User", "Bench User 2"];

pub fn all(c: &mut Criterion, f: &Fixture) {
    optimistic_update(c, f);
    vacuum(f);
    two_writes(c, f);
    vacuum(f);
    audit_inserts(c, f);
}

/// Clears the dead rows the previous group's updates left, so each group
/// starts from the same state (autovacuum is off during the benchmarks).
fn vacuum(f: &Fixture) {
    use diesel::connection::SimpleConnection;
    f.db.conn().unwrap().batch_execute("VACUUM users").unwrap();
}

fn optimistic_update(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let mut client = raw::connect(&f.url);
    let size = f.size.label;
    // Each sampled user's current version, kept by whichever writer ran last.
    let mut versions: Vec<i32> = f
        .user_ids
        .iter()
        .map(|&id| pooled.users().get(id).unwrap().version)
        .collect();
    let mut i = 0;
    let mut step = || {
        i = (i + 1) % SAMPLE;
        i
    };

    let mut g = c.benchmark_group("optimistic_update_ok");
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| {
            let i = step();
            let changes = UserChanges {
                name: Some(NAMES[versions[i] as usize % 2].into()),
                ..Default::default()
            };
            let user = pooled
                .users()
                .update(f.user_ids[i], versions[i], &changes)
                .unwrap();
            versions[i] = user.version;
        })
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            let i = step();
            let user: User = diesel::update(
                users::table
                    .filter(users::id.eq(f.user_ids[i]))
                    .filter(users::version.eq(versions[i])),
            )
            .set((
                users::name.eq(NAMES[versions[i] as usize % 2]),
                users::version.eq(users::version + 1),
            ))
            .returning(User::as_returning())
            .get_result(&mut bare)
            .unwrap();
            versions[i] = user.version;
        })
    });
    let update = client.prepare(raw::UPDATE_USER_NAME).unwrap();
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            let i = step();
            let name = NAMES[versions[i] as usize % 2];
            let row = client
                .query_one(&update, &[&f.user_ids[i].uuid(), &versions[i], &name])
                .unwrap();
            versions[i] = raw::user(&row, 0).version();
        })
    });
    g.finish();

    // A stale version: nothing is written. The repository spends a second
    // query telling Stale (someone else won) from NotFound (no such row).
    let mut g = c.benchmark_group("optimistic_update_conflict");
    let changes = UserChanges {
        name: Some("never".into()),
        ..Default::default()
    };
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| {
            let i = step();
            let stale = pooled.users().update(f.user_ids[i], 0, &changes);
            assert!(matches!(stale, Err(saas_db::Error::Stale { .. })));
        })
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            let i = step();
            let missed = diesel::update(
                users::table
                    .filter(users::id.eq(f.user_ids[i]))
                    .filter(users::version.eq(0)),
            )
            .set((
                users::name.eq("never"),
                users::version.eq(users::version + 1),
            ))
            .returning(User::as_returning())
            .get_result::<User>(&mut bare)
            .optional()
            .unwrap();
            assert!(missed.is_none());
        })
    });
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            let i = step();
            let zero = 0i32;
            let missed = client
                .query_opt(&update, &[&f.user_ids[i].uuid(), &zero, &"never"])
                .unwrap();
            assert!(missed.is_none());
        })
    });
    g.finish();
}

/// One transaction: record a sign-in and write its audit entry.
fn two_writes(c: &mut Criterion, f: &Fixture) {
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let mut client = raw::connect(&f.url);
    let size = f.size.label;
    let mut i = 0;
    let mut step = || {
        i = (i + 1) % SAMPLE;
        f.user_ids[i]
    };
    let mut g = c.benchmark_group("transaction_two_writes");
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| {
            let id = step();
            f.db.transaction(|tx| {
                tx.users().record_login(id)?;
                tx.audit()
                    .record(&AuditEntry::new("signed_in", "user", Some(id.into())).by(id))?;
                Ok(())
            })
            .unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            let id = step();
            bare.transaction::<_, diesel::result::Error, _>(|tx| {
                diesel::update(users::table.find(id))
                    .set(users::last_login_at.eq(now))
                    .execute(tx)?;
                diesel::insert_into(audit_logs::table)
                    .values((
                        audit_logs::id.eq(Uuid::now_v7()),
                        audit_logs::actor_id.eq(id),
                        audit_logs::action.eq("signed_in"),
                        audit_logs::entity.eq("user"),
                        audit_logs::entity_id.eq(id),
                    ))
                    .returning(AuditLog::as_returning())
                    .get_result::<AuditLog>(tx)?;
                Ok(())
            })
            .unwrap()
        })
    });
    let login = client
        .prepare("UPDATE users SET last_login_at = now() WHERE id = $1")
        .unwrap();
    let insert = client.prepare(raw::AUDIT_SIGNED_IN).unwrap();
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            let id = step().uuid();
            let mut tx = client.transaction().unwrap();
            tx.execute(&login, &[&id]).unwrap();
            raw::audit(&tx.query_one(&insert, &[&Uuid::now_v7(), &id]).unwrap());
            tx.commit().unwrap();
        })
    });
    g.finish();
}

#[derive(Insertable)]
#[diesel(table_name = audit_logs)]
struct Row<'a> {
    id: Uuid,
    actor_id: Option<UserId>,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<Uuid>,
    changes: &'a serde_json::Value,
}

fn audit_inserts(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let mut client = raw::connect(&f.url);
    let size = f.size.label;
    let changes = serde_json::json!({ "name": { "before": "a", "after": "b" } });
    let actor = f.user_ids[0];

    let mut g = c.benchmark_group("audit_insert_one");
    let entry = AuditEntry::new("renamed", "user", Some(actor.into()))
        .by(actor)
        .changes(changes.clone());
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| pooled.audit().record(&entry).unwrap())
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            diesel::insert_into(audit_logs::table)
                .values(Row {
                    id: Uuid::now_v7(),
                    actor_id: Some(actor),
                    action: "renamed",
                    entity: "user",
                    entity_id: Some(actor.into()),
                    changes: &changes,
                })
                .returning(AuditLog::as_returning())
                .get_result::<AuditLog>(&mut bare)
                .unwrap()
        })
    });
    let insert = client.prepare(raw::AUDIT_INSERT).unwrap();
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            raw::audit(
                &client
                    .query_one(&insert, &[&Uuid::now_v7(), &actor.uuid(), &changes])
                    .unwrap(),
            )
        })
    });
    g.finish();
}

/// Borrowing a connection from a warm pool and giving it back.
pub fn pool_checkout(c: &mut Criterion, f: &Fixture) {
    c.benchmark_group("pool_checkout")
        .bench_function(BenchmarkId::new("saas_db", f.size.label), |b| {
            b.iter(|| f.db.conn().unwrap())
        });
}
