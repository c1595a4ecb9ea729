//! Statements whose text is fixed in this crate's source, sent as cached
//! prepared statements.
//!
//! Diesel never caches an `UPDATE` (its `UpdateStatement` marks itself
//! unsafe to cache, and a changeset with `Option` fields changes shape with
//! the input), nor an `INSERT` with optional values, nor `sql_query`. So a
//! hot write built with the query builder is parsed and planned by the
//! server on every call. A [`Statement`] is one fixed text; [`Prepared`]
//! sends it with its bind values ([`Prepared::bind`], then `.bind(..)` for
//! each further one, in placeholder order), and its query id is the
//! statement's own type, so Diesel prepares it once per connection and
//! reuses it, like the typed reads.
//!
//! Optional fields keep the text fixed: `col = COALESCE($n, col)` for a
//! column that cannot be NULL (`None` keeps it), and
//! `col = CASE WHEN $flag THEN $value ELSE col END` for a nullable one
//! (`Some(None)` writes NULL). Rows come back by column name
//! (`QueryableByName`), in any order.
//!
//! A statement names the columns it returns, never `*` (nor `t.*` over a
//! table): a prepared statement's result type is fixed when it is
//! prepared, so after a host's `ALTER TABLE .. ADD COLUMN` the server
//! refuses to run one that returns `*` (`cached plan must not change
//! result type`), on every connection that prepared it, for as long as it
//! lives. Each table's column list is written once, as a macro expanding to
//! a string literal next to its statements (`user_columns!()`, ..), so it
//! can go into `concat!` and `versioned_update_sql!`; `upd.*` over a
//! `RETURNING` list of named columns is fine. A test reads `src/` and
//! fails on a `*` in any `Statement::SQL` (`tests/it/faults/prepared/`).
//! What named columns cannot help with (a returned column's type changed,
//! or `DEALLOCATE` run on the connection) fails the call once: the pool
//! then closes that connection (`crate::pool`).

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A statement with fixed text: one type per statement, so the type is the
/// key of its cached prepared statement.
pub(crate) trait Statement: 'static {
    /// The SQL, with placeholders `$1`..`$n`, each once and in that order,
    /// one per [`Prepared::bind`] call. Written in this crate's source,
    /// never built from input; no other `$` in it.
    const SQL: &'static str;
}

/// The statement `S` with its bind values `B` (built by [`Prepared::bind`]).
pub(crate) struct Prepared<S, B = ()> {
    binds: B,
    _statement: PhantomData<S>,
}

/// The values bound so far: `()`, then one [`Bind`] per placeholder.
pub(crate) trait Binds {
    /// Pushes the text up to each bound placeholder, then the value, for
    /// this list in order, consuming `sql` as it goes.
    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>, sql: &mut &'static str)
        -> QueryResult<()>;
    /// How many values are bound.
    const COUNT: usize;
}

/// One bound value of SQL type `ST`, after the values `P`.
pub(crate) struct Bind<P, ST, V> {
    previous: P,
    value: V,
    _type: PhantomData<ST>,
}

impl Binds for () {
    fn walk<'b>(&'b self, _: &mut AstPass<'_, 'b, Pg>, _: &mut &'static str) -> QueryResult<()> {
        Ok(())
    }
    const COUNT: usize = 0;
}

impl<P: Binds, ST, V: ToSql<ST, Pg>> Binds for Bind<P, ST, V>
where
    Pg: HasSqlType<ST>,
{
    fn walk<'b>(
        &'b self,
        out: &mut AstPass<'_, 'b, Pg>,
        sql: &mut &'static str,
    ) -> QueryResult<()> {
        self.previous.walk(out, sql)?;
        let (before, after) = placeholder(sql, Self::COUNT);
        out.push_sql(before);
        // Diesel numbers placeholders itself, in push order: the text's own
        // `$n` is dropped and the same `$n` comes back.
        out.push_bind_param::<ST, V>(&self.value)?;
        *sql = after;
        Ok(())
    }
    const COUNT: usize = P::COUNT + 1;
}

/// The text before the next placeholder and the text after it. The
/// placeholder must be `$n`: statements are written by hand, so a wrong
/// numbering or count is a bug caught by the first call in any test.
fn placeholder(sql: &'static str, n: usize) -> (&'static str, &'static str) {
    let at = sql
        .find('$')
        .unwrap_or_else(|| panic!("no placeholder ${n} in statement"));
    let digits = sql[at + 1..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(sql.len() - at - 1);
    let after = &sql[at + 1 + digits..];
    assert_eq!(
        sql[at + 1..at + 1 + digits].parse::<usize>().ok(),
        Some(n),
        "placeholders must be $1..$n in order"
    );
    (&sql[..at], after)
}

impl<S: Statement> Prepared<S> {
    /// The statement, with no values bound yet.
    pub(crate) fn new() -> Self {
        Prepared {
            binds: (),
            _statement: PhantomData,
        }
    }
}

impl<S: Statement, B: Binds> Prepared<S, B> {
    /// Binds the next placeholder to `value`, of SQL type `ST`.
    pub(crate) fn bind<ST, V>(self, value: V) -> Prepared<S, Bind<B, ST, V>> {
        Prepared {
            binds: Bind {
                previous: self.binds,
                value,
                _type: PhantomData,
            },
            _statement: PhantomData,
        }
    }
}

impl<S: Statement, B: Binds> QueryFragment<Pg> for Prepared<S, B> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut sql = S::SQL;
        self.binds.walk(&mut out, &mut sql)?;
        assert!(
            !sql.contains('$'),
            "a placeholder of {} was not bound",
            S::SQL
        );
        out.push_sql(sql);
        Ok(())
    }
}

/// The statement's type is its cache key: one statement, one text, one
/// list of bind types.
impl<S: Statement, B> QueryId for Prepared<S, B> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S: Statement, B> Query for Prepared<S, B> {
    type SqlType = Untyped;
}

impl<S: Statement, B, C> RunQueryDsl<C> for Prepared<S, B> {}
