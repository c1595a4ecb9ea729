//! Listings: newest first, keyset pages, ties on `created_at`.

use super::*;
use saas_db::ids::UserId;

#[test]
fn listings_are_newest_first_in_keyset_pages_with_ties() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let other_doc = Uuid::now_v7();
    let ann = Uuid::now_v7();
    let bob = Uuid::now_v7();

    // One transaction: one now(), so these share created_at.
    let (mut about_doc, mut by_ann) = conn
        .transaction::<_, Error, _>(|tx| {
            let mut about_doc = Vec::new();
            let mut by_ann = Vec::new();
            for i in 0..7 {
                let e = tx.audit().record(
                    &AuditEntry::new("edited", "doc", Some(doc))
                        .by(UserId(ann))
                        .metadata(json!({ "i": i })),
                )?;
                about_doc.push(e.clone());
                by_ann.push(e);
            }
            // Same entity by another actor: in the entity listing only.
            about_doc.push(
                tx.audit()
                    .record(&AuditEntry::new("viewed", "doc", Some(doc)).by(UserId(bob)))?,
            );
            // Another doc, and another kind of entity with the same id, by
            // Ann: in her listing only.
            by_ann.push(
                tx.audit()
                    .record(&AuditEntry::new("edited", "doc", Some(other_doc)).by(UserId(ann)))?,
            );
            by_ann.push(
                tx.audit()
                    .record(&AuditEntry::new("edited", "folder", Some(doc)).by(UserId(ann)))?,
            );
            Ok((about_doc, by_ann))
        })
        .unwrap();
    // A later transaction: newer than all of the above.
    for i in 0..3 {
        let e = conn
            .audit()
            .record(
                &AuditEntry::new("renamed", "doc", Some(doc))
                    .by(UserId(ann))
                    .metadata(json!({ "later": i })),
            )
            .unwrap();
        about_doc.push(e.clone());
        by_ann.push(e);
    }
    // Noise: another actor on another entity.
    conn.audit()
        .record(&AuditEntry::new("edited", "doc", Some(Uuid::now_v7())).by(UserId(bob)))
        .unwrap();

    // The data really has ties, and more than one timestamp.
    let stamps: HashSet<DateTime<Utc>> = about_doc.iter().map(|e| e.created_at).collect();
    assert!(
        stamps.len() >= 2 && stamps.len() < about_doc.len(),
        "{stamps:?}"
    );

    let want_doc = newest_first(&about_doc);
    let want_ann = newest_first(&by_ann);
    assert_eq!((want_doc.len(), want_ann.len()), (11, 12));
    for size in [1, 2, 3, 4, 5, 7, 11, 12, 1000] {
        let got = entry_ids(&walk(size, |p| conn.audit().for_entity("doc", doc, p)));
        assert_eq!(got, want_doc, "for_entity, pages of {size}");
        let got = entry_ids(&walk(size, |p| conn.audit().for_actor(UserId(ann), p)));
        assert_eq!(got, want_ann, "for_actor, pages of {size}");
    }

    // Backwards from the second page gives the first page again.
    let first = conn
        .audit()
        .for_entity("doc", doc, PageRequest::first(4))
        .unwrap();
    let second = conn
        .audit()
        .for_entity(
            "doc",
            doc,
            PageRequest::after(first.next_cursor().unwrap(), 4),
        )
        .unwrap();
    let back = conn
        .audit()
        .for_entity(
            "doc",
            doc,
            PageRequest::before(second.prev_cursor().unwrap(), 4),
        )
        .unwrap();
    assert_eq!(back.items, first.items);

    // A cursor of one listing is refused by the other.
    let cursor = first.next_cursor().unwrap();
    let err = conn
        .audit()
        .for_actor(UserId(ann), PageRequest::after(cursor.clone(), 4))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCursor { .. }), "{err:?}");
    let from_actor = conn
        .audit()
        .for_actor(UserId(ann), PageRequest::first(2))
        .unwrap()
        .next_cursor()
        .unwrap();
    let err = conn
        .audit()
        .for_entity("doc", doc, PageRequest::after(from_actor, 2))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCursor { .. }), "{err:?}");

    for limit in [0, 1001] {
        let err = conn
            .audit()
            .for_entity("doc", doc, PageRequest::first(limit))
            .unwrap_err();
        assert!(err.field() == Some("limit"), "{err:?}");
        let err = conn
            .audit()
            .for_actor(UserId(ann), PageRequest::after(cursor.clone(), limit))
            .unwrap_err();
        assert!(err.field() == Some("limit"), "{err:?}");
    }

    // Nothing about an unknown entity or actor.
    let none = conn
        .audit()
        .for_entity("doc", Uuid::now_v7(), PageRequest::first(10))
        .unwrap();
    assert!(none.items.is_empty() && none.next_cursor().is_none());
    assert!(conn
        .audit()
        .for_actor(UserId(Uuid::now_v7()), PageRequest::first(10))
        .unwrap()
        .items
        .is_empty());
}
