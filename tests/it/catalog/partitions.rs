//! The audit log: partitioned by month, with a default partition, and rows
//! routed to this month's partition.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use saas_db_testing::TestDatabase;

use crate::support::Name;

#[derive(QueryableByName, Debug)]
struct Partition {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    bound: String,
}

#[derive(QueryableByName)]
struct RelKind {
    #[diesel(sql_type = Text)]
    relkind: String,
    #[diesel(sql_type = Bool)]
    has_default: bool,
}

#[derive(QueryableByName)]
struct Month {
    #[diesel(sql_type = Text)]
    yyyymm: String,
    #[diesel(sql_type = Text)]
    expected_bound: String,
}

#[test]
fn audit_log_is_partitioned_by_month() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();
    // Bounds are printed in the session time zone; pin it.
    conn.batch_execute("SET TIME ZONE 'UTC'").unwrap();

    let kind: RelKind = diesel::sql_query(
        "SELECT c.relkind::text AS relkind, COALESCE(pt.partdefid <> 0, false) AS has_default
           FROM pg_class c LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
          WHERE c.oid = 'audit_logs'::regclass",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(
        kind.relkind, "p",
        "audit_logs should be a partitioned table"
    );

    let partitions: Vec<Partition> = diesel::sql_query(
        "SELECT c.relname::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'audit_logs'::regclass
          ORDER BY c.relname",
    )
    .load(&mut conn)
    .unwrap();
    let defaults: Vec<&Partition> = partitions.iter().filter(|p| p.bound == "DEFAULT").collect();
    assert!(
        kind.has_default && defaults.len() == 1,
        "audit_logs should have one default partition; partitions: {partitions:#?}"
    );
    assert_eq!(defaults[0].name, "audit_logs_default");

    let month: Month = diesel::sql_query(
        "SELECT to_char(m, 'YYYYMM') AS yyyymm,
                format('FOR VALUES FROM (%L) TO (%L)',
                       m::timestamp AT TIME ZONE 'UTC',
                       (m + interval '1 month')::timestamp AT TIME ZONE 'UTC') AS expected_bound
           FROM (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AS m) AS this_month",
    )
    .get_result(&mut conn)
    .unwrap();
    let current_name = format!("audit_logs_p{}", month.yyyymm);
    let current = partitions.iter().find(|p| p.name == current_name);
    assert!(
        current.is_some_and(|p| p.bound == month.expected_bound),
        "expected partition {current_name} {}; partitions: {partitions:#?}",
        month.expected_bound
    );

    // Behaviour: the first and last instants of this month and now() are
    // routed to that partition, not the default (rolled back afterwards).
    let mut routed = Vec::new();
    let rolled_back = conn.transaction::<(), _, _>(|c| {
        routed = diesel::sql_query(
            "WITH m AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
             INSERT INTO audit_logs (action, entity, created_at)
             SELECT 'catalog.test', 'audit_logs', at
               FROM m, unnest(ARRAY[m.start,
                                    now(),
                                    m.start + interval '1 month' - interval '1 microsecond']) AS at
             RETURNING tableoid::regclass::text AS name",
        )
        .load::<Name>(c)?
        .into_iter()
        .map(|t| t.name)
        .collect();
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(
        matches!(rolled_back, Err(diesel::result::Error::RollbackTransaction)),
        "{rolled_back:?}"
    );
    assert_eq!(
        routed,
        vec![current_name.clone(); 3],
        "the first instant, now() and the last instant of this month should land in {current_name}"
    );
}
