//! The two SQL pieces of a keyset page that Diesel's DSL does not write the
//! way PostgreSQL plans best for a cached statement:
//!
//! - [`RowCmp`]: `(sort, id) > ($1, $2)`, a row comparison. PostgreSQL uses
//!   it as one index condition on `(sort, id)`, and its generic plan is
//!   cheap enough to be chosen; the equivalent `sort >= $1 AND (sort > $1
//!   OR id > $2)` looks expensive with unknown parameters, so every
//!   execution was planned anew.
//! - [`PageLimit`]: `LIMIT 21` written as a number. With `LIMIT $n` the
//!   generic plan cannot know how few rows are wanted, for the same result.
//!
//! Measured in BENCHMARKS.md: together they halved the cost of a page.

use diesel::expression::{is_aggregate, AppearsOnTable, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Bool;

/// `(sort, id) <op> (key, key_id)`, `op` one of `<` and `>`: the filter
/// [`paginate`](super::paginate) adds after a cursor. Public because it
/// appears in `paginate`'s bounds; only the crate builds one.
#[derive(Debug, Clone)]
pub struct RowCmp<S, I, K, J> {
    pub(crate) sort: S,
    pub(crate) id: I,
    pub(crate) key: K,
    pub(crate) key_id: J,
    pub(crate) greater: bool,
}

impl<S, I, K, J> Expression for RowCmp<S, I, K, J> {
    type SqlType = Bool;
}

impl<S, I, K, J> QueryFragment<Pg> for RowCmp<S, I, K, J>
where
    S: QueryFragment<Pg>,
    I: QueryFragment<Pg>,
    K: QueryFragment<Pg>,
    J: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("((");
        self.sort.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id.walk_ast(out.reborrow())?;
        out.push_sql(if self.greater { ") > (" } else { ") < (" });
        self.key.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.key_id.walk_ast(out.reborrow())?;
        out.push_sql("))");
        Ok(())
    }
}

impl<S, I, K, J> QueryId for RowCmp<S, I, K, J> {
    type QueryId = ();
    // The operator is a runtime value: cache by SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S, I, K, J, GB> ValidGrouping<GB> for RowCmp<S, I, K, J> {
    type IsAggregate = is_aggregate::Never;
}

impl<S, I, K, J, QS> AppearsOnTable<QS> for RowCmp<S, I, K, J>
where
    S: AppearsOnTable<QS>,
    I: AppearsOnTable<QS>,
    K: AppearsOnTable<QS>,
    J: AppearsOnTable<QS>,
{
}

impl<S, I, K, J, QS> SelectableExpression<QS> for RowCmp<S, I, K, J> where Self: AppearsOnTable<QS> {}

/// `query LIMIT <rows>`, the count written as a number (see the module
/// docs). It is a `u32` of at most `MAX_LIMIT + 1`, so it cannot carry SQL;
/// each page size gets its own cached statement. Public because it appears
/// in [`paginate`](super::paginate)'s bounds; only the crate builds one.
#[derive(Debug, Clone)]
pub struct PageLimit<Q> {
    pub(crate) query: Q,
    pub(crate) rows: u32,
}

impl<Q: Query> Query for PageLimit<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for PageLimit<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for PageLimit<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_sql(&self.rows.to_string());
        Ok(())
    }
}

impl<Q> diesel::RunQueryDsl<PgConnection> for PageLimit<Q> {}
