//! Every `TeamRepo` change and `ProjectRepo::create` writes its audit entry,
//! naming the actor and, for membership changes, the member concerned in
//! `metadata.user_id`; refused changes write none.

use std::time::Duration;

use saas_db::audit::AuditLog;
use saas_db::enums::TeamRole;
use saas_db::ids::UserId;
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::actor;

/// (action, actor, member named in `metadata.user_id`), oldest first.
fn trail(entries: &[AuditLog]) -> Vec<(String, Option<UserId>, Option<UserId>)> {
    entries
        .iter()
        .rev()
        .map(|e| {
            let member = e
                .metadata
                .get("user_id")
                .and_then(|v| v.as_str())
                .map(|s| s.parse().unwrap());
            (e.action.clone(), e.actor_id, member)
        })
        .collect()
}

#[test]
fn every_team_change_writes_its_entry_and_refusals_write_none() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let bob = actor(&mut conn, "bob@example.com");
    let carol = actor(&mut conn, "carol@example.com");
    let day = Duration::from_secs(86_400);
    let team = conn.teams().create(&ann, "Acme").unwrap().id;
    conn.teams()
        .add_member(&ann, team, bob.user_id, TeamRole::Member)
        .unwrap();
    let (_, token) = conn
        .teams()
        .invite(&ann, team, "carol@example.com", TeamRole::Member, day)
        .unwrap();
    conn.teams().accept(&carol, token.as_str()).unwrap();
    conn.teams()
        .change_role(&ann, team, bob.user_id, TeamRole::Admin)
        .unwrap();
    let (dave, _) = conn
        .teams()
        .invite(&ann, team, "dave@example.com", TeamRole::Member, day)
        .unwrap();
    conn.teams().revoke(&ann, dave.id).unwrap();
    // Refused: Carol (member) removes Bob; Ann (the only owner) leaves.
    let refused = conn.teams().remove_member(&carol, team, bob.user_id);
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    let refused = conn.teams().leave(&ann, team);
    assert!(
        matches!(refused, Err(Error::Invalid { ref field, .. }) if field == "role"),
        "{refused:?}"
    );
    conn.teams().remove_member(&ann, team, bob.user_id).unwrap();
    conn.teams().leave(&carol, team).unwrap();
    let project = conn.projects().create(&ann, team, "Plan").unwrap();

    let entries = conn
        .audit()
        .for_entity("team", team, PageRequest::first(50))
        .unwrap()
        .items;
    let (a, b, c) = (Some(ann.user_id), Some(bob.user_id), Some(carol.user_id));
    let expected: Vec<(String, Option<UserId>, Option<UserId>)> = [
        ("created", a, None),
        ("member_added", a, b),
        ("member_invited", a, None),
        ("member_joined", c, c),
        ("role_changed", a, b),
        ("member_invited", a, None),
        ("invitation_revoked", a, None),
        ("member_removed", a, b),
        ("member_left", c, c),
    ]
    .into_iter()
    .map(|(action, by, member)| (action.to_owned(), by, member))
    .collect();
    assert_eq!(trail(&entries), expected);
    let project_entries = conn
        .audit()
        .for_entity("project", project.id, PageRequest::first(5))
        .unwrap()
        .items;
    assert_eq!(trail(&project_entries), [("created".to_owned(), a, None)]);

    conn.teams().delete(&ann, team).unwrap();
    let entries = conn
        .audit()
        .for_entity("team", team, PageRequest::first(50))
        .unwrap()
        .items;
    assert_eq!(trail(&entries[..1]), [("deleted".to_owned(), a, None)]);
}

/// Created and deleted rows go through the same `audit::audited` as
/// updates: their entries list the row's fields (a team's `created` used
/// to carry only `name`, hand-built), with the before or after side `null`.
#[test]
fn created_and_deleted_rows_list_their_fields() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let bob = actor(&mut conn, "bob@example.com");
    let team = conn.teams().create(&ann, "Acme").unwrap();
    conn.teams()
        .add_member(&ann, team.id, bob.user_id, TeamRole::Member)
        .unwrap();
    conn.teams()
        .remove_member(&ann, team.id, bob.user_id)
        .unwrap();
    let (invitation, _) = conn
        .teams()
        .invite(
            &ann,
            team.id,
            "carol@example.com",
            TeamRole::Admin,
            Duration::from_secs(60),
        )
        .unwrap();
    conn.teams().revoke(&ann, invitation.id).unwrap();
    let project = conn.projects().create(&ann, team.id, "Plan").unwrap();
    conn.projects().delete(&ann, project.id).unwrap();

    let mut log = conn
        .audit()
        .for_entity("team", team.id, PageRequest::first(10))
        .unwrap()
        .items;
    log.reverse();
    let by_action = |action: &str| log.iter().find(|e| e.action == action).unwrap().clone();
    let created = by_action("created");
    assert_eq!(
        created.changes,
        json!({
            "id": { "before": null, "after": team.id },
            "name": { "before": null, "after": "Acme" },
            "slug": { "before": null, "after": team.slug },
            "kind": { "before": null, "after": team.kind },
        })
    );
    let removed = by_action("member_removed");
    assert_eq!(
        removed.changes["role"],
        json!({ "before": "member", "after": null })
    );
    assert_eq!(removed.metadata["user_id"], json!(bob.user_id));
    let invited = by_action("member_invited");
    assert_eq!(invited.changes["email"]["after"], "carol@example.com");
    assert_eq!(invited.metadata["invitation_id"], json!(invitation.id));
    let revoked = by_action("invitation_revoked");
    assert_eq!(revoked.changes["revoked_at"]["before"], json!(null));
    assert!(revoked.changes["revoked_at"]["after"].is_string());
    assert_eq!(revoked.metadata["invitation_id"], json!(invitation.id));

    let project_log = conn
        .audit()
        .for_entity("project", project.id, PageRequest::first(5))
        .unwrap()
        .items;
    assert_eq!(project_log[0].action, "deleted");
    assert_eq!(
        project_log[0].changes["name"],
        json!({ "before": "Plan", "after": null })
    );
    assert_eq!(project_log[0].metadata["team_id"], json!(team.id));
    assert!(project_log[0].changes.get("created_at").is_none());
}
