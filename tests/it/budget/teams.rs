//! Round trips of creating a team, inviting and accepting.

use std::time::Duration;

use saas_db::enums::TeamRole;
use saas_db::Repos;
use saas_db_testing::TestDatabase;

use super::{assert_budget, Budget, Counted};
use crate::support::actor;

/// Round trips per operation (see the module docs of `budget`).
pub const BUDGET: Budget = &[
    ("teams.create", 6),
    ("teams.invite", 5),
    ("teams.accept", 5),
];

/// The audit entry of a team change is written in the repository's own
/// transaction. It used to open a savepoint inside it as well (SAVEPOINT
/// and RELEASE: 8 round trips to create a team, 7 to invite or accept;
/// now 6, 5 and 5).
#[test]
fn create_invite_accept() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let ann = actor(&mut counted.conn, "ann@example.com");
    let names = ["Team A", "Team B"];
    let (team, trips) = counted.warmed(|c, i| c.teams().create(&ann, names[i]).unwrap());
    assert_budget(BUDGET, "teams.create", &trips);

    let invitees = [
        actor(&mut counted.conn, "bob@example.com"),
        actor(&mut counted.conn, "cy@example.com"),
    ];
    let (tokens, trips) = {
        let mut tokens = Vec::new();
        let (_, trips) = counted.warmed(|c, i| {
            let (_, token) = c
                .teams()
                .invite(
                    &ann,
                    team.id,
                    ["bob@example.com", "cy@example.com"][i],
                    TeamRole::Member,
                    Duration::from_secs(3600),
                )
                .unwrap();
            tokens.push(token);
        });
        (tokens, trips)
    };
    assert_budget(BUDGET, "teams.invite", &trips);

    let (member, trips) =
        counted.warmed(|c, i| c.teams().accept(&invitees[i], tokens[i].as_str()).unwrap());
    assert_eq!(member.user_id, invitees[1].user_id);
    assert_budget(BUDGET, "teams.accept", &trips);
}
