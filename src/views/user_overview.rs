//! [`UserOverview`]: the seed's "user with profile, live subscription and
//! plan, and latest published posts", in two queries. It joins the users,
//! billing and content domains, so it is a view rather than a `UserRepo` call.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::billing::{Plan, Subscription, LIVE};
use crate::content::{is_listed, Post};
use crate::error::{Found, Result};
use crate::ids::UserId;
use crate::schema::{
    posts, subscription_plans as plans, subscriptions as subs, user_profiles, users,
};
use crate::users::{visible, User, UserProfile};

/// How many published posts a [`UserOverview`] includes.
pub const OVERVIEW_POSTS: i64 = 10;

/// A user with everything an account page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl UserOverview {
    /// The user with profile, live subscription and plan (one query of left
    /// joins) and the latest published posts (`Post::belonging_to`, one
    /// more): two queries however much there is.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown or
    /// soft-deleted user.
    pub fn load(conn: &mut PgConnection, id: UserId) -> Result<UserOverview> {
        Self::read(conn, id, false)
    }

    /// As [`UserOverview::load`], also for a soft-deleted user.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown user.
    pub fn load_including_deleted(conn: &mut PgConnection, id: UserId) -> Result<UserOverview> {
        Self::read(conn, id, true)
    }

    fn read(conn: &mut PgConnection, id: UserId, include_deleted: bool) -> Result<UserOverview> {
        let (user, profile, subscription, plan) = users::table
            .left_join(user_profiles::table.on(user_profiles::user_id.eq(users::id)))
            .left_join(subs::table.on(subs::user_id.eq(users::id).and(subs::status.eq_any(LIVE))))
            .left_join(plans::table.on(plans::id.eq(subs::plan_id)))
            .filter(users::id.eq(id))
            .filter(visible(include_deleted))
            .select((
                User::as_select(),
                Option::<UserProfile>::as_select(),
                Option::<Subscription>::as_select(),
                Option::<Plan>::as_select(),
            ))
            .first(conn)
            .found("user")?;
        let latest_posts = Post::belonging_to(&user)
            .filter(is_listed())
            .order((posts::published_at.desc(), posts::id.desc()))
            .limit(OVERVIEW_POSTS)
            .select(Post::as_select())
            .load(conn)?;
        Ok(UserOverview {
            user,
            profile,
            subscription,
            plan,
            latest_posts,
        })
    }
}
