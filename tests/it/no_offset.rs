//! "No OFFSET anywhere": every statement the crate sends during a run of
//! every listing (first, last, after and before a cursor, page by page to
//! the end) is captured through Diesel's instrumentation and checked, and
//! the sources (Rust and migrations) are checked for an `OFFSET` or
//! `.offset(` outside comments. Each listing statement ends in a `LIMIT`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::support::{acting_as, new_payment};
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::prelude::*;
use saas_db::audit::AuditEntry;
use saas_db::content::{NewCategory, NewPost};
use saas_db::enums::{PaymentStatus, UserRole};
use saas_db::users::NewUser;
use saas_db::views::{PostDetails, UserOverview};
use saas_db::{Page, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

/// The most pages one walk may take before the listing counts as endless.
const MAX_PAGES: usize = 100;

/// A plain connection that records the SQL of every statement it starts.
fn recorded(url: &str) -> (PgConnection, Arc<Mutex<Vec<String>>>) {
    let mut conn = PgConnection::establish(url).unwrap();
    let sql = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sql);
    let recorder = move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            seen.lock().unwrap().push(query.to_string());
        }
    };
    conn.set_instrumentation(Box::new(recorder) as Box<dyn Instrumentation>);
    (conn, sql)
}

/// Walks a listing both ways, page by page, to each end; returns the ids
/// served forwards (and checks backwards serves the same).
fn walk_both_ways<T>(
    conn: &mut PgConnection,
    id_of: impl Fn(&T) -> Uuid,
    list: impl Fn(&mut PgConnection, PageRequest) -> saas_db::Result<Page<T>>,
) -> Vec<Uuid> {
    let mut forwards = Vec::new();
    let mut request = PageRequest::first(2);
    for pages in 0.. {
        assert!(pages < MAX_PAGES, "forward paging does not end");
        let page = list(conn, request).unwrap();
        forwards.extend(page.items.iter().map(&id_of));
        match page.next_cursor() {
            Some(c) => request = PageRequest::after(c, 2),
            None => break,
        }
    }
    let mut backwards = Vec::new();
    let mut request = PageRequest::last(2);
    for pages in 0.. {
        assert!(pages < MAX_PAGES, "backward paging does not end");
        let page = list(conn, request).unwrap();
        backwards.splice(0..0, page.items.iter().map(&id_of));
        match page.prev_cursor() {
            Some(c) => request = PageRequest::before(c, 2),
            None => break,
        }
    }
    assert_eq!(forwards, backwards);
    assert!(forwards.len() >= 3, "every listing spans pages");
    forwards
}

fn has_offset(sql: &str) -> bool {
    let upper = sql.to_uppercase();
    upper.contains("OFFSET")
}

