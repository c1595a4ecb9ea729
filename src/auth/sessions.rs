//! Sign-in sessions: [`SessionRepo`]. The client holds a 256-bit token; the
//! table holds its SHA-256.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Interval, Nullable, Text};
use serde::{Deserialize, Serialize};

use super::secret::{self, Token};
use super::SessionOptions;
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::inet::{to_inet, InetAddr};
use crate::prepared::{Prepared, Statement};
use crate::schema::{sessions, users};
use crate::sql::{interval, purge_in_batches};
use crate::users::{may_sign_in, User};
use crate::validate;

/// Sliding expiry writes at most this often per session.
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A session. Its token is not here: it was returned once by `create`.
#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Serialize, Deserialize,
)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// Whose.
    pub user_id: UserId,
    /// When it stops validating (moved forward by `touch`).
    pub expires_at: DateTime<Utc>,
    /// Last activity recorded by `touch`.
    pub last_seen_at: DateTime<Utc>,
    /// Client address at creation: the [`IpAddr`] given to `create` (or
    /// [`SessionOptions::ip`](super::SessionOptions::ip)), IPv4 or IPv6.
    #[diesel(deserialize_as = InetAddr)]
    pub ip_address: Option<IpAddr>,
    /// Client user agent at creation.
    pub user_agent: Option<String>,
    /// When it was revoked (sign-out, password reset).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// Sessions repository, from `conn.sessions()`.
pub struct SessionRepo<'c> {
    conn: &'c mut PgConnection,
}

/// [`SessionRepo::create`]: one statement, the user's eligibility checked
/// where the row is made.
struct CreateSession;

impl Statement for CreateSession {
    const SQL: &'static str =
        "INSERT INTO sessions (id, user_id, token_hash, expires_at, ip_address, user_agent)
         SELECT $1, u.id, $2, now() + $3, $4, $5 FROM users u
          WHERE u.id = $6 AND u.deleted_at IS NULL
            AND (u.banned_at IS NULL OR u.ban_expires_at <= now())
         RETURNING id, user_id, expires_at, last_seen_at, ip_address, user_agent, revoked_at, created_at";
}

/// [`SessionRepo::touch`]: writes only when the last write is older than
/// `$3` ([`TOUCH_INTERVAL`]).
struct TouchSession;

impl Statement for TouchSession {
    const SQL: &'static str = "UPDATE sessions SET last_seen_at = now(), expires_at = now() + $1
         WHERE id = $2 AND revoked_at IS NULL AND expires_at > now()
           AND last_seen_at < now() - $3";
}

/// [`SessionRepo::revoke`]: keeps the first revocation time.
struct RevokeSession;

impl Statement for RevokeSession {
    const SQL: &'static str =
        "UPDATE sessions SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1";
}

/// [`SessionRepo::revoke_all_for_user`]: the live sessions of `$1` but the
/// one kept (`$2`; NULL keeps none).
struct RevokeAllSessions;

impl Statement for RevokeAllSessions {
    const SQL: &'static str = "UPDATE sessions SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
           AND id IS DISTINCT FROM $2";
}

