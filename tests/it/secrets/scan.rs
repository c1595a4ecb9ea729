//! The secret scan: one of each secret-bearing thing with known values (a
//! password, sessions, every verification token kind, an invitation, OAuth
//! tokens, the token keys), then a search for any of them, in any encoding,
//! in every row of every table, in `pg_stat_statements`, in the server log
//! with `log_statement = 'all'`, in the tracing output, and in the Debug,
//! Display and serde output of every value the calls returned. A control
//! plants known values in each place and shows the scan finds them.

use std::fmt::Debug;
use std::time::Duration;

use crate::support::{client, Count};
use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text};
use saas_db::access::Actor;
use saas_db::auth::{Keyring, NewOAuthAccount, SessionOptions};
use saas_db::enums::{TeamRole, TokenKind};
use saas_db::{Database, Repos};
use saas_db_testing::TestDatabase;
use serde::Serialize;

use super::scan_sources::{self, Captured, ServerLog};
use super::{hex, new_user, random_secret, Needles};

const HOUR: Duration = Duration::from_secs(3600);
const SESSION_BY_HASH: &str =
    "SELECT count(*) AS n FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))";
const VERIFICATION_BY_HASH: &str = "SELECT count(*) AS n FROM verification_tokens
     WHERE token_hash = sha256(convert_to($1, 'UTF8'))";
const INVITATION_BY_HASH: &str = "SELECT count(*) AS n FROM team_invitations
     WHERE token_hash = sha256(convert_to($1, 'UTF8'))";

/// Printed forms of returned values: Debug (both), serde JSON, Display.
#[derive(Default)]
struct Outputs(Vec<(String, String)>);

impl Outputs {
    fn debug(&mut self, label: &str, value: &impl Debug) {
        self.0
            .push((format!("{label} Debug"), format!("{value:?}")));
        self.0
            .push((format!("{label} Debug#"), format!("{value:#?}")));
    }
    fn serde(&mut self, label: &str, value: &(impl Debug + Serialize)) {
        self.debug(label, value);
        let json = serde_json::to_string(value).unwrap();
        self.0.push((format!("{label} JSON"), json));
    }
    fn error(&mut self, label: &str, error: &saas_db::Error) {
        self.debug(label, error);
        self.0.push((format!("{label} Display"), error.to_string()));
    }
}

