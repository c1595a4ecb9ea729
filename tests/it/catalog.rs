//! The schema as PostgreSQL sees it: every foreign key indexed and with a
//! deliberate ON DELETE rule, Postgres enums equal to the Rust enums, the
//! updated_at trigger everywhere it belongs, and the audit log partitioning.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, SmallInt, Text, Timestamptz};
use saas_db::enums::{
    BillingInterval, PaymentStatus, PostStatus, SubscriptionStatus, TeamKind, TeamRole, Theme,
    TokenKind, UserRole,
};
use saas_db::schema::sql_types;
use saas_db::users::NewUser;
use saas_db::Repos;
use saas_db_testing::TestDatabase;
use serde::Serialize;

// ---------------------------------------------------------------------------
// Foreign keys
// ---------------------------------------------------------------------------

#[derive(QueryableByName, Debug)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    constraint_name: String,
    /// Attribute numbers of the referencing columns, in constraint order.
    #[diesel(sql_type = Array<SmallInt>)]
    attnums: Vec<i16>,
    /// Their names, comma separated, for messages.
    #[diesel(sql_type = Text)]
    columns: String,
    /// `confdeltype`: a, r, c, n or d.
    #[diesel(sql_type = Text)]
    on_delete: String,
}

/// Every foreign key of the current schema (`public` in a test database).
fn foreign_keys(conn: &mut PgConnection) -> Vec<ForeignKey> {
    diesel::sql_query(
        "SELECT rel.relname::text AS table_name,
                c.conname::text AS constraint_name,
                c.conkey AS attnums,
                (SELECT string_agg(a.attname::text, ', ' ORDER BY k.ord)
                   FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                ) AS columns,
                c.confdeltype::text AS on_delete
           FROM pg_constraint c
           JOIN pg_class rel ON rel.oid = c.conrelid
           JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE c.contype = 'f'
            AND n.nspname = current_schema()
            -- a partitioned table's FK is cloned onto each partition; the
            -- parent's constraint is the one to check
            AND c.conparentid = 0
          ORDER BY rel.relname, c.conname",
    )
    .load(conn)
    .expect("load foreign keys")
}

#[derive(QueryableByName, Debug)]
struct IndexKeys {
    #[diesel(sql_type = Text)]
    table_name: String,
    /// `indkey`: attribute numbers of the key columns (0 for an expression).
    #[diesel(sql_type = Array<SmallInt>)]
    attnums: Vec<i16>,
}

#[test]
fn every_foreign_key_column_is_indexed() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();

    let fks = foreign_keys(&mut conn);
    assert!(
        fks.len() >= 10,
        "expected at least 10 foreign keys in the schema, found {}: {:?}",
        fks.len(),
        fks.iter().map(|fk| &fk.constraint_name).collect::<Vec<_>>()
    );

    // Usable indexes only: valid, not partial (a partial index does not
    // serve the lookups an ON DELETE check or a join by the FK makes).
    let indexes: Vec<IndexKeys> = diesel::sql_query(
        "SELECT t.relname::text AS table_name,
                i.indkey::int2[] AS attnums
           FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = current_schema()
            AND i.indisvalid
            AND i.indpred IS NULL",
    )
    .load(&mut conn)
    .expect("load indexes");
    let mut by_table: BTreeMap<&str, Vec<&[i16]>> = BTreeMap::new();
    for index in &indexes {
        by_table
            .entry(index.table_name.as_str())
            .or_default()
            .push(&index.attnums);
    }

    let unindexed: Vec<String> = fks
        .iter()
        .filter(|fk| {
            !by_table
                .get(fk.table_name.as_str())
                .is_some_and(|keys| keys.iter().any(|key| key.starts_with(&fk.attnums)))
        })
        .map(|fk| format!("{}({}): {}", fk.table_name, fk.constraint_name, fk.columns))
        .collect();
    assert!(
        unindexed.is_empty(),
        "{} of {} foreign keys have no index (valid, non-partial, primary key included) \
         leading with their columns in order:\n  {}",
        unindexed.len(),
        fks.len(),
        unindexed.join("\n  ")
    );
}

fn delete_rule(code: &str) -> &'static str {
    match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "UNKNOWN",
    }
}

