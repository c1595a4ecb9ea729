//! [`UserRepo::overview`]: the seed's "user with profile, live subscription
//! and plan, and latest published posts", in two queries.

use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::Serialize;
use uuid::Uuid;

use super::{User, UserProfile, UserRepo};
use crate::billing::{Plan, Subscription, LIVE};
use crate::content::{is_listed, Post};
use crate::error::{Found, Result};
use crate::schema::{
    posts, subscription_plans as plans, subscriptions as subs, user_profiles, users,
};

/// How many published posts [`UserRepo::overview`] includes.
pub const OVERVIEW_POSTS: i64 = 10;

/// A user with everything an account page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserOverview {
    /// The user.
    pub user: User,
    /// The profile, if one was created.
    pub profile: Option<UserProfile>,
    /// The live (trialing, active or past-due) subscription, if any.
    pub subscription: Option<Subscription>,
    /// Its plan.
    pub plan: Option<Plan>,
    /// The latest published posts, newest first, at most [`OVERVIEW_POSTS`].
    pub latest_posts: Vec<Post>,
}

impl UserRepo<'_> {
    /// The user with profile, live subscription and plan (one query of left
    /// joins) and the latest published posts (`Post::belonging_to`, one
    /// more): two queries however much there is.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown (or, unless the repository
    /// includes deleted users, soft-deleted) user.
    pub fn overview(&mut self, id: Uuid) -> Result<UserOverview> {
        let (user, profile, subscription, plan) = users::table
            .left_join(user_profiles::table.on(user_profiles::user_id.eq(users::id)))
            .left_join(subs::table.on(subs::user_id.eq(users::id).and(subs::status.eq_any(LIVE))))
            .left_join(plans::table.on(plans::id.eq(subs::plan_id)))
            .filter(users::id.eq(id))
            .filter(
                users::deleted_at
                    .is_null()
                    .or(self.include_deleted.into_sql::<Bool>()),
            )
            .select((
                User::as_select(),
                Option::<UserProfile>::as_select(),
                Option::<Subscription>::as_select(),
                Option::<Plan>::as_select(),
            ))
            .first(self.conn)
            .found("user")?;
        let latest_posts = Post::belonging_to(&user)
            .filter(is_listed())
            .order((posts::published_at.desc(), posts::id.desc()))
            .limit(OVERVIEW_POSTS)
            .select(Post::as_select())
            .load(self.conn)?;
        Ok(UserOverview {
            user,
            profile,
            subscription,
            plan,
            latest_posts,
        })
    }
}