/// Everything the scan found: (where, which needle).
fn scan(
    conn: &mut PgConnection,
    needles: &Needles,
    log: &Option<ServerLog>,
    captured: &Captured,
    outputs: &Outputs,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut look = |place: &str, text: &str| {
        for label in needles.found_in(text) {
            found.push((place.to_owned(), label));
        }
    };
    for row in scan_sources::rows(conn) {
        look(&format!("table {}", row.relation), &row.row_text);
    }
    if let Ok(statements) = scan_sources::statements(conn) {
        for statement in statements {
            look("pg_stat_statements", &statement);
        }
    }
    if let Some(log) = log {
        look("server log", &log.read_new(conn));
    }
    look("tracing", &captured.text());
    for (label, text) in &outputs.0 {
        look(label, text);
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn no_secret_is_stored_logged_or_printed_anywhere() {
    let test_db = TestDatabase::new();
    let mut admin = PgConnection::establish(test_db.url()).unwrap();
    let pss = scan_sources::enable_pg_stat_statements(&mut admin);
    if let Err(why) = &pss {
        println!("NOTE: pg_stat_statements not scanned: {why}");
    }
    let log = ServerLog::start(&mut admin)
        .map_err(|why| println!("NOTE: server log not scanned: {why}"))
        .ok();

    let mut needles = Needles::default();
    let secret = |needles: &mut Needles, label: &str, value: String| {
        needles.add(label, &value);
        value
    };
    let password = secret(&mut needles, "password", random_secret("pw"));
    let new_password = secret(&mut needles, "new password", random_secret("pw2"));
    let wrong_password = secret(&mut needles, "mistyped password", random_secret("typo"));
    let access = secret(&mut needles, "access token", random_secret("gho"));
    let refresh = secret(&mut needles, "refresh token", random_secret("ghr"));
    let id_token = secret(&mut needles, "id token", random_secret("eyJ"));
    let (key_1, key_2): ([u8; 32], [u8; 32]) = (rand::random(), rand::random());
    for (label, key) in [("key 1", key_1), ("key 2", key_2)] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(key);
        needles.0.push((format!("{label} (hex)"), hex(&key)));
        needles.0.push((format!("{label} (base64)"), b64));
        needles
            .0
            .push((format!("{label} (Debug)"), format!("{:?}", &key[..8])));
    }
    let old_keys = Keyring::new().with_key(1, key_1).unwrap();
    let keys = old_keys.clone().with_key(2, key_2).unwrap();

    // New sessions on a fresh pool, so log_statement applies to them.
    let builder = Database::builder(test_db.url())
        .run_migrations(false)
        .token_keys(keys.clone());
    let mut outputs = Outputs::default();
    outputs.debug("DatabaseBuilder", &builder);
    let db = builder.build().unwrap();
    outputs.debug("Database", &db);
    outputs.debug("TestDatabase", &test_db);
    let captured = Captured::default();
    let mut hashed: Vec<(&str, String)> = Vec::new();
    let mut conn = db.conn().unwrap();
    let c = &mut *conn;

    captured.during(|| {
        let ada = new_user(c, "ada@example.com");
        let bob = new_user(c, "bob@example.com");
        outputs.serde("User", &ada);
        c.accounts().set_password(ada.id, &password).unwrap();
        assert!(c.accounts().verify_password(ada.id, &password).unwrap());
        assert!(!c
            .accounts()
            .verify_password(ada.id, &wrong_password)
            .unwrap());

        let (session, token) = c
            .sessions()
            .create(ada.id, SessionOptions::new(HOUR).user_agent("ua"))
            .unwrap();
        needles.add("session token", token.as_str());
        hashed.push((SESSION_BY_HASH, token.as_str().to_owned()));
        outputs.serde("Session", &session);
        outputs.debug("Token", &token);
        let validated = c.sessions().validate(token.as_str()).unwrap();
        outputs.debug("validated session", &validated);

        let mut tokens = Vec::new();
        for kind in [
            TokenKind::EmailVerification,
            TokenKind::PasswordReset,
            TokenKind::MagicLink,
        ] {
            let (row, token) = c
                .verification_tokens()
                .issue(kind, &ada.email, Some(ada.id), HOUR)
                .unwrap();
            needles.add(&format!("{kind:?} token"), token.as_str());
            hashed.push((VERIFICATION_BY_HASH, token.as_str().to_owned()));
            outputs.serde("VerificationToken", &row);
            tokens.push(token);
        }
        outputs.serde(
            "confirmed",
            &c.auth().confirm_email(tokens[0].as_str()).unwrap(),
        );
        let reset = c
            .auth()
            .reset_password(tokens[1].as_str(), &new_password)
            .unwrap();
        outputs.serde("reset", &reset);
        let magic = c
            .auth()
            .sign_in_with_magic_link(tokens[2].as_str(), client())
            .unwrap();
        needles.add("magic-link session token", magic.token.as_str());
        outputs.debug("SignedIn (magic link)", &magic);
        let signed_in = c
            .auth()
            .sign_in_with_password(&ada.email, &new_password, client())
            .unwrap();
        needles.add("password session token", signed_in.token.as_str());
        outputs.debug("SignedIn (password)", &signed_in);
        let refused = c
            .auth()
            .sign_in_with_password(&ada.email, &wrong_password, client());
        outputs.debug("refused sign-in", &refused.map(|s| s.session.id));
        let err = c.auth().confirm_email(tokens[0].as_str()).unwrap_err();
        outputs.error("used token", &err);

        let owner = Actor::from(&ada);
        let team = c.teams().create(&owner, "Vault").unwrap();
        let (invitation, invite_token) = c
            .teams()
            .invite(&owner, team.id, &bob.email, TeamRole::Member, HOUR)
            .unwrap();
        needles.add("invitation token", invite_token.as_str());
        hashed.push((INVITATION_BY_HASH, invite_token.as_str().to_owned()));
        outputs.serde("Invitation", &invitation);
        let (_, pending_token) = c
            .teams()
            .invite(&owner, team.id, "carol@example.com", TeamRole::Admin, HOUR)
            .unwrap();
        needles.add("pending invitation token", pending_token.as_str());
        let joined = c
            .teams()
            .accept(&Actor::from(&bob), invite_token.as_str())
            .unwrap();
        outputs.serde("Membership", &joined);
        let pending = c.teams().pending_invitations(&owner, team.id).unwrap();
        outputs.serde("pending invitations", &pending);

        let new = NewOAuthAccount {
            provider: "github".into(),
            provider_account_id: "1815".into(),
            access_token: Some(access.as_str().into()),
            refresh_token: Some(refresh.as_str().into()),
            id_token: Some(id_token.as_str().into()),
            token_type: Some("bearer".into()),
            scope: Some("read:user".into()),
            ..Default::default()
        };
        outputs.debug("NewOAuthAccount", &new);
        let linked = c
            .accounts()
            .with_keys(&old_keys)
            .link_oauth(ada.id, &new)
            .unwrap();
        outputs.serde("Account", &linked);
        let secret_out = linked.access_token(&keys).unwrap();
        outputs.debug("decrypted access token", &secret_out);
        assert_eq!(
            c.accounts().with_keys(&keys).reencrypt_tokens(10).unwrap(),
            1
        );
        let listed = c.accounts().list_for_user(ada.id).unwrap();
        outputs.serde("accounts", &listed);
        outputs.debug("Keyring", &keys);
        let github = listed.iter().find(|a| a.provider == "github").unwrap();
        assert_eq!(github.token_key_ids(), [2]);
        let err = github.refresh_token(&old_keys).unwrap_err();
        outputs.error("decrypt error", &err);
        let err = c.accounts().link_oauth(
            bob.id,
            &NewOAuthAccount {
                provider_account_id: "2".into(),
                ..new.clone()
            },
        );
        outputs.error("no-key error", &err.unwrap_err());
        outputs.debug(
            "found user",
            &c.accounts().find_user("github", "1815").unwrap(),
        );
    });

    // Coverage: the scan reads every table, audit partitions included.
    let tables = scan_sources::tables(c);
    for expected in [
        "users",
        "accounts",
        "sessions",
        "verification_tokens",
        "team_invitations",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "{expected} in {tables:?}"
        );
    }
    assert!(
        tables.iter().any(|t| t.starts_with("audit_logs_p")),
        "{tables:?}"
    );
    if let Some(log) = &log {
        let text = log.read_new(c);
        assert!(
            text.contains("INSERT INTO \"accounts\""),
            "log_statement is on"
        );
    }
    if pss.is_ok() {
        let statements = scan_sources::statements(c).unwrap();
        assert!(
            statements.iter().any(|q| q.contains("\"accounts\"")),
            "{statements:?}"
        );
    }

    let found = scan(c, &needles, &log, &captured, &outputs);
    assert!(found.is_empty(), "secrets found: {found:#?}");
    // What is stored instead: SHA-256 of each token.
    for (sql, token) in &hashed {
        let n = diesel::sql_query(*sql)
            .bind::<Text, _>(token)
            .get_result::<Count>(c)
            .unwrap()
            .n;
        assert_eq!(n, 1, "{sql}");
    }

    // Control: the same scan finds each kind of leak once there is one.
    let planted = &needles
        .0
        .iter()
        .find(|(l, _)| l == "password (plaintext)")
        .unwrap()
        .1;
    c.batch_execute("CREATE TABLE leak_probe (note text, raw bytea)")
        .unwrap();
    diesel::sql_query("INSERT INTO leak_probe VALUES ($1, $2)")
        .bind::<Text, _>(planted)
        .bind::<Bytea, _>(access.as_bytes())
        .execute(c)
        .unwrap();
    // In the statement text itself, the one place pg_stat_statements keeps
    // (the value is base64url text, safe inside a comment).
    c.batch_execute(&format!("SELECT 1 /* {planted} */"))
        .unwrap();
    captured.during(|| tracing::debug!(target: "saas_db::sql", leaked = %planted));
    #[derive(Debug, Serialize)]
    struct PlaintextAccount<'a> {
        access_token: &'a str,
    }
    outputs.serde(
        "plaintext account",
        &PlaintextAccount {
            access_token: &refresh,
        },
    );

    let found = scan(c, &needles, &log, &captured, &outputs);
    let places = |label: &str| -> Vec<&str> {
        found
            .iter()
            .filter(|(_, l)| l.starts_with(label))
            .map(|(p, _)| p.as_str())
            .collect()
    };
    let mut expected = vec!["table leak_probe", "tracing"];
    if pss.is_ok() {
        expected.push("pg_stat_statements");
    }
    if log.is_some() {
        expected.push("server log");
    }
    for place in expected {
        assert!(
            places("password (").contains(&place),
            "control: {place} in {found:#?}"
        );
    }
    assert!(
        places("access token (hex of text)").contains(&"table leak_probe"),
        "{found:#?}"
    );
    for format in ["Debug", "Debug#", "JSON"] {
        let place = format!("plaintext account {format}");
        assert!(
            places("refresh token (").contains(&place.as_str()),
            "control: {found:#?}"
        );
    }
}