#[test]
fn foreign_key_delete_rules_are_deliberate() {
    // Every FK with the ON DELETE rule it was given on purpose. An FK added
    // without a decision here fails this test.
    const EXPECTED: &[(&str, &str)] = &[
        // Auth rows belong to the user and go with it.
        ("accounts_user_id_fkey", "CASCADE"),
        // Payments and subscriptions are financial records: never cascaded
        // away; deleting a user or plan that has them is refused.
        ("payments_subscription_id_fkey", "RESTRICT"),
        ("payments_user_id_fkey", "RESTRICT"),
        // A post goes with its author; a deleted category only uncategorises.
        ("post_tags_post_id_fkey", "CASCADE"),
        ("post_tags_tag_id_fkey", "CASCADE"),
        ("posts_author_id_fkey", "CASCADE"),
        ("posts_category_id_fkey", "SET NULL"),
        // A team's projects go with the team; a project outlives its creator.
        ("projects_created_by_fkey", "SET NULL"),
        ("projects_team_id_fkey", "CASCADE"),
        ("sessions_user_id_fkey", "CASCADE"),
        ("subscriptions_plan_id_fkey", "RESTRICT"),
        ("subscriptions_user_id_fkey", "RESTRICT"),
        // An invitation outlives the member who sent it.
        ("team_invitations_invited_by_fkey", "SET NULL"),
        ("team_invitations_team_id_fkey", "CASCADE"),
        ("team_members_team_id_fkey", "CASCADE"),
        ("team_members_user_id_fkey", "CASCADE"),
        ("user_profiles_user_id_fkey", "CASCADE"),
        ("verification_tokens_user_id_fkey", "CASCADE"),
    ];
    let expected: BTreeMap<&str, &str> = EXPECTED.iter().copied().collect();
    assert_eq!(expected.len(), EXPECTED.len(), "duplicate name in EXPECTED");

    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();
    let actual: BTreeMap<String, &str> = foreign_keys(&mut conn)
        .into_iter()
        .map(|fk| (fk.constraint_name, delete_rule(&fk.on_delete)))
        .collect();

    let mut problems = Vec::new();
    for (name, rule) in &actual {
        match expected.get(name.as_str()) {
            None => problems.push(format!(
                "{name}: ON DELETE {rule} is not in the expected table (decide its rule and add it)"
            )),
            Some(want) if want != rule => {
                problems.push(format!("{name}: ON DELETE {rule}, expected {want}"))
            }
            Some(_) => {}
        }
    }
    for (name, want) in &expected {
        if !actual.contains_key(*name) {
            problems.push(format!(
                "{name}: expected (ON DELETE {want}) but not in the schema"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "foreign key ON DELETE rules differ from the expected table:\n  {}\nactual: {:#?}",
        problems.join("\n  "),
        actual
    );
    // The same as one exact comparison, sorted by constraint name.
    let actual_list: Vec<(&str, &str)> = actual.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let expected_list: Vec<(&str, &str)> = expected.into_iter().collect();
    assert_eq!(actual_list, expected_list);
}

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

#[derive(QueryableByName)]
struct Label {
    #[diesel(sql_type = Text)]
    label: String,
}

fn pg_enum_labels(conn: &mut PgConnection, pg_type: &str) -> Vec<String> {
    diesel::sql_query(
        "SELECT e.enumlabel::text AS label
           FROM pg_enum e
           JOIN pg_type t ON t.oid = e.enumtypid
           JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE t.typname = $1 AND n.nspname = current_schema()
          ORDER BY e.enumsortorder",
    )
    .bind::<Text, _>(pg_type)
    .load::<Label>(conn)
    .expect("load enum labels")
    .into_iter()
    .map(|l| l.label)
    .collect()
}

/// The serde (snake_case) name of a variant, which is its Postgres label.
fn serde_name<E: Serialize + Debug>(variant: &E) -> String {
    match serde_json::to_value(variant) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("{variant:?} does not serialise to a string: {other:?}"),
    }
}

/// Compares one Rust enum with its Postgres enum; describes any mismatch.
fn compare_enum<E: Serialize + Debug>(
    conn: &mut PgConnection,
    pg_type: &str,
    all: &[E],
) -> Option<String> {
    let rust: Vec<String> = all.iter().map(serde_name).collect();
    let pg = pg_enum_labels(conn, pg_type);
    if pg.is_empty() {
        return Some(format!(
            "{pg_type}: no such Postgres enum (Rust has {rust:?})"
        ));
    }
    (rust != pg).then(|| format!("{pg_type}: Postgres labels {pg:?}, Rust variants {rust:?}"))
}

/// Runs `$check!(conn, Type)` style calls for every enum of `saas_db::enums`.
macro_rules! for_each_enum {
    ($mac:ident!($($arg:expr),*)) => {
        $mac!($($arg),*; UserRole);
        $mac!($($arg),*; TokenKind);
        $mac!($($arg),*; BillingInterval);
        $mac!($($arg),*; SubscriptionStatus);
        $mac!($($arg),*; PaymentStatus);
        $mac!($($arg),*; PostStatus);
        $mac!($($arg),*; Theme);
        $mac!($($arg),*; TeamKind);
        $mac!($($arg),*; TeamRole);
    };
}

#[test]
fn postgres_enums_match_rust_enums() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();

    let mut mismatches = Vec::new();
    let mut rust_types = BTreeSet::new();
    macro_rules! check {
        ($conn:expr, $out:expr, $types:expr; $enum:ident) => {
            $types.insert($enum::PG_TYPE.to_owned());
            if let Some(problem) = compare_enum($conn, $enum::PG_TYPE, $enum::ALL) {
                $out.push(format!("{}: {problem}", stringify!($enum)));
            }
        };
    }
    for_each_enum!(check!(&mut conn, mismatches, rust_types));
    assert_eq!(
        rust_types.len(),
        9,
        "two Rust enums share a PG_TYPE: {rust_types:?}"
    );
    assert!(
        mismatches.is_empty(),
        "Postgres enum labels (by enumsortorder) differ from the Rust variants:\n  {}",
        mismatches.join("\n  ")
    );

    let pg_types: BTreeSet<String> = diesel::sql_query(
        "SELECT t.typname::text AS label
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE t.typtype = 'e' AND n.nspname = current_schema()",
    )
    .load::<Label>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|l| l.label)
    .collect();
    let without_rust: Vec<&String> = pg_types.difference(&rust_types).collect();
    assert!(
        without_rust.is_empty(),
        "Postgres enums without a Rust enum in saas_db::enums: {without_rust:?}"
    );
    assert_eq!(pg_types, rust_types);
}

