//! `Error::http_status`, `Error::code` and the axum response (feature
//! `axum`): every variant's status, real errors from PostgreSQL mapped
//! through them, and bodies that do not echo SQL, server messages or input.

use axum::response::IntoResponse;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use saas_db::users::{NewUser, UserChanges};
use saas_db::{Cursor, Error, Repos, UserId};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use crate::support::{app_database, user};

/// Every variant, built by hand, with its status and code.
#[test]
fn every_variant_has_its_status_and_code() {
    let s = || "x".to_owned();
    let table: Vec<(Error, u16, &str)> = vec![
        (Error::NotFound { entity: "user" }, 404, "not_found"),
        (Error::Conflict { constraint: s() }, 409, "conflict"),
        (
            Error::Stale {
                entity: "user",
                id: Uuid::nil(),
                expected: 1,
                actual: 2,
            },
            409,
            "stale",
        ),
        (Error::invalid("email", "is malformed"), 422, "invalid"),
        (Error::ForeignKey { constraint: s() }, 409, "foreign_key"),
        (Error::Forbidden { reason: s() }, 403, "forbidden"),
        (Error::Unauthorized, 401, "unauthorized"),
        (
            Error::InvalidCursor { reason: "bad" },
            400,
            "invalid_cursor",
        ),
        (Error::Timeout, 503, "timeout"),
        (Error::Locked, 503, "locked"),
        (Error::PoolTimeout { detail: s() }, 503, "pool_timeout"),
        (
            Error::Retryable {
                attempts: 3,
                message: s(),
            },
            503,
            "retryable",
        ),
        (Error::Connection(s()), 503, "connection"),
        (Error::Cancelled, 503, "cancelled"),
        (Error::CommitUnknown(s()), 500, "commit_unknown"),
        (Error::NotAvailable(s()), 500, "not_available"),
        (
            Error::Pooled {
                what: s(),
                fix: s(),
            },
            500,
            "pooled",
        ),
        (
            Error::Decrypt {
                field: "access_token",
                reason: s(),
            },
            500,
            "decrypt",
        ),
        (Error::ReadOnly(s()), 500, "read_only"),
        (Error::LeaseLost { id: Uuid::nil() }, 500, "lease_lost"),
        (Error::Panicked(s()), 500, "panicked"),
        (Error::Migration(s()), 500, "migration"),
        (
            Error::Database(DieselError::RollbackTransaction),
            500,
            "database",
        ),
    ];
    for (error, status, code) in &table {
        assert_eq!(error.http_status(), *status, "{error:?}");
        assert_eq!(error.code(), *code, "{error:?}");
        assert_eq!(error.public_body().code, *code);
    }
    let codes: std::collections::HashSet<_> = table.iter().map(|(_, _, c)| c).collect();
    assert_eq!(codes.len(), table.len(), "codes are distinct");
}

/// Real errors, as the repositories and the classifier produce them from
/// PostgreSQL, get the status their variant has.
#[test]
fn real_errors_get_their_status() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");
    let status = |result: Result<(), Error>| result.unwrap_err().http_status();
    let mut c = test_db.conn().unwrap();
    assert_eq!(status(c.users().get(UserId::now_v7()).map(drop)), 404);
    let dup = NewUser::new("ann@example.com", "Twin");
    assert_eq!(status(c.users().create(&dup).map(drop)), 409);
    let rename = UserChanges {
        name: Some("Anna".into()),
        ..Default::default()
    };
    assert_eq!(
        status(c.users().update(ann.id, ann.version + 1, &rename).map(drop)),
        409
    );
    let bad = NewUser::new("not an email", "B");
    assert_eq!(status(c.users().create(&bad).map(drop)), 422);
    let orphan = diesel::sql_query(
        "INSERT INTO user_profiles (user_id) VALUES ('00000000-0000-0000-0000-000000000001')",
    )
    .execute(&mut c);
    assert_eq!(status(orphan.map(drop).map_err(Error::from)), 409);
    assert_eq!(status("garbage".parse::<Cursor>().map(drop)), 400);
    assert_eq!(status(c.auth().confirm_email("bogus").map(drop)), 401);
    let truncate =
        diesel::sql_query("TRUNCATE users").execute(&mut app_database(&test_db).conn().unwrap());
    assert_eq!(status(truncate.map(drop).map_err(Error::from)), 403);
    let slow = diesel::sql_query("SET statement_timeout = '20ms'")
        .execute(&mut c)
        .and_then(|_| diesel::sql_query("SELECT pg_sleep(2)").execute(&mut c));
    assert_eq!(status(slow.map(drop).map_err(Error::from)), 503);
    diesel::sql_query("RESET statement_timeout")
        .execute(&mut c)
        .unwrap();
    let held = test_db.db().transaction(|tx| {
        tx.users().lock(ann.id)?;
        let other = test_db
            .db()
            .transaction(|other| other.users().try_lock(ann.id));
        Ok(other.map(drop))
    });
    assert_eq!(status(held.unwrap()), 503);
    let unknown = diesel::sql_query("SELECT no_such_column FROM users").execute(&mut c);
    assert_eq!(status(unknown.map(drop).map_err(Error::from)), 500);
}

