//! Integration tests against a real PostgreSQL: one binary (one throwaway
//! server and one template per run), one module per concern.

mod analytics;
mod audit_log;
mod auth;
mod bad_input;
mod billing;
mod bulk;
mod catalog;
mod content;
mod database;
mod embedded;
mod input;
mod migrations;
mod ops;
mod optimistic_locking;
mod pagination;
mod reliability;
mod secrets;
mod support;
mod teams;
mod users;
