//! Foreign keys: every one indexed, every one with the ON DELETE rule it was
//! given on purpose.

use std::collections::BTreeMap;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, SmallInt, Text};
use saas_db_testing::TestDatabase;

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