/// The JSON body of the axum response and its status.
fn respond(error: Error) -> (u16, serde_json::Value) {
    let response = error.into_response();
    let status = response.status().as_u16();
    let body = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(axum::body::to_bytes(response.into_body(), 64 * 1024))
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

/// The axum response carries the status and `{code, message[, field]}`;
/// for errors that came from the server the body echoes neither the SQL,
/// nor the server's message (table, column and constraint names), nor the
/// values that were sent: only the field at fault.
#[test]
fn response_bodies_are_safe() {
    let test_db = TestDatabase::new();
    let mut conn = test_db.conn().unwrap();
    user(&mut conn, "taken@example.com");
    let mut sql_error = |sql: &str| -> Error {
        diesel::sql_query(sql)
            .execute(&mut conn)
            .unwrap_err()
            .into()
    };

    let unknown = sql_error("SELECT secret_column FROM users WHERE email = 'leak@example.com'");
    assert!(matches!(unknown, Error::Database(_)), "{unknown:?}");
    assert!(
        unknown.to_string().contains("secret_column"),
        "the log keeps it"
    );
    let (status, body) = respond(unknown);
    assert_eq!(status, 500);
    assert_eq!(
        body,
        serde_json::json!({"code": "database", "message": "internal server error"})
    );

    let check =
        sql_error("INSERT INTO users (email, name) VALUES ('Upper@Example.com', 'Secret Name')");
    assert!(matches!(check, Error::Invalid { .. }), "{check:?}");
    let (status, body) = respond(check);
    assert_eq!(status, 422);
    let expected = serde_json::json!({"code": "invalid", "message": "invalid users_email_format", "field": "users_email_format"});
    assert_eq!(body, expected, "no server message, no values");

    let dup = sql_error("INSERT INTO users (email, name) VALUES ('taken@example.com', 'T')");
    let (status, body) = respond(dup);
    assert_eq!(status, 409);
    assert_eq!(
        body,
        serde_json::json!({"code": "conflict", "message": "email is already taken", "field": "email"}),
        "the input field (error::UNIQUE_FIELDS), never the constraint or the value"
    );

    let truncate: Error = diesel::sql_query("TRUNCATE users")
        .execute(&mut app_database(&test_db).conn().unwrap())
        .unwrap_err()
        .into();
    let (status, body) = respond(truncate);
    assert_eq!(status, 403);
    assert_eq!(
        body,
        serde_json::json!({"code": "forbidden", "message": "not allowed"})
    );

    let (status, body) = respond(Error::NotFound { entity: "user" });
    assert_eq!(status, 404);
    assert_eq!(
        body,
        serde_json::json!({"code": "not_found", "message": "user not found"})
    );
    // The crate's own validation reasons are meant for people and stay.
    let (status, body) = respond(Error::invalid("name", "must not be blank"));
    assert_eq!(status, 422);
    let expected = serde_json::json!({"code": "invalid", "message": "invalid name: must not be blank", "field": "name"});
    assert_eq!(body, expected);
    let (status, body) = respond(Error::PoolTimeout {
        detail: "postgres://u:pw@host".into(),
    });
    assert_eq!(status, 503);
    assert!(!body.to_string().contains("pw@"), "{body}");
}
