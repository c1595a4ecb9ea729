//! Integration tests against a real PostgreSQL: one binary (one throwaway
//! server and one template per run), one module per concern.

// The tests use Diesel's own transactions where a host would (clippy.toml
// forbids them in the crate, which must report a lost COMMIT).
#![allow(clippy::disallowed_methods)]

mod analytics;
mod async_run;
mod audit_checks;
mod audit_export;
mod audit_log;
mod auth;
mod bad_input;
mod billing;
mod budget;
mod bulk;
mod catalog;
mod content;
mod cursor_scope;
mod database;
mod defaults;
mod embedded;
mod embedded_replica;
mod error_table;
mod fast_changes;
mod fast_writes;
mod faults;
mod from_env;
mod harness;
mod host_tables;
mod http_status;
mod identity;
mod ids;
mod input;
mod live;
mod migrations;
mod no_offset;
mod ops;
mod optimistic_locking;
mod outbox;
mod pagination;
mod pgbouncer;
mod reliability;
mod replicas;
mod review;
mod schema_docs;
mod secrets;
mod server_locale;
mod sign_in_cost;
mod soft_delete;
mod support;
mod sweeping;
mod teams;
mod users;
mod version_trigger;
mod web;
