//! Text rows: OAuth and credential accounts (`conn.accounts()`).

use saas_db::auth::{Keyring, NewOAuthAccount};
use saas_db::Repos;

use super::super::table::{row, Row, TextCall};
use super::super::World;

/// Links an identity for the world's user with a fresh provider account id
/// and a key, `fill` putting the value under test into one field.
fn link(
    c: &mut diesel::PgConnection,
    w: &World,
    value: &str,
    fill: impl for<'x> FnOnce(&mut NewOAuthAccount<'x>, &'x str),
) -> saas_db::Result<()> {
    let keys = Keyring::new().with_key(1, [7; 32])?;
    let account_id = w.unique("acct").replace(' ', "-");
    let mut account = NewOAuthAccount {
        provider: "github".into(),
        provider_account_id: account_id.as_str().into(),
        ..Default::default()
    };
    fill(&mut account, value);
    c.accounts()
        .with_keys(&keys)
        .link_oauth(w.user.id, &account)
        .map(drop)
}

pub(crate) fn text_rows() -> Vec<Row<TextCall>> {
    vec![
        row("accounts.link_oauth provider", "provider", |c, w, s| {
            link(c, w, s, |a, s| a.provider = s.into())
        }),
        row(
            "accounts.link_oauth provider_account_id",
            "provider_account_id",
            |c, w, s| link(c, w, s, |a, s| a.provider_account_id = s.into()),
        ),
        row(
            "accounts.link_oauth access_token",
            "access_token",
            |c, w, s| link(c, w, s, |a, s| a.access_token = Some(s.into())),
        ),
        row(
            "accounts.link_oauth refresh_token",
            "refresh_token",
            |c, w, s| link(c, w, s, |a, s| a.refresh_token = Some(s.into())),
        ),
        row("accounts.link_oauth id_token", "id_token", |c, w, s| {
            link(c, w, s, |a, s| a.id_token = Some(s.into()))
        }),
        row("accounts.link_oauth token_type", "token_type", |c, w, s| {
            link(c, w, s, |a, s| a.token_type = Some(s.into()))
        }),
        row("accounts.link_oauth scope", "scope", |c, w, s| {
            link(c, w, s, |a, s| a.scope = Some(s.into()))
        }),
        row("accounts.unlink", "provider", |c, w, s| {
            c.accounts().unlink(w.user.id, s)
        }),
        row("accounts.find_user provider", "provider", |c, _, s| {
            c.accounts().find_user(s, "acct").map(drop)
        }),
        row(
            "accounts.find_user provider_account_id",
            "provider_account_id",
            |c, _, s| c.accounts().find_user("github", s).map(drop),
        ),
        row("accounts.set_password", "password", |c, w, s| {
            c.accounts().set_password(w.user.id, s)
        }),
        row("accounts.verify_password", "password", |c, w, s| {
            c.accounts().verify_password(w.user.id, s).map(drop)
        }),
    ]
}
