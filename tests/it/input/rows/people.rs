//! Text rows: users, sessions, tokens and the sign-in flows.

use std::time::Duration;

use saas_db::auth::SessionOptions;
use saas_db::enums::TokenKind;
use saas_db::users::{NewUser, ProfileChanges, UserChanges};
use saas_db::Repos;

use super::super::table::{row, Row, TextCall};
use super::fresh_user;
use crate::support::acting_as;

pub(crate) fn text_rows() -> Vec<Row<TextCall>> {
    vec![
        row("users.create name", "name", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", s))
                .map(drop)
        }),
        row("users.create email", "email", |c, _, s| {
            c.users().create(&NewUser::new(s, "T")).map(drop)
        }),
        row("users.create username", "username", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").username(s))
                .map(drop)
        }),
        row("users.create locale", "locale", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").locale(s))
                .map(drop)
        }),
        row("users.create timezone", "timezone", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").timezone(s))
                .map(drop)
        }),
        row("users.create avatar_url", "avatar_url", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").avatar_url(s))
                .map(drop)
        }),
        row("users.find_by_email", "email", |c, _, s| {
            c.users().find_by_email(s).map(drop)
        }),
        row("users.find_by_username", "username", |c, _, s| {
            c.users().find_by_username(s).map(drop)
        }),
        row("users.update name", "name", |c, w, s| {
            let u = fresh_user(c, w)?;
            c.users()
                .update(
                    u.id,
                    u.version,
                    &UserChanges {
                        name: Some(s.into()),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.change_email", "email", |c, w, s| {
            let u = fresh_user(c, w)?;
            c.users().change_email(u.id, u.version, s).map(drop)
        }),
        row("users.ban reason", "ban_reason", |c, w, s| {
            let u = fresh_user(c, w)?;
            c.users()
                .ban(&acting_as(u.id), u.id, None, Some(s))
                .map(drop)
        }),
        row("users.upsert_profile bio", "bio", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        bio: Some(Some(s.into())),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.upsert_profile website", "website", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        website: Some(Some(s.into())),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.upsert_profile location", "location", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        location: Some(Some(s.into())),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.upsert_profile language", "language", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        language: Some(s.into()),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.import name", "users[0].name", |c, _, s| {
            c.users()
                .import(&[NewUser::new("i@example.com", s)])
                .map(drop)
        }),
        row("users.batch_update name", "updates[0].name", |c, w, s| {
            c.users()
                .batch_update(
                    &[(
                        w.user.id,
                        UserChanges {
                            name: Some(s.into()),
                            ..Default::default()
                        },
                    )],
                    10,
                )
                .map(drop)
        }),
        row("sessions.create user_agent", "user_agent", |c, w, s| {
            c.sessions()
                .create(
                    w.user.id,
                    SessionOptions::new(Duration::from_secs(60)).user_agent(s),
                )
                .map(drop)
        }),
        row("sessions.validate", "token", |c, _, s| {
            c.sessions().validate(s).map(drop)
        }),
        row("verification_tokens.issue email", "email", |c, _, s| {
            c.verification_tokens()
                .issue(TokenKind::MagicLink, s, None, Duration::from_secs(60))
                .map(drop)
        }),
        row("verification_tokens.consume", "token", |c, _, s| {
            c.verification_tokens()
                .consume(TokenKind::MagicLink, s)
                .map(drop)
        }),
        row("verification_tokens.recent_count", "email", |c, _, s| {
            c.verification_tokens()
                .recent_count(s, TokenKind::MagicLink, Duration::from_secs(60))
                .map(drop)
        }),
        row("auth.confirm_email", "token", |c, _, s| {
            c.auth().confirm_email(s).map(drop)
        }),
        row("auth.reset_password token", "token", |c, _, s| {
            c.auth().reset_password(s, "a good new password").map(drop)
        }),
        row("auth.reset_password password", "password", |c, w, s| {
            let (_, token) = c.verification_tokens().issue(
                TokenKind::PasswordReset,
                &w.user.email,
                Some(w.user.id),
                Duration::from_secs(60),
            )?;
            c.auth().reset_password(token.as_str(), s).map(drop)
        }),
        row("auth.sign_in_with_magic_link", "token", |c, _, s| {
            let client = SessionOptions {
                ttl: Duration::from_secs(60),
                ip: None,
                user_agent: None,
            };
            c.auth().sign_in_with_magic_link(s, client).map(drop)
        }),
        row("auth.sign_in_with_password email", "email", |c, w, s| {
            let client = SessionOptions {
                ttl: Duration::from_secs(60),
                ip: None,
                user_agent: None,
            };
            c.auth()
                .sign_in_with_password(s, w.password(), client)
                .map(drop)
        }),
        row(
            "auth.sign_in_with_password password",
            "password",
            |c, w, s| {
                let client = SessionOptions {
                    ttl: Duration::from_secs(60),
                    ip: None,
                    user_agent: None,
                };
                c.auth()
                    .sign_in_with_password(&w.user.email, s, client)
                    .map(drop)
            },
        ),
        row(
            "auth.sign_in_with_password user_agent",
            "user_agent",
            |c, w, s| {
                let client = SessionOptions {
                    ttl: Duration::from_secs(60),
                    ip: None,
                    user_agent: Some(s),
                };
                c.auth()
                    .sign_in_with_password(&w.user.email, w.password(), client)
                    .map(drop)
            },
        ),
    ]
}
