//! Monthly partitions of the audit log: create ahead, drop behind. Retention
//! removes whole partitions (a catalog operation), never rows, so the
//! append-only rule holds and old months go without a long DELETE.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};

use super::AuditRepo;
use crate::error::{Error, Result};

#[derive(QueryableByName)]
struct Created {
    #[diesel(sql_type = Integer)]
    created: i32,
}

#[derive(QueryableByName)]
struct Dropped {
    #[diesel(sql_type = Text)]
    name: String,
}

impl AuditRepo<'_> {
    /// Creates the partitions for this month and the next `months_ahead`
    /// (UTC months) that do not exist yet; how many it created. Run it from
    /// a daily job: an entry for a month without a partition lands in the
    /// default partition instead of failing, and such a month is then
    /// skipped (with a server WARNING) since its partition could not hold
    /// the entries already there; the other months are still created.
    ///
    /// # Errors
    /// [`Error::Invalid`] for `months_ahead` above 120.
    pub fn ensure_partitions(&mut self, months_ahead: u32) -> Result<u32> {
        if months_ahead > 120 {
            return Err(Error::invalid("months_ahead", "must be at most 120"));
        }
        let row: Created = diesel::sql_query("SELECT audit_logs_ensure_partitions($1) AS created")
            .bind::<Integer, _>(months_ahead as i32)
            .get_result(self.conn)?;
        Ok(row.created as u32)
    }

    /// Drops every monthly partition that ends on or before `cutoff`,
    /// returning their names (`audit_logs_pYYYYMM`), oldest first. Needs the
    /// tables' owner. Entries of the month containing `cutoff` are kept.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `cutoff` when it is after the start of the
    /// current UTC month or outside [`crate::validate::timestamp`]'s range; database errors (for instance insufficient
    /// privilege).
    pub fn drop_partitions_before(&mut self, cutoff: DateTime<Utc>) -> Result<Vec<String>> {
        let now = Utc::now();
        let this_month = Utc
            .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
            .single()
            .unwrap_or(now);
        let cutoff = crate::validate::timestamp("cutoff", cutoff)?;
        if cutoff > this_month {
            return Err(Error::invalid(
                "cutoff",
                "must not be after the start of the current month (UTC): retention never drops the month being written",
            ));
        }
        let dropped: Vec<Dropped> =
            diesel::sql_query("SELECT audit_logs_drop_partitions_before($1) AS name")
                .bind::<Timestamptz, _>(cutoff)
                .load(self.conn)?;
        Ok(dropped.into_iter().map(|d| d.name).collect())
    }
}
