//! Duration, timestamp and JSON rows.

use std::time::Duration;

use saas_db::audit::AuditEntry;
use saas_db::auth::SessionOptions;
use saas_db::billing::{NewPayment, NewSubscription};
use saas_db::enums::{TeamRole, TokenKind};
use saas_db::tx::RetryPolicy;
use saas_db::Repos;

use super::super::table::{row, DurationCall, JsonCall, Row, TimestampCall};
use super::super::valid_payment;
use super::things::provider_subscription;
use super::{build, fresh_user};
use crate::support::acting_as;

pub(crate) fn duration_rows() -> Vec<Row<DurationCall>> {
    vec![
        row("sessions.create ttl", "ttl", |c, w, d| {
            c.sessions()
                .create(w.user.id, SessionOptions::new(d))
                .map(drop)
        }),
        row("sessions.touch ttl", "ttl", |c, w, d| {
            c.sessions().touch(w.session_id, d).map(drop)
        }),
        row("verification_tokens.issue ttl", "ttl", |c, _, d| {
            c.verification_tokens()
                .issue(TokenKind::MagicLink, "ttl@example.com", None, d)
                .map(drop)
        }),
        row(
            "verification_tokens.recent_count window",
            "window",
            |c, _, d| {
                c.verification_tokens()
                    .recent_count("ttl@example.com", TokenKind::MagicLink, d)
                    .map(drop)
            },
        ),
        row("subscriptions.start trial", "trial", |c, w, d| {
            let u = fresh_user(c, w)?;
            c.subscriptions()
                .start(&NewSubscription::new(u.id, w.plan.id).trial(d))
                .map(drop)
        }),
        row("teams.invite ttl", "ttl", |c, w, d| {
            c.teams()
                .invite(
                    &w.owner,
                    w.team.id,
                    "guest@example.com",
                    TeamRole::Member,
                    d,
                )
                .map(drop)
        }),
        row("auth.sign_in_with_password ttl", "ttl", |c, w, d| {
            let client = SessionOptions {
                ttl: d,
                ip: None,
                user_agent: None,
            };
            c.auth()
                .sign_in_with_password(&w.user.email, w.password(), client)
                .map(drop)
        }),
        row("auth.sign_in_with_magic_link ttl", "ttl", |c, w, d| {
            let (_, token) = c.verification_tokens().issue(
                TokenKind::MagicLink,
                &w.user.email,
                Some(w.user.id),
                Duration::from_secs(60),
            )?;
            let client = SessionOptions {
                ttl: d,
                ip: None,
                user_agent: None,
            };
            c.auth()
                .sign_in_with_magic_link(token.as_str(), client)
                .map(drop)
        }),
        row(
            "tx::set_local_statement_timeout",
            "statement_timeout",
            |c, _, d| {
                diesel::Connection::transaction(c, |tx| {
                    saas_db::tx::set_local_statement_timeout(tx, d)
                })
            },
        ),
        row(
            "RetryPolicy::statement_timeout",
            "statement_timeout",
            |_, w, d| {
                w.db.transaction_with_retry(&RetryPolicy::new().statement_timeout(d), |_| Ok(()))
            },
        ),
        row("Database::health_within", "deadline", |_, w, d| {
            let started = std::time::Instant::now();
            drop(w.db.health_within(d));
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "health_within did not return"
            );
            Ok(())
        }),
        row(
            "DatabaseBuilder::connection_timeout",
            "connection_timeout",
            |_, w, d| build(w, |b| b.connection_timeout(d)),
        ),
        row(
            "DatabaseBuilder::statement_timeout",
            "statement_timeout",
            |_, w, d| build(w, |b| b.statement_timeout(d)),
        ),
        row(
            "DatabaseBuilder::recheck_after",
            "recheck_after",
            |_, w, d| build(w, |b| b.recheck_after(d)),
        ),
    ]
}

pub(crate) fn json_rows() -> Vec<Row<JsonCall>> {
    vec![
        row("payments.record metadata", "metadata", |c, w, json| {
            let payment = NewPayment {
                metadata: std::mem::take(json),
                ..valid_payment(w.user.id)
            };
            let result = c.payments().record(&payment).map(drop);
            *json = payment.metadata;
            result
        }),
        row("audit.record changes", "changes", |c, _, json| {
            let entry = AuditEntry::new("did", "thing", None).changes(std::mem::take(json));
            let result = c.audit().record(&entry).map(drop);
            *json = entry.changes;
            result
        }),
        row("audit.record metadata", "metadata", |c, _, json| {
            let entry = AuditEntry::new("did", "thing", None).metadata(std::mem::take(json));
            let result = c.audit().record(&entry).map(drop);
            *json = entry.metadata;
            result
        }),
        row(
            "audit.record_many metadata",
            "entries[0].metadata",
            |c, _, json| {
                let entries =
                    [AuditEntry::new("did", "thing", None).metadata(std::mem::take(json))];
                let result = c.audit().record_many(&entries).map(drop);
                let [entry] = entries;
                *json = entry.metadata;
                result
            },
        ),
        row("validate::json_object", "field", |_, _, json| {
            saas_db::validate::json_object("field", json)
        }),
    ]
}

pub(crate) fn timestamp_rows() -> Vec<Row<TimestampCall>> {
    vec![
        row("users.ban until", "until", |c, w, t| {
            let u = fresh_user(c, w)?;
            c.users()
                .ban(&acting_as(u.id), u.id, Some(t), Some("spam"))
                .map(drop)
        }),
        row("audit.export since", "since", |c, _, t| {
            c.audit().export(Some(t), |_| Ok(())).map(drop)
        }),
        row(
            "audit.drop_partitions_before cutoff",
            "cutoff",
            |c, _, t| c.audit().drop_partitions_before(t).map(drop),
        ),
        row(
            "subscriptions.sync_from_provider then renew",
            "current_period_end",
            |c, w, t| {
                let u = fresh_user(c, w)?;
                let id = w.unique("sub");
                let mut incoming = provider_subscription(u.id, w.plan.id, &id, None);
                incoming.current_period_end = Some(t);
                let (s, _) = c.subscriptions().sync_from_provider(&incoming)?;
                c.subscriptions().renew(s.id).map(drop)
            },
        ),
        row(
            "subscriptions.sync_from_provider start",
            "current_period_start",
            |c, w, t| {
                let u = fresh_user(c, w)?;
                let id = w.unique("sub");
                let mut incoming = provider_subscription(u.id, w.plan.id, &id, None);
                incoming.current_period_start = Some(t);
                c.subscriptions().sync_from_provider(&incoming).map(drop)
            },
        ),
    ]
}
