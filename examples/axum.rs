//! saas-db behind an axum server: sign-up, sign-in (a session token), a
//! session-protected `/me`, a post listing paged by a cursor in the query
//! string, and a team invite. Every handler calls the crate through
//! `Database::run` / `run_transaction` (feature `tokio`) and returns
//! `saas_db::Error` as the response (feature `axum`: `Error::http_status`
//! and a JSON body with a code and a safe message).
//!
//! ```sh
//! cargo run --example axum --features axum,tokio            # load run, then exit
//! cargo run --example axum --features axum,tokio -- --serve # keep serving
//! ```
//!
//! By default it checks a few error responses, then runs a load run against
//! itself on loopback: 8 clients for 10 seconds (at most 50,000 requests, a
//! hard cap of 60 s), printing requests/s, p50/p99 latency and the errors,
//! and exits non-zero on any error. With no DATABASE_URL it starts a
//! throwaway PostgreSQL, like the other examples.

use std::future::IntoFuture;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use saas_db::access::Actor;
use saas_db::auth::SessionOptions;
use saas_db::content::NewPost;
use saas_db::enums::TeamRole;
use saas_db::users::{NewUser, User};
use saas_db::{Cursor, Database, Error, PageRequest, Repos, TeamId};
use serde::{Deserialize, Serialize};

#[path = "axum/load.rs"]
mod load;

type ApiResult<T> = Result<T, Error>;

/// Signing up and signing in take the same body.
#[derive(Serialize, Deserialize)]
struct Credentials {
    email: String,
    name: Option<String>,
    password: String,
}

/// What a client may see of a user (not the moderation fields).
#[derive(Serialize, Deserialize)]
struct Me {
    id: String,
    email: String,
    name: String,
}

