//! COPY against its real limits: 1,000 audit entries per call, three sides
//! interleaved in one loop (`pair::interleaved_sides`), group
//! `audit_copy_1000`:
//!
//! - `saas_db`: `AuditRepo::record_many`, the crate's COPY import
//!   (validation, fresh UUIDv7 ids, Diesel's binary COPY);
//! - `postgres_copy`: the same 1,000 rows (same columns, values and fresh
//!   UUIDv7 ids) by binary COPY on the raw `postgres` client;
//! - `insert_select`: the server's own `INSERT .. SELECT .. FROM
//!   generate_series(1, 1000)` of the same rows into the same partitioned,
//!   indexed table, with only the ids sent (one `uuid[]`): the floor, what
//!   the server spends per row with no protocol in the way.
//!
//! Rows per second are 1,000 / the median time per call.

use std::net::IpAddr;

use criterion::Criterion;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use saas_db::audit::AuditEntry;
use saas_db::Repos;
use uuid::Uuid;

use crate::fixture::{Fixture, SAMPLE};
use crate::{pair, raw};

/// Rows per call.
pub const ROWS: usize = 1000;

const COPY: &str = "COPY audit_logs (id, actor_id, action, entity, entity_id, changes, \
                    ip_address, user_agent, metadata) FROM STDIN (FORMAT binary)";
const TYPES: [Type; 9] = [
    Type::UUID,
    Type::UUID,
    Type::TEXT,
    Type::TEXT,
    Type::UUID,
    Type::JSONB,
    Type::INET,
    Type::TEXT,
    Type::JSONB,
];
const INSERT_SELECT: &str =
    "INSERT INTO audit_logs (id, actor_id, action, entity, entity_id, changes, metadata)
     SELECT ($1::uuid[])[g], $2, 'renamed', 'user', ($3::uuid[])[g], $4, '{}'
       FROM generate_series(1, $5) AS g";

pub fn all(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut copier = raw::connect(&f.url);
    let mut server = raw::connect(&f.url);
    let insert_select = server.prepare(INSERT_SELECT).unwrap();
    let changes = serde_json::json!({ "name": { "before": "a", "after": "b" } });
    let metadata = serde_json::json!({});
    let actor = f.user_ids[0];
    // Entry k is about sampled user k % SAMPLE, by one actor, on every side.
    let entities: Vec<Uuid> = (0..ROWS).map(|k| f.user_ids[k % SAMPLE].uuid()).collect();
    let entries: Vec<AuditEntry> = entities
        .iter()
        .map(|&e| {
            AuditEntry::new("renamed", "user", Some(e))
                .by(actor)
                .changes(changes.clone())
        })
        .collect();
    let (no_ip, no_agent): (Option<IpAddr>, Option<&str>) = (None, None);
    pair::interleaved_sides(
        c,
        "audit_copy_1000",
        f.size.label,
        vec![
            (
                "saas_db",
                Box::new(|_| {
                    let n = pooled.audit().record_many(&entries).unwrap();
                    assert_eq!(n, ROWS);
                }),
            ),
            (
                "postgres_copy",
                Box::new(|_| {
                    let sink = copier.copy_in(COPY).unwrap();
                    let mut writer = BinaryCopyInWriter::new(sink, &TYPES);
                    for entity in &entities {
                        let row: [&(dyn ToSql + Sync); 9] = [
                            &Uuid::now_v7(),
                            &actor.uuid(),
                            &"renamed",
                            &"user",
                            entity,
                            &changes,
                            &no_ip,
                            &no_agent,
                            &metadata,
                        ];
                        writer.write(&row).unwrap();
                    }
                    assert_eq!(writer.finish().unwrap(), ROWS as u64);
                }),
            ),
            (
                "insert_select",
                Box::new(|_| {
                    let ids: Vec<Uuid> = (0..ROWS).map(|_| Uuid::now_v7()).collect();
                    let n = server
                        .execute(
                            &insert_select,
                            &[&ids, &actor.uuid(), &entities, &changes, &(ROWS as i32)],
                        )
                        .unwrap();
                    assert_eq!(n, ROWS as u64);
                }),
            ),
        ],
    );
}
