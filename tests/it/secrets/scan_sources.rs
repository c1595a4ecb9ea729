//! Where the secret scan looks: every row of every table as text,
//! `pg_stat_statements`, the server log with `log_statement = 'all'`, and
//! captured tracing output. Parts the server cannot offer (an extension not
//! loaded, a log that cannot be read) are skipped with a printed note.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use saas_db_testing::TestDatabase;

#[derive(QueryableByName)]
pub struct RowText {
    #[diesel(sql_type = Text)]
    pub relation: String,
    #[diesel(sql_type = Text)]
    pub row_text: String,
}

#[derive(QueryableByName)]
struct Relation {
    #[diesel(sql_type = Text)]
    relation: String,
}

/// The name of every table the scan reads: plain tables and partitions
/// (partitioned parents hold no rows themselves) in every schema that is
/// not the system's.
pub fn tables(conn: &mut PgConnection) -> Vec<String> {
    diesel::sql_query(
        "SELECT c.oid::regclass::text AS relation
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'm')
            AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'",
    )
    .load::<Relation>(conn)
    .unwrap()
    .into_iter()
    .map(|r| r.relation)
    .collect()
}

/// Every row of those tables as `row::text` (bytea as hex), read by a
/// session function so no table name is ever pasted into SQL on our side.
pub fn rows(conn: &mut PgConnection) -> Vec<RowText> {
    conn.batch_execute(
        "CREATE OR REPLACE FUNCTION pg_temp.rows_as_text(rel regclass) RETURNS SETOF text
         LANGUAGE plpgsql AS $$
         BEGIN RETURN QUERY EXECUTE format('SELECT t::text FROM %s t', rel); END $$",
    )
    .unwrap();
    diesel::sql_query(
        "SELECT c.oid::regclass::text AS relation, r.row_text
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           CROSS JOIN LATERAL pg_temp.rows_as_text(c.oid::regclass) AS r(row_text)
          WHERE c.relkind IN ('r', 'm')
            AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'",
    )
    .load(conn)
    .unwrap()
}

#[derive(QueryableByName)]
struct Query {
    #[diesel(sql_type = Text)]
    query: String,
}

/// Creates the extension in this database so its view can be read; `Err`
/// with the reason when the server does not offer it.
pub fn enable_pg_stat_statements(conn: &mut PgConnection) -> Result<(), String> {
    conn.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .map_err(|e| e.to_string())?;
    statements(conn).map(|_| ())
}

/// The statement texts `pg_stat_statements` keeps for this database.
pub fn statements(conn: &mut PgConnection) -> Result<Vec<String>, String> {
    diesel::sql_query(
        "SELECT query FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .load::<Query>(conn)
    .map(|rows| rows.into_iter().map(|q| q.query).collect())
    .map_err(|e| e.to_string())
}

/// Where the server log is and how far it was read.
pub enum ServerLog {
    /// The throwaway cluster's log file.
    File(std::path::PathBuf, u64),
    /// A server's current log file, read through `pg_read_file`.
    Server(String, i64),
}

#[derive(QueryableByName)]
struct LogFile {
    #[diesel(sql_type = Text)]
    path: String,
    #[diesel(sql_type = BigInt)]
    size: i64,
}

#[derive(QueryableByName)]
struct Chunk {
    #[diesel(sql_type = Text)]
    text: String,
}

impl ServerLog {
    /// Turns on `log_statement = 'all'` for this database (new sessions)
    /// and notes the end of the log, so `read_new` returns what follows.
    pub fn start(conn: &mut PgConnection) -> Result<ServerLog, String> {
        conn.batch_execute(
            "DO $$ BEGIN
               EXECUTE format('ALTER DATABASE %I SET log_statement = %L', current_database(), 'all');
             END $$",
        )
        .map_err(|e| format!("cannot set log_statement: {e}"))?;
        // The log of the server the test databases live on (the throwaway
        // one shared by the run); none with DATABASE_URL.
        if let Some(path) = TestDatabase::server_log().map_err(|e| e.to_string())? {
            let len = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
            return Ok(ServerLog::File(path, len));
        }
        let file: LogFile = diesel::sql_query(
            "SELECT f AS path, (pg_stat_file(f)).size AS size FROM pg_current_logfile() f
              WHERE f IS NOT NULL",
        )
        .get_result(conn)
        .map_err(|e| format!("no readable server log (logging_collector off?): {e}"))?;
        Ok(ServerLog::Server(file.path, file.size))
    }

    /// The log written since `start`.
    pub fn read_new(&self, conn: &mut PgConnection) -> String {
        match self {
            ServerLog::File(path, from) => {
                let mut file = std::fs::File::open(path).unwrap();
                file.seek(SeekFrom::Start(*from)).unwrap();
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes).unwrap();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            ServerLog::Server(path, from) => diesel::sql_query(
                "SELECT pg_read_file($1, $2, (pg_stat_file($1)).size - $2) AS text",
            )
            .bind::<Text, _>(path)
            .bind::<BigInt, _>(from)
            .get_result::<Chunk>(conn)
            .map(|c| c.text)
            .unwrap_or_else(|e| panic!("reading the server log {path}: {e}")),
        }
    }
}

/// Everything written to it, for a tracing subscriber's writer.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Runs `f` with every tracing event (all levels) written here.
    pub fn during<T>(&self, f: impl FnOnce() -> T) -> T {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
