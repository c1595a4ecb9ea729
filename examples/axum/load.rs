//! The example's checks and load run: HTTP clients (reqwest) against the
//! server on loopback, bounded in requests and in time.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How hard and how long to push.
pub struct Plan {
    /// Concurrent clients, each with its own user, session and team.
    pub clients: usize,
    /// How long the clients keep sending.
    pub duration: Duration,
    /// At most this many requests in all.
    pub max_requests: usize,
    /// The run is abandoned (an error) after this long, whatever happens.
    pub hard_cap: Duration,
    /// One request gives up (an error) after this long.
    pub request_timeout: Duration,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            clients: 8,
            duration: Duration::from_secs(10),
            max_requests: 50_000,
            hard_cap: Duration::from_secs(60),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// What the load run measured.
pub struct Report {
    /// Requests sent (setup included).
    pub requests: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Requests that failed or got an unexpected status.
    pub errors: usize,
    /// The first failure, to say what went wrong.
    pub first_error: Option<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = self.requests as f64 / self.elapsed.as_secs_f64();
        write!(
            f,
            "load run: {} requests in {:.1} s = {rate:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms; {} error(s)",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.errors,
        )?;
        match &self.first_error {
            Some(e) => write!(f, "; first: {e}"),
            None => Ok(()),
        }
    }
}

/// One client's requests: each is timed, and one that fails or does not
/// get the expected status counts as an error.
struct Session {
    http: Client,
    base: String,
    token: String,
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

impl Session {
    async fn call(&mut self, request: RequestBuilder, expect: StatusCode) -> Option<Value> {
        let started = Instant::now();
        let outcome = match request.bearer_auth(&self.token).send().await {
            Ok(response) if response.status() == expect => response.json::<Value>().await.ok(),
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                self.failed(format!("{status} (expected {expect}): {body}"));
                None
            }
            Err(e) => {
                self.failed(e.to_string());
                None
            }
        };
        self.latencies.push(started.elapsed());
        outcome
    }

