//! saas-db in five minutes: connect (or start a throwaway PostgreSQL), create
//! users, page through them, and watch the two errors you will meet first: a
//! stale update and a duplicate email.
//!
//! ```sh
//! cargo run --example quickstart                  # throwaway local PostgreSQL
//! DATABASE_URL=postgres://… cargo run --example quickstart
//! ```

use saas_db::users::{NewUser, UserChanges};
use saas_db::{Database, Error, PageRequest, Repos};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // With no DATABASE_URL, start a private cluster; it is stopped and
    // deleted when `_server` goes out of scope (or if we crash).
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let pg = saas_db_testing::EmbeddedPostgres::start()?;
            println!(
                "started a throwaway PostgreSQL (log: {})",
                pg.log_path().display()
            );
            (pg.url().to_owned(), Some(pg))
        }
    };

    // Pool + pending migrations. Everything lives in schema "quickstart" so
    // the example never touches your own tables.
    let db = Database::builder(&url).schema("quickstart").build()?;
    let mut conn = db.conn()?;
    println!("connected; schema `quickstart` is migrated\n");

    // Create a few users; emails are normalised to lower case.
    let alice = conn
        .users()
        .create(&NewUser::new("Alice@Example.com", "Alice"))?;
    println!(
        "created {:<22} {} (version {})",
        alice.email, alice.id, alice.version
    );
    db.transaction(|tx| {
        for i in 1..=24 {
            let email = format!("user{i:02}@example.com");
            let name = format!("User {i:02}");
            tx.users().create(&NewUser::new(&email, &name))?;
        }
        Ok(())
    })?;
    println!(
        "created 24 more users in one transaction; {} in all\n",
        conn.users().count()?
    );

    // Keyset pagination: the cursor is an opaque string a client can send back.
    let mut request = PageRequest::first(10);
    let mut page_no = 1;
    loop {
        let page = conn.users().list(request)?;
        let names: Vec<&str> = page.items.iter().map(|u| u.name.as_str()).collect();
        println!("page {page_no}: {}", names.join(", "));
        let Some(next) = page.next_cursor() else {
            break;
        };
        let as_sent_to_client = next.to_string();
        request = PageRequest::after(as_sent_to_client.parse()?, 10);
        page_no += 1;
    }
    println!();

    // Optimistic locking: two editors start from version 1; the second loses.
    let first = UserChanges {
        name: Some("Alice Liddell".into()),
        ..Default::default()
    };
    let second = UserChanges {
        name: Some("Alice in Chains".into()),
        ..Default::default()
    };
    let updated = conn.users().update(alice.id, alice.version, &first)?;
    println!(
        "editor 1 renamed Alice -> {:?} (now version {})",
        updated.name, updated.version
    );
    match conn.users().update(alice.id, alice.version, &second) {
        Err(e @ Error::Stale { .. }) => println!("editor 2 was refused: {e}"),
        other => return Err(format!("expected a stale update, got {other:?}").into()),
    }

    // A duplicate email in another case is a conflict naming the constraint.
    match conn
        .users()
        .create(&NewUser::new("ALICE@example.COM", "Impostor"))
    {
        Err(e @ Error::Conflict { .. }) => println!("duplicate email was refused: {e}"),
        other => return Err(format!("expected a conflict, got {other:?}").into()),
    }
    // Bad input never reaches the database.
    match conn.users().create(&NewUser::new("not-an-email", "Nobody")) {
        Err(e @ Error::Invalid { .. }) => println!("malformed email was refused: {e}"),
        other => return Err(format!("expected invalid input, got {other:?}").into()),
    }
    println!(
        "\ndone; {} users, pool: {:?}",
        conn.users().count()?,
        db.pool().state()
    );
    Ok(())
}