#[test]
fn no_statement_of_any_listing_uses_offset() {
    let db = TestDatabase::new();
    let (mut conn, sql) = recorded(db.url());
    let ann = conn
        .users()
        .create(&NewUser::new("ann@example.com", "Ann"))
        .unwrap()
        .id;
    for i in 0..4 {
        let id = conn
            .users()
            .create(&NewUser::new(format!("u{i}@example.com"), "U"))
            .unwrap()
            .id;
        conn.users()
            .set_role(&acting_as(id), id, UserRole::Admin)
            .unwrap();
    }
    let gone = conn
        .users()
        .create(&NewUser::new("gone@example.com", "Gone"))
        .unwrap()
        .id;
    conn.users().soft_delete(&acting_as(gone), gone).unwrap();
    let news = conn
        .categories()
        .create(&NewCategory {
            name: "News".into(),
            description: None,
            sort_order: 0,
        })
        .unwrap()
        .id;
    for i in 0..5 {
        let title = format!("Rust post {i}");
        let post = conn
            .posts()
            .create(&NewPost {
                author_id: ann,
                title: title.as_str().into(),
                category_id: Some(news),
                featured: true,
                ..Default::default()
            })
            .unwrap();
        conn.posts().publish(post.id).unwrap();
        conn.posts().set_tags(post.id, &["rust"]).unwrap();
        conn.audit()
            .record(&AuditEntry::new("edited", "post", Some(post.id.into())).by(ann))
            .unwrap();
        conn.audit()
            .record(&AuditEntry::new("edited", "post", Some(news.into())).by(ann))
            .unwrap();
        conn.payments()
            .record(&new_payment(ann, 100, "EUR", PaymentStatus::Succeeded))
            .unwrap();
    }
    for tag in ["go", "zig"] {
        conn.tags().create(tag).unwrap();
    }
    let rust = conn.tags().get_by_slug("rust").unwrap().id;
    sql.lock().unwrap().clear();

    let user = |u: &saas_db::users::User| u.id.into();
    let post = |p: &saas_db::content::Post| p.id.into();
    walk_both_ways(&mut conn, user, |c, r| c.users().list(r));
    walk_both_ways(&mut conn, user, |c, r| {
        c.users().including_deleted().list(r)
    });
    walk_both_ways(&mut conn, user, |c, r| {
        c.users().list_by_role(UserRole::Admin, r)
    });
    walk_both_ways(&mut conn, post, |c, r| c.posts().published(r));
    walk_both_ways(&mut conn, post, |c, r| c.posts().featured(r));
    walk_both_ways(&mut conn, post, |c, r| c.posts().by_author(ann, r));
    walk_both_ways(&mut conn, post, |c, r| c.posts().by_category(news, r));
    walk_both_ways(&mut conn, post, |c, r| c.posts().by_tag(rust, r));
    walk_both_ways(&mut conn, post, |c, r| c.posts().search("rust post", r));
    walk_both_ways(
        &mut conn,
        |d: &PostDetails| d.post.id.into(),
        |c, r| {
            let page = c.posts().published(r)?;
            PostDetails::load_page(c, page)
        },
    );
    walk_both_ways(
        &mut conn,
        |t: &saas_db::content::Tag| t.id.into(),
        |c, r| c.tags().list(r),
    );
    let audit = |e: &saas_db::audit::AuditLog| e.id.into();
    walk_both_ways(&mut conn, audit, |c, r| c.audit().for_actor(ann, r));
    walk_both_ways(&mut conn, audit, |c, r| {
        c.audit().for_entity("post", news, r)
    });
    walk_both_ways(
        &mut conn,
        |p: &saas_db::billing::Payment| p.id.into(),
        |c, r| c.payments().list_for_user(ann, r),
    );
    assert_eq!(conn.tags().popular(2).unwrap().len(), 1);
    UserOverview::load(&mut conn, ann).unwrap();
    let mut exported = 0;
    conn.audit()
        .export(None, |_| {
            exported += 1;
            Ok(())
        })
        .unwrap();
    // 10 entries written below, plus the 4 role changes and the deletion
    // above (user changes done on someone's behalf are always audited).
    assert_eq!(exported, 15);

    let sent = sql.lock().unwrap().clone();
    assert!(
        sent.len() > 60,
        "the run was recorded: {} statements",
        sent.len()
    );
    let offsets: Vec<&String> = sent.iter().filter(|s| has_offset(s)).collect();
    assert!(offsets.is_empty(), "OFFSET sent: {offsets:#?}");
    let pages = sent.iter().filter(|s| s.contains(" LIMIT ")).count();
    assert!(pages > 50, "the listings' pages were recorded: {pages}");
    // The control: the check does see an OFFSET when one is sent.
    sql.lock().unwrap().clear();
    saas_db::schema::users::table
        .select(saas_db::schema::users::id)
        .offset(1)
        .load::<Uuid>(&mut conn)
        .unwrap();
    assert!(sql.lock().unwrap().iter().any(|s| has_offset(s)));
}

/// Every line of every file under `dir` with `extension`, as `(path:line, text)`.
fn lines_under(dir: &Path, extension: &str, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            lines_under(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, line) in text.lines().enumerate() {
                out.push((format!("{}:{}", path.display(), i + 1), line.to_owned()));
            }
        }
    }
}

#[test]
fn no_offset_in_the_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut rust = Vec::new();
    lines_under(&root.join("src"), "rs", &mut rust);
    let mut sql = Vec::new();
    lines_under(&root.join("migrations"), "sql", &mut sql);
    assert!(
        rust.len() > 5000 && sql.len() > 500,
        "the sources were read"
    );
    let code =
        |(_, line): &&(String, String), comment: &str| !line.trim_start().starts_with(comment);
    let found: Vec<&(String, String)> = rust
        .iter()
        .filter(|l| code(l, "//"))
        .chain(sql.iter().filter(|l| code(l, "--")))
        .filter(|(_, line)| line.to_lowercase().contains("offset"))
        .collect();
    assert!(found.is_empty(), "OFFSET in the sources: {found:#?}");
}