impl<'c> SessionRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        SessionRepo { conn }
    }

    /// Starts a session for a user who may sign in (exists, not deleted,
    /// not banned), living `options.ttl`, recording the client's address and
    /// user agent if given (the same [`SessionOptions`] the sign-in flows
    /// take). Returns the session and its token; the token is not stored
    /// and cannot be recovered.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a missing or deleted user,
    /// [`Error::Forbidden`] for a banned one, [`Error::Invalid`] for a `ttl`
    /// outside [`validate::duration`]'s bounds or a bad user agent.
    pub fn create(
        &mut self,
        user_id: UserId,
        options: SessionOptions<'_>,
    ) -> Result<(Session, Token)> {
        let SessionOptions {
            ttl,
            ip,
            user_agent,
        } = options;
        let ttl = validate::duration("ttl", ttl, validate::DURATION_MAX)?;
        validate::opt_text("user_agent", user_agent, 0, 1024)?;
        let (token, hash) = Token::generate();
        // One statement: the user's eligibility is checked where the row is made.
        let session: Option<Session> = Prepared::<CreateSession>::new()
            .bind::<diesel::sql_types::Uuid, _>(SessionId::now_v7())
            .bind::<Bytea, _>(hash.as_slice())
            .bind::<Interval, _>(interval(ttl))
            .bind::<Nullable<diesel::sql_types::Inet>, _>(to_inet(ip))
            .bind::<Nullable<Text>, _>(user_agent)
            .bind::<diesel::sql_types::Uuid, _>(user_id)
            .get_result(self.conn)
            .optional()?;
        match session {
            Some(session) => Ok((session, token)),
            None => Err(self.why_not_eligible(user_id)?),
        }
    }

    fn why_not_eligible(&mut self, user_id: UserId) -> Result<Error> {
        let user = crate::Repos::users(&mut *self.conn).find(user_id)?;
        Ok(match user {
            None => Error::NotFound { entity: "user" },
            Some(_) => Error::Forbidden {
                reason: "user is banned".into(),
            },
        })
    }

    /// The session and its user for a presented token, in one query.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when the token is unknown (or not a token at
    /// all: empty, too long, garbage), the session expired or was revoked,
    /// or the user is banned or deleted; which one is not said.
    /// Otherwise database errors only.
    pub fn validate(&mut self, token: &str) -> Result<(Session, User)> {
        if token.len() > 256 {
            return Err(Error::Unauthorized);
        }
        let hash = secret::hash(token);
        sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(hash.as_slice()))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .filter(may_sign_in())
            .select((Session::as_select(), User::as_select()))
            .first(self.conn)
            .optional()?
            .ok_or(Error::Unauthorized)
    }

    /// Sliding expiry: records activity and moves `expires_at` to `now + ttl`,
    /// but writes at most once per [`TOUCH_INTERVAL`] per session (so a busy
    /// client does not turn every request into a write). Returns whether it
    /// wrote.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `ttl` outside [`validate::duration`]'s bounds.
    pub fn touch(&mut self, session_id: SessionId, ttl: Duration) -> Result<bool> {
        let ttl = validate::duration("ttl", ttl, validate::DURATION_MAX)?;
        let n = Prepared::<TouchSession>::new()
            .bind::<Interval, _>(interval(ttl))
            .bind::<diesel::sql_types::Uuid, _>(session_id)
            .bind::<Interval, _>(interval(TOUCH_INTERVAL))
            .execute(self.conn)?;
        Ok(n == 1)
    }

    /// Revokes one session (sign-out). Idempotent.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such session.
    pub fn revoke(&mut self, session_id: SessionId) -> Result<()> {
        let n = Prepared::<RevokeSession>::new()
            .bind::<diesel::sql_types::Uuid, _>(session_id)
            .execute(self.conn)?;
        if n == 0 {
            return Err(Error::NotFound { entity: "session" });
        }
        Ok(())
    }

    /// Revokes every live session of the user, except `except` (the one
    /// making the request, say). Returns how many were revoked.
    ///
    /// # Errors
    /// Database errors only.
    pub fn revoke_all_for_user(
        &mut self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<usize> {
        Ok(Prepared::<RevokeAllSessions>::new()
            .bind::<diesel::sql_types::Uuid, _>(user_id)
            .bind::<Nullable<diesel::sql_types::Uuid>, _>(except)
            .execute(self.conn)?)
    }

    /// The user's live sessions, newest first.
    ///
    /// # Errors
    /// Database errors only.
    pub fn list_for_user(&mut self, user_id: UserId) -> Result<Vec<Session>> {
        Ok(sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .order((sessions::created_at.desc(), sessions::id.desc()))
            .select(Session::as_select())
            .load(self.conn)?)
    }

    /// Deletes expired and revoked sessions, `batch` rows per statement so
    /// no statement holds many locks or runs long. Returns how many.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a zero batch.
    pub fn purge_expired(&mut self, batch: i64) -> Result<usize> {
        if batch < 1 {
            return Err(Error::invalid("batch", "must be at least 1"));
        }
        purge_in_batches(
            self.conn,
            "DELETE FROM sessions WHERE id IN (
                 SELECT id FROM sessions WHERE expires_at <= now() OR revoked_at IS NOT NULL
                  LIMIT $1 FOR UPDATE SKIP LOCKED)",
            batch,
        )
    }
}
