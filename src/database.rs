//! [`Database`]: the pool, session settings, migrations and transactions.

use std::sync::Arc;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::ConnectionManager;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

use crate::conn_url::ConnUrl;
use crate::error::Result;
use crate::keyring::Keyring;
// The docs name the error variants; the code no longer does.
#[cfg(doc)]
use crate::error::Error;
use crate::pool::{EventSink, PgManager, PoolEvents, SessionSettings};
use crate::validate;

/// The migrations of every domain, compiled into the crate.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A hash of the migration files compiled into [`MIGRATIONS`] (build.rs):
/// it changes exactly when a migration does, so a test harness can name its
/// migrated template database after it.
pub const MIGRATIONS_FINGERPRINT: &str = env!("SAAS_DB_MIGRATIONS_FINGERPRINT");

/// Largest pool [`DatabaseBuilder::max_size`] accepts: far above any
/// server's `max_connections` in practice, and r2d2 reserves memory for
/// every slot up front (`u32::MAX` aborts the process).
pub const POOL_MAX_SIZE: u32 = 10_000;

/// A pooled connection; derefs to [`PgConnection`], so repositories
/// ([`crate::Repos`]) and plain Diesel queries both work on it.
pub type PooledConn = r2d2::PooledConnection<PgManager>;

/// Handle to the database: a connection pool plus settings. Cheap to clone
/// (clones share the pool), `Send + Sync`, so hand it to every thread.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    pool: r2d2::Pool<PgManager>,
    schema: Option<String>,
    events: Arc<PoolEvents>,
    token_keys: Keyring,
    transaction_pooling: bool,
    replicas: crate::replicas::ReplicaSet,
    /// Makes the change feed's dedicated connections (same URL and session).
    feed_manager: Arc<PgManager>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("schema", &self.inner.schema)
            .field("pool", &self.inner.pool.state())
            .finish()
    }
}

/// Settings for [`Database`]; start with [`Database::builder`]. `Debug`
/// hides the password of the URL and shows token key ids only.
#[derive(Debug, Clone)]
pub struct DatabaseBuilder {
    url: ConnUrl,
    max_size: u32,
    min_idle: Option<u32>,
    connection_timeout: Duration,
    statement_timeout: Option<Duration>,
    schema: Option<String>,
    application_name: String,
    run_migrations: bool,
    recheck_after: Duration,
    token_keys: Keyring,
    english_messages: bool,
    transaction_pooling: bool,
    pub(crate) replicas: crate::replicas::ReplicaConfig,
}

impl Database {
    /// Connects with default settings and applies pending migrations.
    ///
    /// # Errors
    /// [`Error::Connection`] when the server cannot be reached,
    /// [`Error::NotAvailable`] when its messages are not English and the
    /// role cannot set them (see [`DatabaseBuilder::build`]),
    /// [`Error::Migration`] when a migration fails.
    pub fn connect(url: &str) -> Result<Database> {
        Self::builder(url).build()
    }

    /// Settings for a new pool; defaults: 10 connections, 5 s connection
    /// timeout, no statement timeout, the server's search_path, migrations on.
    pub fn builder(url: &str) -> DatabaseBuilder {
        DatabaseBuilder {
            url: ConnUrl(url.to_owned()),
            max_size: 10,
            min_idle: None,
            connection_timeout: Duration::from_secs(5),
            statement_timeout: None,
            schema: None,
            application_name: "saas-db".to_owned(),
            run_migrations: true,
            recheck_after: Duration::from_secs(1),
            token_keys: Keyring::new(),
            english_messages: true,
            transaction_pooling: false,
            replicas: crate::replicas::ReplicaConfig::default(),
        }
    }

    /// Checks out a pooled connection.
    ///
    /// # Errors
    /// [`Error::PoolTimeout`] if none is free within the connection timeout,
    /// [`Error::Connection`] if a new connection could not be made.
    pub fn conn(&self) -> Result<PooledConn> {
        Ok(self.inner.pool.get()?)
    }

