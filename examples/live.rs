//! Live data: a change feed followed for one team while another thread
//! creates, renames and deletes a project, and a third drains the outbox
//! messages those writes enqueued in their own transactions. The output
//! shows every change exactly once, and the example checks that it did:
//! the feed delivers the project's insert, update and delete once each and
//! in that order, nothing of the other team, and the outbox delivers each
//! of the three messages once.
//!
//! ```sh
//! cargo run --example live   # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use std::collections::HashSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use saas_db::access::Actor;
use saas_db::ids::{ProjectId, TeamId};
use saas_db::live::{Change, ChangeCursor, ChangeOp};
use saas_db::users::NewUser;
use saas_db::{Database, Repos};
use serde_json::json;
use uuid::Uuid;

/// The outbox topic the project writes enqueue to.
const TOPIC: &str = "projects.notify";
/// How long the example waits for the feed and the outbox at most.
const DEADLINE: Duration = Duration::from_secs(30);

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()
        .map_err(|e| format!("no PostgreSQL: {e}"))?;
    let db = Database::builder(&url).schema("live_example").build()?;
    let mut conn = db.conn()?;
    let run = Uuid::now_v7().simple().to_string();
    let ann = Actor::from(
        &conn
            .users()
            .create(&NewUser::new(format!("ann-{run}@example.com"), "Ann"))?,
    );
    let bob = Actor::from(
        &conn
            .users()
            .create(&NewUser::new(format!("bob-{run}@example.com"), "Bob"))?,
    );
    let team = conn.teams().create(&ann, "Ann's team")?;
    let other = conn.teams().create(&bob, "Bob's team")?;
    drop(conn);

    // Opened before any write, at the present: the feed sees what follows.
    let mut feed = db.change_feed(ChangeCursor::now())?.team(team.id);
    println!("feed for team {} opened at {}", team.name, feed.cursor());

    let (done_tx, done_rx) = mpsc::channel::<Uuid>();
    let (project, changes, delivered) = std::thread::scope(|s| -> Res<_> {
        let follower = s.spawn(move || follow(&mut feed, done_rx));
        let drainer = s.spawn(|| drain(&db));
        let project = write(&db, &ann, &bob, team.id, other.id)?;
        done_tx.send(project.into())?;
        let changes = follower.join().map_err(|_| "the feed thread panicked")??;
        let delivered = drainer.join().map_err(|_| "the outbox thread panicked")??;
        Ok((project, changes, delivered))
    })?;

    // Every change of the project exactly once, in order; nothing of Bob's.
    let ops: Vec<ChangeOp> = changes
        .iter()
        .filter(|c| c.row_id == project.uuid())
        .map(|c| c.op)
        .collect();
    assert_eq!(ops, [ChangeOp::Insert, ChangeOp::Update, ChangeOp::Delete]);
    assert!(changes.iter().all(|c| c.team_id == Some(team.id)));
    let cursors: HashSet<String> = changes.iter().map(|c| c.cursor.to_string()).collect();
    assert_eq!(cursors.len(), changes.len(), "a change was delivered twice");
    assert_eq!(delivered.len(), 3, "outbox: {delivered:?}");
    println!(
        "\nthe feed delivered {} changes, each once; the outbox {} messages, each once",
        changes.len(),
        delivered.len()
    );
    Ok(())
}

/// Thread 2: creates, renames and deletes a project in Ann's team, each in
/// a transaction that also enqueues an outbox message; and a project in
/// Bob's team, which Ann's feed must not carry.
fn write(db: &Database, ann: &Actor, bob: &Actor, team: TeamId, other: TeamId) -> Res<ProjectId> {
    let notify = |tx: &mut diesel::PgConnection, event: &str, id: ProjectId| {
        let payload = json!({ "event": event, "project_id": id });
        tx.outbox()
            .enqueue(TOPIC, &payload, Some(&format!("{event}-{id}")))
            .map(|_| ())
    };
    let project = db.transaction(|tx| {
        let project = tx.projects().create(ann, team, "Website")?;
        notify(tx, "created", project.id)?;
        Ok(project)
    })?;
    println!("writer: created project {:?}", project.name);
    db.transaction(|tx| tx.projects().create(bob, other, "Bob's secret"))?;
    println!("writer: created a project in Bob's team (not in Ann's feed)");
    let renamed = db.transaction(|tx| {
        let renamed = tx
            .projects()
            .rename(ann, project.id, project.version, "Website v2")?;
        notify(tx, "renamed", project.id)?;
        Ok(renamed)
    })?;
    println!("writer: renamed it to {:?}", renamed.name);
    db.transaction(|tx| {
        tx.projects().delete(ann, project.id)?;
        notify(tx, "deleted", project.id)
    })?;
    println!("writer: deleted it");
    Ok(project.id)
}

/// Thread 1: follows the feed until the project's delete arrives, printing
/// each change once.
fn follow(feed: &mut saas_db::live::ChangeFeed, done: mpsc::Receiver<Uuid>) -> Res<Vec<Change>> {
    let (mut seen, mut project) = (Vec::new(), None);
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        project = project.or_else(|| done.try_recv().ok());
        for change in feed.poll(Duration::from_millis(200))? {
            println!(
                "feed:   {:<6} {:<16} {} (cursor {})",
                format!("{:?}", change.op).to_lowercase(),
                change.table.as_str(),
                change.row_id,
                change.cursor
            );
            seen.push(change);
        }
        let finished = project.is_some_and(|p| {
            seen.iter()
                .any(|c: &Change| c.row_id == p && c.op == ChangeOp::Delete)
        });
        if finished {
            return Ok(seen);
        }
    }
    Err("the feed did not deliver the project's delete in time".into())
}

/// Thread 3: drains the outbox topic until the three messages are acked.
fn drain(db: &Database) -> Res<Vec<String>> {
    let outbox = db.outbox(TOPIC);
    let mut delivered = Vec::new();
    let started = Instant::now();
    while delivered.len() < 3 && started.elapsed() < DEADLINE {
        let claimed = outbox.claim(10, Duration::from_secs(30))?;
        if claimed.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        for message in claimed {
            // A real worker sends the webhook or email here.
            println!("outbox: {} (attempt {})", message.payload, message.attempts);
            outbox.ack(&message)?;
            delivered.push(message.payload["event"].to_string());
        }
    }
    Ok(delivered)
}