    fn failed(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs up, signs in and makes a team; then, until the deadline or the
    /// shared budget runs out: `/me`, the first page of posts, the page
    /// after it (its cursor in the query string), and every 20th round an
    /// invitation.
    async fn work(mut self, id: usize, deadline: Instant, budget: Arc<AtomicUsize>) -> Self {
        let email = format!("load{id}@example.com");
        let creds = json!({"email": email, "name": format!("Load {id}"), "password": "correct horse battery"});
        self.call(
            self.http.post(self.url("/signup")).json(&creds),
            StatusCode::CREATED,
        )
        .await;
        let signed_in = self.call(
            self.http.post(self.url("/signin")).json(&creds),
            StatusCode::OK,
        );
        let Some(token) = signed_in
            .await
            .and_then(|v| v["token"].as_str().map(str::to_owned))
        else {
            return self;
        };
        self.token = token;
        let team = self
            .http
            .post(self.url("/teams"))
            .json(&json!({"name": format!("Team {id}")}));
        let Some(team_id) = self
            .call(team, StatusCode::CREATED)
            .await
            .map(|t| t["id"].clone())
        else {
            return self;
        };
        let take = || budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        for round in 0.. {
            if Instant::now() >= deadline || take().is_err() {
                break;
            }
            let request = match round % 4 {
                0 => self.http.get(self.url("/me")),
                1 | 2 => self.http.get(self.url("/posts?limit=20")),
                _ if round % 20 == 3 => {
                    let invitee = json!({"email": format!("invitee{id}.{round}@example.com")});
                    let path = format!("/teams/{}/invitations", team_id.as_str().unwrap_or(""));
                    let response = self.call(
                        self.http.post(self.url(&path)).json(&invitee),
                        StatusCode::CREATED,
                    );
                    response.await;
                    continue;
                }
                _ => self.http.get(self.url("/me")),
            };
            let page = self.call(request, StatusCode::OK).await;
            if round % 4 == 2 {
                let next = page
                    .as_ref()
                    .and_then(|p| p["next_cursor"].as_str())
                    .unwrap_or("");
                let after = self
                    .http
                    .get(self.url("/posts"))
                    .query(&[("after", next), ("limit", "20")]);
                self.call(after, StatusCode::OK).await;
            }
        }
        self
    }
}

/// Runs `plan` against the server at `base`.
///
/// # Errors
/// When the run does not end within the plan's hard cap.
pub async fn run(base: &str, plan: Plan) -> Result<Report, BoxError> {
    let started = Instant::now();
    let deadline = started + plan.duration;
    let budget = Arc::new(AtomicUsize::new(plan.max_requests));
    let clients = (0..plan.clients).map(|id| {
        let session = Session {
            http: Client::builder().timeout(plan.request_timeout).build()?,
            base: base.to_owned(),
            token: String::new(),
            latencies: Vec::new(),
            errors: 0,
            first_error: None,
        };
        Ok::<_, BoxError>(tokio::spawn(session.work(id, deadline, budget.clone())))
    });
    let clients = clients.collect::<Result<Vec<_>, _>>()?;
    let finished = tokio::time::timeout(plan.hard_cap, async {
        let mut done = Vec::new();
        for client in clients {
            done.push(client.await?);
        }
        Ok::<_, BoxError>(done)
    });
    let sessions = finished
        .await
        .map_err(|_| "the load run hit its hard time cap")??;
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = sessions.iter().flat_map(|s| s.latencies.clone()).collect();
    latencies.sort();
    let at = |q: usize| {
        latencies.get((latencies.len() * q / 100).min(latencies.len().saturating_sub(1)))
    };
    Ok(Report {
        requests: latencies.len(),
        elapsed,
        p50: at(50).copied().unwrap_or_default(),
        p99: at(99).copied().unwrap_or_default(),
        errors: sessions.iter().map(|s| s.errors).sum(),
        first_error: sessions.iter().find_map(|s| s.first_error.clone()),
    })
}

/// The error responses a client relies on, and a walk through every page
/// of the listing by its cursors (45 posts, none twice, none missed).
///
/// # Errors
/// The first response that is not as expected.
pub async fn check_error_responses(base: &str) -> Result<(), BoxError> {
    let http = Client::new();
    let url = |path: &str| format!("{base}{path}");
    let creds = json!({"email": "first@example.com", "password": "correct horse battery"});
    let cases = [
        (http.post(url("/signup")).json(&creds), 201, None),
        (
            http.post(url("/signup")).json(&creds),
            409,
            Some("conflict"),
        ),
        (
            http.post(url("/signup"))
                .json(&json!({"email": "no at sign", "password": "long enough"})),
            422,
            Some("invalid"),
        ),
        (
            http.post(url("/signin"))
                .json(&json!({"email": "first@example.com", "password": "wrong password"})),
            401,
            Some("unauthorized"),
        ),
        (http.get(url("/me")), 401, Some("unauthorized")),
        (
            http.get(url("/me")).bearer_auth("forged"),
            401,
            Some("unauthorized"),
        ),
        (
            http.get(url("/posts?after=forged")),
            400,
            Some("invalid_cursor"),
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await?;
        let got = response.status().as_u16();
        let body: Value = response.json().await?;
        if got != status || code.is_some_and(|c| body["code"] != c) {
            return Err(format!("expected {status} {code:?}, got {got}: {body}").into());
        }
    }
    let (mut seen, mut pages, mut after) = (HashSet::new(), 0, None::<String>);
    loop {
        let mut request = http.get(url("/posts")).query(&[("limit", "20")]);
        if let Some(cursor) = &after {
            request = request.query(&[("after", cursor)]);
        }
        let page: Value = request.send().await?.error_for_status()?.json().await?;
        for item in page["items"].as_array().into_iter().flatten() {
            if !seen.insert(item["id"].to_string()) {
                return Err(format!("post {} listed twice", item["id"]).into());
            }
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) if pages < 10 => after = Some(next.to_owned()),
            _ => break,
        }
    }
    if seen.len() != 45 || pages != 3 {
        return Err(format!(
            "walked {pages} pages, {} posts; expected 3 and 45",
            seen.len()
        )
        .into());
    }
    println!("error responses and cursor walk as expected (3 pages, 45 posts)");
    Ok(())
}