#[derive(QueryableByName)]
struct BoundLabel {
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = Text)]
    type_name: String,
}

#[test]
fn every_enum_variant_round_trips() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();

    let mut failures = Vec::new();
    let mut checked = 0;
    macro_rules! round_trip {
        ($conn:expr, $out:expr, $count:expr; $enum:ident) => {
            for &variant in $enum::ALL {
                $count += 1;
                // Rust -> Postgres -> Rust.
                let back: QueryResult<$enum> =
                    diesel::select(variant.into_sql::<sql_types::$enum>()).get_result($conn);
                match back {
                    Ok(got) if got == variant => {}
                    Ok(got) => $out.push(format!("{variant:?} came back as {got:?}")),
                    Err(e) => $out.push(format!("{variant:?}: select failed: {e}")),
                }
                // Rust -> Postgres: bound as the enum type, with the right label.
                let bound: QueryResult<BoundLabel> =
                    diesel::sql_query("SELECT $1::text AS label, pg_typeof($1)::text AS type_name")
                        .bind::<sql_types::$enum, _>(variant)
                        .get_result($conn);
                let want = serde_name(&variant);
                match bound {
                    Ok(b) if b.label == want && b.type_name == $enum::PG_TYPE => {}
                    Ok(b) => $out.push(format!(
                        "{variant:?} was bound as {}::{}, expected {want}::{}",
                        b.label,
                        b.type_name,
                        $enum::PG_TYPE
                    )),
                    Err(e) => $out.push(format!("{variant:?}: bind failed: {e}")),
                }
            }
        };
    }
    for_each_enum!(round_trip!(&mut conn, failures, checked));
    assert!(
        failures.is_empty(),
        "enum variants that do not round-trip:\n  {}",
        failures.join("\n  ")
    );
    let labels_in_db: Vec<Label> = diesel::sql_query(
        "SELECT e.enumlabel::text AS label
           FROM pg_enum e
           JOIN pg_type t ON t.oid = e.enumtypid
           JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = current_schema()",
    )
    .load(&mut conn)
    .unwrap();
    assert_eq!(
        checked,
        labels_in_db.len(),
        "variants checked vs enum labels in the database"
    );
    assert!(checked >= 9, "only {checked} variants checked");
}

// ---------------------------------------------------------------------------
// updated_at trigger
// ---------------------------------------------------------------------------

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    table_name: String,
}

fn table_names(conn: &mut PgConnection, sql: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .load::<TableName>(conn)
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .into_iter()
        .map(|t| t.table_name)
        .collect()
}