    /// Runs `f` in a transaction on a pooled connection: committed when `f`
    /// returns `Ok`, rolled back when it returns `Err` or panics; see
    /// [`crate::tx::run_transaction`].
    ///
    /// # Errors
    /// What `f` returns; a pool error; [`Error::CommitUnknown`] when the
    /// connection was lost during COMMIT (the outcome is unknown).
    pub fn transaction<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut PgConnection) -> Result<T>,
    {
        let mut conn = self.conn()?;
        crate::tx::run_transaction(&mut conn, f)
    }

    /// Runs `f` in a transaction as `policy` says (isolation, read-only,
    /// statement timeout), re-running it on serialization failure and
    /// deadlock with exponential backoff; see [`crate::tx::transaction_with_retry`].
    ///
    /// # Errors
    /// [`Error::Retryable`] when attempts ran out, [`Error::CommitUnknown`]
    /// when the connection was lost during COMMIT, or what `f` returned.
    pub fn transaction_with_retry<T, F>(&self, policy: &crate::tx::RetryPolicy, f: F) -> Result<T>
    where
        F: FnMut(&mut PgConnection) -> Result<T>,
    {
        let mut conn = self.conn()?;
        crate::tx::transaction_with_retry(&mut conn, policy, f)
    }

    /// Applies pending migrations under a PostgreSQL advisory lock, so that
    /// processes starting at the same time apply them once. Returns the
    /// versions applied (empty when up to date). In
    /// [`DatabaseBuilder::transaction_pooling`] mode they all run in one
    /// transaction under a transaction-scoped lock instead.
    ///
    /// # Errors
    /// [`Error::Migration`] when a migration fails (it is rolled back).
    pub fn migrate(&self) -> Result<Vec<String>> {
        let mut conn = self.conn()?;
        if self.inner.transaction_pooling {
            crate::pooling::migrate_in_one_transaction(&mut conn, self.inner.schema.as_deref())
        } else {
            crate::migrate::migrate(&mut conn, self.inner.schema.as_deref())
        }
    }

    /// Whether this pool runs in [`DatabaseBuilder::transaction_pooling`] mode.
    pub fn transaction_pooling(&self) -> bool {
        self.inner.transaction_pooling
    }

    /// The Postgres schema the tables live in, if one was chosen.
    pub fn schema(&self) -> Option<&str> {
        self.inner.schema.as_deref()
    }

    /// The underlying r2d2 pool, for hosts that need its full API.
    pub fn pool(&self) -> &r2d2::Pool<PgManager> {
        &self.inner.pool
    }

    /// The keys that encrypt OAuth provider tokens (empty unless given to
    /// [`DatabaseBuilder::token_keys`]); hand them to
    /// [`AccountRepo::with_keys`](crate::auth::AccountRepo::with_keys) and
    /// [`Account::access_token`](crate::auth::Account::access_token).
    pub fn token_keys(&self) -> &Keyring {
        &self.inner.token_keys
    }

    pub(crate) fn events(&self) -> &PoolEvents {
        &self.inner.events
    }

    pub(crate) fn replica_set(&self) -> &crate::replicas::ReplicaSet {
        &self.inner.replicas
    }

    /// Opens connections like the pool's, outside it (the change feed's).
    pub(crate) fn session_manager(&self) -> &Arc<PgManager> {
        &self.inner.feed_manager
    }
}

