//! Round trips of the audit log and the outbox.

use saas_db::audit::AuditEntry;
use saas_db::outbox::Enqueued;
use saas_db::{PageRequest, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::{assert_budget, Budget, Counted};
use crate::support::user;

/// Round trips per operation (see the module docs of `budget`).
pub const BUDGET: Budget = &[
    ("audit.record", 1),
    ("audit.for_entity (page of 20)", 1),
    ("outbox.enqueue", 1),
    ("outbox.enqueue (duplicate)", 1),
];

#[test]
fn audit_record_and_list() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let ada = user(&mut counted.conn, "ada@example.com").id;
    let (_, trips) = counted.warmed(|c, _| {
        c.audit()
            .record(&AuditEntry::created("user", ada).by(ada))
            .unwrap()
    });
    assert_budget(BUDGET, "audit.record", &trips);
    let (page, trips) = counted.warmed(|c, _| {
        c.audit()
            .for_entity("user", ada, PageRequest::first(20))
            .unwrap()
    });
    assert_eq!(page.items.len(), 2);
    assert_budget(BUDGET, "audit.for_entity (page of 20)", &trips);
}

#[test]
fn outbox_enqueue() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let payload = json!({"n": 1});
    let keys = ["k0", "k1"];
    let (enqueued, trips) =
        counted.warmed(|c, i| c.outbox().enqueue("mail", &payload, Some(keys[i])).unwrap());
    assert!(enqueued.is_new());
    assert_budget(BUDGET, "outbox.enqueue", &trips);
    let (again, trips) =
        counted.warmed(|c, i| c.outbox().enqueue("mail", &payload, Some(keys[i])).unwrap());
    assert!(matches!(again, Enqueued::Duplicate));
    assert_budget(BUDGET, "outbox.enqueue (duplicate)", &trips);
}