#[derive(QueryableByName)]
struct Stamps {
    #[diesel(sql_type = Timestamptz)]
    updated_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Timestamptz)]
    tx_now: chrono::DateTime<chrono::Utc>,
}

#[test]
fn updated_at_trigger_on_every_table_with_updated_at() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();

    // Ordinary and partitioned tables with an updated_at column (partitions
    // inherit their parent's triggers and are covered by it).
    let with_column = table_names(
        &mut conn,
        "SELECT c.relname::text AS table_name
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid
          WHERE n.nspname = current_schema()
            AND c.relkind IN ('r', 'p')
            AND NOT c.relispartition
            AND a.attname = 'updated_at' AND a.attnum > 0 AND NOT a.attisdropped",
    );
    // Enabled row-level BEFORE UPDATE triggers calling set_updated_at().
    // tgtype bits: 1 ROW, 2 BEFORE, 16 UPDATE.
    let with_trigger = table_names(
        &mut conn,
        "SELECT c.relname::text AS table_name
           FROM pg_trigger t
           JOIN pg_class c ON c.oid = t.tgrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_proc p ON p.oid = t.tgfoid
          WHERE n.nspname = current_schema()
            AND NOT t.tgisinternal
            AND t.tgenabled <> 'D'
            AND p.proname = 'set_updated_at'
            AND t.tgtype & 1 = 1
            AND t.tgtype & 2 = 2
            AND t.tgtype & 16 = 16",
    );
    for table in [
        "users",
        "user_profiles",
        "subscriptions",
        "payments",
        "posts",
        "teams",
    ] {
        assert!(
            with_column.contains(table),
            "{table} should have updated_at; tables with it: {with_column:?}"
        );
    }
    let missing: Vec<&String> = with_column.difference(&with_trigger).collect();
    assert!(
        missing.is_empty(),
        "tables with updated_at but no enabled BEFORE UPDATE FOR EACH ROW trigger \
         calling set_updated_at(): {missing:?}"
    );
    // The other way round: the trigger on a table without the column fails
    // every update of it.
    let stray: Vec<&String> = with_trigger.difference(&with_column).collect();
    assert!(
        stray.is_empty(),
        "set_updated_at() triggers on tables without updated_at: {stray:?}"
    );

    // Behaviour: a write that does not mention updated_at still moves it, to
    // the writing transaction's now().
    let user = conn
        .users()
        .create(&NewUser::new("trigger@example.com", "Before"))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let after: Stamps = conn
        .transaction(|c| {
            diesel::sql_query(
                "UPDATE users SET name = 'After' WHERE id = $1 RETURNING updated_at, now() AS tx_now",
            )
            .bind::<diesel::sql_types::Uuid, _>(user.id)
            .get_result(c)
        })
        .unwrap();
    assert!(
        after.updated_at > user.updated_at,
        "updated_at did not advance: created with {}, after the raw UPDATE {}",
        user.updated_at,
        after.updated_at
    );
    assert_eq!(
        after.updated_at, after.tx_now,
        "updated_at should be the updating transaction's now()"
    );
    assert!(user.updated_at < after.tx_now);
    let stored = conn.users().get(user.id).unwrap();
    assert_eq!(stored.name, "After");
    assert_eq!(stored.updated_at, after.updated_at);
}

// ---------------------------------------------------------------------------
// Audit log partitions
// ---------------------------------------------------------------------------

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
             RETURNING tableoid::regclass::text AS table_name",
        )
        .load::<TableName>(c)?
        .into_iter()
        .map(|t| t.table_name)
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

/// `UserRepo::import` writes through COPY, which has no per-row DEFAULT, so
/// it fills locale and time zone from Rust constants; they must equal the
/// column defaults the table declares.
#[test]
fn rust_defaults_match_column_defaults() {
    #[derive(diesel::QueryableByName)]
    struct Default {
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_default: String,
    }
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let default_of = |conn: &mut diesel::PgConnection, column: &str| -> String {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "SELECT column_default FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = $1",
        )
        .bind::<diesel::sql_types::Text, _>(column)
        .get_result::<Default>(conn)
        .unwrap()
        .column_default
    };
    assert_eq!(
        default_of(&mut conn, "locale"),
        format!("'{}'::text", saas_db::users::DEFAULT_LOCALE)
    );
    assert_eq!(
        default_of(&mut conn, "timezone"),
        format!("'{}'::text", saas_db::users::DEFAULT_TIMEZONE)
    );
}