impl DatabaseBuilder {
    /// Maximum number of pooled connections (default 10).
    pub fn max_size(mut self, n: u32) -> Self {
        self.max_size = n;
        self
    }
    /// Idle connections kept open (default: `max_size`).
    pub fn min_idle(mut self, n: Option<u32>) -> Self {
        self.min_idle = n;
        self
    }
    /// How long `conn()` waits for a free connection (default 5 s).
    pub fn connection_timeout(mut self, t: Duration) -> Self {
        self.connection_timeout = t;
        self
    }
    /// Cancel statements running longer than this ([`Error::Timeout`]).
    pub fn statement_timeout(mut self, t: Duration) -> Self {
        self.statement_timeout = Some(t);
        self
    }
    /// Keep every table in this Postgres schema (created by `migrate`), the
    /// equivalent of a table prefix. Lower-case letters, digits and `_`.
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = Some(schema.to_owned());
        self
    }
    /// The schema set with [`DatabaseBuilder::schema`], if any: a test
    /// harness reads it to clone a database migrated into that schema.
    pub fn schema_name(&self) -> Option<&str> {
        self.schema.as_deref()
    }
    /// `application_name` shown in `pg_stat_activity` (default `saas-db`).
    pub fn application_name(mut self, name: &str) -> Self {
        self.application_name = name.to_owned();
        self
    }
    /// Whether `build` applies pending migrations (default true).
    pub fn run_migrations(mut self, yes: bool) -> Self {
        self.run_migrations = yes;
        self
    }
    /// A pooled connection idle for longer than this is checked with one
    /// round trip before it is handed out (default 1 s); one used more
    /// recently is handed out at once. Zero checks every checkout.
    pub fn recheck_after(mut self, t: Duration) -> Self {
        self.recheck_after = t;
        self
    }

    /// The keys that encrypt OAuth provider tokens at rest (the highest id
    /// encrypts, every one decrypts); without them, storing provider tokens
    /// is refused. Read back with [`Database::token_keys`].
    pub fn token_keys(mut self, keys: Keyring) -> Self {
        self.token_keys = keys;
        self
    }

    /// Whether `build` refuses a server whose messages are not English when
    /// the role cannot switch them to `C` (default true); with false it logs
    /// the same advice as a `tracing` WARN and goes on, and errors recognised
    /// by their message arrive as [`Error::Database`]. See the README's
    /// "Errors" section.
    pub fn require_english_messages(mut self, yes: bool) -> Self {
        self.english_messages = yes;
        self
    }

    /// For a URL that goes through a transaction-mode pooler (PgBouncer
    /// with `pool_mode=transaction`, or a hosted pooler like it): turns off
    /// Diesel's prepared statement cache on every connection, sets nothing
    /// for the session (no `search_path`, `statement_timeout`,
    /// `application_name` or `lc_messages`; `build` checks instead that the
    /// server applies the ones needed, see [`DatabaseBuilder::build`]), and
    /// runs migrations in one transaction under `pg_advisory_xact_lock`.
    /// Default false: direct connections keep their cached statements. See
    /// the README's "Deploying" section.
    pub fn transaction_pooling(mut self, yes: bool) -> Self {
        self.transaction_pooling = yes;
        self
    }

    /// Creates the pool, checks that the server answers in English (see
    /// [`DatabaseBuilder::require_english_messages`]), and applies pending
    /// migrations if asked to.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad schema or application name, a
    /// `max_size` outside 1..=[`POOL_MAX_SIZE`], a `min_idle` above it, a
    /// `connection_timeout` or `statement_timeout` outside
    /// [`validate::duration`]'s bounds (statement timeouts at most
    /// [`validate::STATEMENT_TIMEOUT_MAX`]),
    /// [`Error::Connection`] when no connection can be made (with the
    /// server's or libpq's reason), [`Error::NotAvailable`] when the server's
    /// `lc_messages` is not English and the role cannot set it (the message
    /// names the `ALTER DATABASE .. SET lc_messages = 'C'` to run),
    /// [`Error::Migration`]. In [`DatabaseBuilder::transaction_pooling`]
    /// mode: [`Error::Pooled`] when the server does not already apply the
    /// schema's `search_path` or the configured `statement_timeout` to this
    /// role (its `fix` names the `ALTER ROLE .. IN DATABASE .. SET ..` to
    /// run), and [`Error::NotAvailable`] for non-English messages even when
    /// the role could set them.
    pub fn build(self) -> Result<Database> {
        let schema = self
            .schema
            .as_deref()
            .map(|s| validate::identifier("schema", s).map(|_| s.to_owned()))
            .transpose()?;
        let app_name = validate::text("application_name", &self.application_name, 1, 63)?;
        validate::range("max_size", self.max_size, 1..=POOL_MAX_SIZE)?;
        if let Some(min_idle) = self.min_idle {
            // r2d2 would panic on a larger one.
            validate::range("min_idle", min_idle, 0..=self.max_size)?;
        }
        // r2d2 panics on a zero wait, and on one too long to add to an Instant.
        validate::duration(
            "connection_timeout",
            self.connection_timeout,
            validate::DURATION_MAX,
        )?;
        let statement_timeout = self
            .statement_timeout
            .map(|t| validate::duration("statement_timeout", t, validate::STATEMENT_TIMEOUT_MAX))
            .transpose()?;
        let session = SessionSettings {
            search_path: schema.as_deref().map(|s| {
                format!(
                    "{}, public",
                    validate::identifier("schema", s).unwrap_or_default()
                )
            }),
            statement_timeout: statement_timeout.map(|t| format!("{}ms", t.as_millis().max(1))),
            application_name: app_name.to_owned(),
            transaction_pooling: self.transaction_pooling,
        };
        let replicas = self
            .replicas
            .build(&session, self.max_size, self.recheck_after)?;
        let feed_manager = Arc::new(PgManager::new(
            ConnectionManager::new(self.url.0.clone()),
            session.clone(),
            self.recheck_after,
        ));
        let manager = PgManager::new(
            ConnectionManager::new(self.url.0),
            session,
            self.recheck_after,
        );
        let events = Arc::new(PoolEvents::default());
        let pool = r2d2::Pool::builder()
            .max_size(self.max_size)
            .min_idle(self.min_idle)
            .connection_timeout(self.connection_timeout)
            .test_on_check_out(true)
            .event_handler(Box::new(EventSink(Arc::clone(&events))))
            .build_unchecked(manager);
        let db = Database {
            inner: Arc::new(Inner {
                pool,
                schema,
                events,
                token_keys: self.token_keys,
                transaction_pooling: self.transaction_pooling,
                replicas,
                feed_manager,
            }),
        };
        let mut conn = db.conn()?;
        crate::server_locale::check(&mut conn, self.english_messages, self.transaction_pooling)?;
        if self.transaction_pooling {
            crate::pooling::check_server_settings(
                &mut conn,
                db.inner.schema.as_deref(),
                statement_timeout,
            )?;
        }
        drop(conn);
        if self.run_migrations {
            db.migrate()?;
        }
        Ok(db)
    }
}