impl From<User> for Me {
    fn from(user: User) -> Self {
        Me {
            id: user.id.to_string(),
            email: user.email,
            name: user.name,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct SignedIn {
    token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// `?after=<cursor>&limit=20` or `?before=<cursor>`; a forged cursor is
/// `Error::InvalidCursor`, a 400.
#[derive(Deserialize)]
struct PageQuery {
    after: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

impl PageQuery {
    fn request(&self) -> ApiResult<PageRequest> {
        let limit = self.limit.unwrap_or(20);
        Ok(match (&self.after, &self.before) {
            (Some(after), _) => PageRequest::after(after.parse::<Cursor>()?, limit),
            (None, Some(before)) => PageRequest::before(before.parse::<Cursor>()?, limit),
            (None, None) => PageRequest::first(limit),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct PostSummary {
    id: String,
    title: String,
    slug: String,
}

#[derive(Serialize, Deserialize)]
struct PostsPage {
    items: Vec<PostSummary>,
    next_cursor: Option<String>,
    prev_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct NewTeam {
    name: String,
}

#[derive(Serialize, Deserialize)]
struct Invite {
    email: String,
}

async fn sign_up(State(db): State<Database>, Json(body): Json<Credentials>) -> ApiResult<Response> {
    let user = db
        .run_transaction(move |tx| {
            let name = body.name.as_deref().unwrap_or("New user");
            tx.auth()
                .sign_up(&NewUser::new(&body.email, name), &body.password)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(Me::from(user))).into_response())
}

async fn sign_in(
    State(db): State<Database>,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> ApiResult<Response> {
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let signed_in = db
        .run(move |conn| {
            let mut options = SessionOptions::new(Duration::from_secs(3600));
            if let Some(agent) = user_agent.as_deref() {
                options = options.user_agent(agent);
            }
            // Unknown email and wrong password are the same
            // `Error::Unauthorized` (401) on purpose.
            conn.auth()
                .sign_in_with_password(&body.email, &body.password, options)
        })
        .await?;
    Ok(Json(SignedIn {
        token: signed_in.token.into_string(),
        expires_at: signed_in.session.expires_at,
    })
    .into_response())
}

/// The user of the `Authorization: Bearer <token>` session;
/// `Error::Unauthorized` (401) when it is missing, unknown or expired.
async fn current_user(db: &Database, headers: &HeaderMap) -> ApiResult<User> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Error::Unauthorized)?
        .to_owned();
    let (_session, user) = db.run(move |conn| conn.sessions().validate(&token)).await?;
    Ok(user)
}

async fn me(State(db): State<Database>, headers: HeaderMap) -> ApiResult<Json<Me>> {
    Ok(Json(current_user(&db, &headers).await?.into()))
}

async fn posts(
    State(db): State<Database>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<PostsPage>> {
    let request = q.request()?;
    let page = db.run(move |conn| conn.posts().published(request)).await?;
    Ok(Json(PostsPage {
        next_cursor: page.next_cursor().map(|c| c.to_string()),
        prev_cursor: page.prev_cursor().map(|c| c.to_string()),
        items: (page.items.into_iter())
            .map(|p| PostSummary {
                id: p.id.to_string(),
                title: p.title,
                slug: p.slug,
            })
            .collect(),
    }))
}

async fn create_team(
    State(db): State<Database>,
    headers: HeaderMap,
    Json(body): Json<NewTeam>,
) -> ApiResult<Response> {
    let actor = Actor::from(&current_user(&db, &headers).await?);
    let team = db
        .run(move |conn| conn.teams().create(&actor, &body.name))
        .await?;
    Ok((StatusCode::CREATED, Json(team)).into_response())
}

async fn invite(
    State(db): State<Database>,
    headers: HeaderMap,
    Path(team_id): Path<uuid::Uuid>,
    Json(body): Json<Invite>,
) -> ApiResult<Response> {
    let actor = Actor::from(&current_user(&db, &headers).await?);
    let week = Duration::from_secs(7 * 24 * 3600);
    let (invitation, _token) = db
        .run(move |conn| {
            conn.teams()
                .invite(&actor, TeamId(team_id), &body.email, TeamRole::Member, week)
        })
        .await?;
    // A real server mails `_token` to the invitee (through the outbox).
    Ok((StatusCode::CREATED, Json(invitation)).into_response())
}

fn app(db: Database) -> Router {
    Router::new()
        .route("/signup", post(sign_up))
        .route("/signin", post(sign_in))
        .route("/me", get(me))
        .route("/posts", get(posts))
        .route("/teams", post(create_team))
        .route("/teams/{id}/invitations", post(invite))
        .with_state(db)
}

/// An author and 45 published posts, so the listing has three pages of 20.
async fn seed(db: &Database) -> ApiResult<()> {
    db.run_transaction(|tx| {
        let author = tx
            .users()
            .create(&NewUser::new("author@example.com", "Author"))?;
        for i in 1..=45 {
            let title = format!("Post number {i}");
            let new = NewPost {
                author_id: author.id,
                title: title.as_str().into(),
                content: "Hello from axum.".into(),
                ..Default::default()
            };
            let post = tx.posts().create(&new)?;
            tx.posts().publish(post.id)?;
        }
        Ok(())
    })
    .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()?;
    // Pool size: the load run's 8 clients plus headroom. Each request holds
    // a connection only while its closure runs on the blocking pool.
    let db = Database::builder(&url)
        .schema("axum_example")
        .max_size(10)
        .build()?;
    seed(&db).await?;
    // Loopback only, on a port the OS picks.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(axum::serve(listener, app(db)).into_future());
    println!("serving on {base}");
    if std::env::args().any(|a| a == "--serve") {
        server.await??;
        return Ok(());
    }
    load::check_error_responses(&base).await?;
    let report = load::run(&base, load::Plan::default()).await?;
    println!("{report}");
    server.abort();
    if report.errors > 0 {
        return Err(format!("{} request(s) failed during the load run", report.errors).into());
    }
    Ok(())
}
