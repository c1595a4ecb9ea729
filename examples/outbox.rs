//! The transactional outbox: a sign-up enqueues its verification email in
//! the same transaction; worker threads claim, "send" and ack; a flaky
//! receiver's message is retried and then dead-lettered, listed and
//! requeued.
//!
//! ```sh
//! cargo run --example outbox   # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use saas_db::outbox::auth_mail::{AuthEmail, AUTH_EMAIL_TOPIC};
use saas_db::outbox::{Failed, NewMessage};
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()?;
    let db = Database::builder(&url).schema("outbox_example").build()?;
    let mut conn = db.conn()?;

    println!("1. sign-ups enqueue their emails in their own transactions");
    for email in ["ada@example.com", "alan@example.com", "grace@example.com"] {
        conn.auth()
            .sign_up(&NewUser::new(email, email), "a long enough password")?;
    }
    let failed = conn.auth().sign_up(
        &NewUser::new("ADA@example.com", "Ada again"),
        "another password",
    );
    println!(
        "   a duplicate sign-up fails ({}) and enqueues nothing",
        failed.unwrap_err()
    );
    println!("   ready: {}", db.outbox(AUTH_EMAIL_TOPIC).stats()?.ready);

    println!("\n2. two workers drain auth.email; tokens are issued at delivery");
    let outbox = db.outbox(AUTH_EMAIL_TOPIC);
    let sent = AtomicUsize::new(0);
    std::thread::scope(|s| -> saas_db::Result<()> {
        let workers: Vec<_> = (1..=2)
            .map(|worker| {
                let (db, outbox, sent) = (&db, &outbox, &sent);
                s.spawn(move || -> saas_db::Result<()> {
                    let mut conn = db.conn()?;
                    loop {
                        let claimed = outbox.claim(1, Duration::from_secs(30))?;
                        if claimed.is_empty() {
                            return Ok(());
                        }
                        for message in claimed {
                            let email = AuthEmail::from_claimed(&message)?;
                            if let Some((_, token)) =
                                email.issue_token(&mut conn, Duration::from_secs(24 * 3600))?
                            {
                                // A real sender emails the link here.
                                println!(
                                    "   worker {worker}: {:?} to {} (token {}..., never stored)",
                                    email.kind,
                                    email.email,
                                    &token.as_str()[..6]
                                );
                                sent.fetch_add(1, Ordering::Relaxed);
                            }
                            outbox.ack(&message)?;
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("the worker panicked")?;
        }
        Ok(())
    })?;
    println!("   sent {} emails", sent.load(Ordering::Relaxed));

    println!("\n3. a receiver that always fails: retried, then dead-lettered");
    let payload = json!({ "payment_id": 42 });
    let message = NewMessage::new("billing.webhook", &payload)
        .dedupe_key("payment-42")
        .max_attempts(3);
    conn.outbox().enqueue_message(&message)?;
    let again = conn.outbox().enqueue_message(&message)?;
    println!("   enqueued twice with one dedupe key: second is {again:?}");
    let hooks = db
        .outbox("billing.webhook")
        .backoff(Duration::from_millis(10), Duration::from_millis(20));
    let mut id = None;
    while hooks.dead_letters(10)?.is_empty() {
        for claimed in hooks.claim(10, Duration::from_secs(30))? {
            id = Some(claimed.id);
            match hooks.fail(&claimed, "HTTP 503 from the receiver")? {
                Failed::Retry(at) => println!("   attempt {}: retry at {at}", claimed.attempts),
                Failed::Dead => println!("   attempt {}: dead letter", claimed.attempts),
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let dead = hooks.dead_letters(10)?;
    println!(
        "   dead letters: {} ({:?})",
        dead.len(),
        dead[0].last_error.as_deref().unwrap_or("")
    );
    let id = id.ok_or("no message")?;
    hooks.requeue(id)?;
    let claimed = hooks.claim(10, Duration::from_millis(50))?;
    println!(
        "   requeued and claimed again: attempt {}",
        claimed[0].attempts
    );

    println!("\n4. a worker that outlives its lease cannot ack");
    std::thread::sleep(Duration::from_millis(80));
    let other = hooks.claim(10, Duration::from_secs(30))?;
    match hooks.ack(&claimed[0]) {
        Err(e @ Error::LeaseLost { .. }) => println!("   late ack: {e}"),
        other => return Err(format!("expected LeaseLost, got {other:?}").into()),
    }
    hooks.ack(&other[0])?;
    println!("   the new holder acked it (attempt {})", other[0].attempts);
    Ok(())
}
