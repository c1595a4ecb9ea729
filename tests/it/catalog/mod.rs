//! The schema as PostgreSQL sees it: every foreign key indexed and with a
//! deliberate ON DELETE rule, Postgres enums equal to the Rust enums, the
//! updated_at trigger everywhere it belongs, and the audit log partitioning.

mod columns;
mod enums;
mod foreign_keys;
mod partitions;
mod unique_fields;
