//! The `team_invitations` table: [`Invitation`] and the [`TeamRepo`]
//! calls on invitations: a token handed out once (only its SHA-256 is stored),
//! accepted atomically (single use, unexpired, not revoked, by the invited
//! email) together with the membership it grants.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Nullable, Text, Uuid as SqlUuid};
use serde::{Deserialize, Serialize};

use super::team_members::{member_entry, membership, Membership};
use super::teams::{authorize, TeamRepo};
use crate::access::{Action, Actor};
use crate::audit::{audited_in, AuditEntry};
use crate::auth::{secret, Token};
use crate::enums::TeamRole;
use crate::error::{Error, Result};
use crate::ids::{InvitationId, TeamId, UserId};
use crate::schema::team_invitations as inv;
use crate::sql::{interval, now_tz};
use crate::tx::run_transaction;
use crate::validate;

/// An invitation to join a team. The token is returned once by
/// `invite`; only its SHA-256 is stored, and it is not part of this row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = inv, check_for_backend(diesel::pg::Pg))]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// The team.
    pub team_id: TeamId,
    /// Who is invited (normalised email).
    pub email: String,
    /// The role they get (never owner).
    pub role: TeamRole,
    /// Unusable after this.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who invited.
    pub invited_by: Option<UserId>,
    /// Created at.
    pub created_at: DateTime<Utc>,
}

/// Longest an invitation may stay open.
pub const INVITATION_TTL_MAX: Duration = Duration::from_secs(30 * 24 * 3600);

impl TeamRepo<'_> {
    /// Invites `email` to the team with `role` (admin or member) for `ttl`.
    /// Returns the invitation and its token: send the token to the invitee;
    /// it cannot be recovered later.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor may manage members;
    /// [`Error::Invalid`] for a bad email, `role` owner (ownership is given
    /// by [`TeamRepo::change_role`]), or a `ttl` outside 1 s..=30 days.
    pub fn invite(
        &mut self,
        actor: &Actor,
        team_id: TeamId,
        email: &str,
        role: TeamRole,
        ttl: Duration,
    ) -> Result<(Invitation, Token)> {
        let email = validate::email("email", email)?;
        if role == TeamRole::Owner {
            return Err(Error::invalid("role", "an invitation cannot make an owner"));
        }
        let ttl = validate::duration("ttl", ttl, INVITATION_TTL_MAX)?;
        if ttl.as_secs() < 1 {
            return Err(Error::invalid("ttl", "must be at least 1 second"));
        }
        let (token, hash) = Token::generate();
        let invitation = run_transaction(self.conn, |tx| {
            authorize(tx, actor, Action::ManageMembers, team_id)?;
            let id = InvitationId::now_v7();
            let entry = AuditEntry::new("member_invited", "team", Some(team_id.into()))
                .by(actor.user_id)
                .about("invitation_id", id);
            audited_in(
                tx,
                entry,
                |_| Ok(None::<Invitation>),
                |c| {
                    diesel::insert_into(inv::table)
                        .values((
                            inv::id.eq(id),
                            inv::team_id.eq(team_id),
                            inv::email.eq(&email),
                            inv::role.eq(role),
                            inv::token_hash.eq(hash.as_slice()),
                            inv::expires_at.eq(now_tz() + interval(ttl)),
                            inv::invited_by.eq(actor.user_id),
                        ))
                        .returning(Invitation::as_returning())
                        .get_result(c)
                        .map_err(Error::from)
                },
            )
        })?;
        Ok((invitation, token))
    }

    /// Accepts an invitation for the actor: one transaction that marks it
    /// accepted (only if unused, unrevoked and unexpired, so of concurrent
    /// attempts exactly one wins) and adds the membership. The actor's
    /// email must be the invited one. Someone who is already a member keeps
    /// their role.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for an unknown, used, revoked or expired
    /// token; [`Error::Forbidden`] when the invitation is for another email
    /// (the invitation stays open).
    pub fn accept(&mut self, actor: &Actor, token: &str) -> Result<Membership> {
        let hash = secret::hash(token);
        run_transaction(self.conn, |tx| {
            // Redeemed by a SECURITY DEFINER function (see the migration
            // 2026-11-27-000009): invitees hold no write right on invitation
            // or membership rows, so hand-written SQL cannot redeem anything.
            let redeemed: Redeemed =
                diesel::sql_query("SELECT outcome, team_id FROM app_accept_invitation($1, $2)")
                    .bind::<Bytea, _>(hash.as_slice())
                    .bind::<SqlUuid, _>(actor.user_id)
                    .get_result(tx)?;
            let team_id = match (redeemed.outcome.as_str(), redeemed.team_id) {
                ("joined", Some(team_id)) => team_id,
                ("wrong_email", _) => {
                    return Err(Error::Forbidden {
                        reason: "the invitation is for another email address".into(),
                    })
                }
                _ => return Err(Error::Unauthorized),
            };
            // The redemption made the membership; its entry describes it.
            let entry = member_entry("member_joined", actor, team_id, actor.user_id);
            audited_in(
                tx,
                entry,
                |_| Ok(None::<Membership>),
                |c| membership(c, team_id, actor.user_id),
            )
        })
    }

    /// Revokes an open invitation.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Forbidden`] unless the actor may
    /// manage the team's members; [`Error::Invalid`] naming `invitation`
    /// when it was already accepted or revoked.
    pub fn revoke(&mut self, actor: &Actor, invitation_id: InvitationId) -> Result<Invitation> {
        run_transaction(self.conn, |tx| {
            let before: Invitation =
                crate::sql::one(tx, inv::table.find(invitation_id), "invitation")?;
            let team_id = before.team_id;
            authorize(tx, actor, Action::ManageMembers, team_id)?;
            let entry = AuditEntry::new("invitation_revoked", "team", Some(team_id.into()))
                .by(actor.user_id)
                .about("invitation_id", invitation_id);
            audited_in(
                tx,
                entry,
                |_| Ok(before),
                |c| {
                    diesel::update(
                        inv::table
                            .find(invitation_id)
                            .filter(inv::accepted_at.is_null())
                            .filter(inv::revoked_at.is_null()),
                    )
                    .set(inv::revoked_at.eq(now))
                    .returning(Invitation::as_returning())
                    .get_result(c)
                    .optional()?
                    .ok_or_else(|| Error::invalid("invitation", "already accepted or revoked"))
                },
            )
        })
    }

    /// The team's open invitations (not accepted, revoked or expired),
    /// oldest first.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless the actor may manage members.
    pub fn pending_invitations(
        &mut self,
        actor: &Actor,
        team_id: TeamId,
    ) -> Result<Vec<Invitation>> {
        authorize(self.conn, actor, Action::ManageMembers, team_id)?;
        Ok(inv::table
            .filter(inv::team_id.eq(team_id))
            .filter(inv::accepted_at.is_null())
            .filter(inv::revoked_at.is_null())
            .filter(inv::expires_at.gt(now))
            .order((inv::created_at, inv::id))
            .select(Invitation::as_select())
            .load(self.conn)?)
    }
}

/// What `app_accept_invitation` reports.
#[derive(QueryableByName)]
struct Redeemed {
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    team_id: Option<TeamId>,
}
