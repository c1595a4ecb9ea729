//! Postgres enums: the same labels, in the same order, as the Rust enums of
//! `saas_db::enums`, and every variant round-trips.

use std::collections::BTreeSet;
use std::fmt::Debug;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::enums::{
    BillingInterval, PaymentStatus, PostStatus, SubscriptionStatus, TeamKind, TeamRole, Theme,
    TokenKind, UserRole,
};
use saas_db::schema::sql_types;
use saas_db_testing::TestDatabase;
use serde::Serialize;

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
