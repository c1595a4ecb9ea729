//! The `replica` checks of `Database::health`: each replica's state and lag.

use std::time::Instant;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text};

use super::token::parse_lsn;
use crate::database::Database;
use crate::ops::HealthCheck;

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<Text>)]
    lsn: Option<String>,
}

#[derive(QueryableByName)]
struct ReplicaState {
    #[diesel(sql_type = Bool)]
    in_recovery: bool,
    #[diesel(sql_type = Nullable<Text>)]
    lsn: Option<String>,
}

/// One `replica` check per configured replica, in order: whether it is
/// reachable and in recovery (a standby), and how many bytes of the
/// primary's WAL it has not replayed yet. No write check is made there.
pub(crate) fn checks(
    db: &Database,
    primary: &mut PgConnection,
    deadline: Instant,
) -> Vec<HealthCheck> {
    let set = db.replica_set();
    if set.is_empty() {
        return Vec::new();
    }
    let primary_lsn = diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn")
        .get_result::<Position>(primary)
        .ok()
        .and_then(|p| p.lsn)
        .and_then(|l| parse_lsn(&l));
    set.pools()
        .enumerate()
        .map(|(i, pool)| {
            // Bounded by the replica checkout timeout, so a dead replica
            // cannot use up the report's whole deadline.
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(set.checkout_timeout)
                .max(std::time::Duration::from_millis(1));
            let state = pool
                .get_timeout(wait)
                .map_err(crate::Error::from)
                .and_then(|mut conn| {
                    diesel::sql_query(
                        "SELECT pg_is_in_recovery() AS in_recovery,
                                pg_last_wal_replay_lsn()::text AS lsn",
                    )
                    .get_result::<ReplicaState>(&mut *conn)
                    .map_err(crate::Error::from)
                });
            match state {
                Err(e) => check(false, format!("replica {i}: {e}")),
                Ok(s) if !s.in_recovery => {
                    check(false, format!("replica {i}: not in recovery (promoted?)"))
                }
                Ok(s) => {
                    let replayed = s.lsn.as_deref().and_then(parse_lsn);
                    let lag = primary_lsn.zip(replayed).map(|(p, r)| p.saturating_sub(r));
                    let lag = lag.map_or("unknown".to_owned(), |b| format!("{b} bytes"));
                    check(true, format!("replica {i}: in recovery, lag {lag}"))
                }
            }
        })
        .collect()
}

fn check(ok: bool, detail: String) -> HealthCheck {
    HealthCheck {
        name: "replica",
        ok,
        detail,
    }
}
