//! [`PublicUser`]: what a response may show of a user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::User;
use crate::ids::UserId;

/// A user as any other user may see them, for responses: the id, display
/// name, handle, avatar and when they joined. [`User`] itself also holds
/// the email, the role, ban and deletion state, the last sign-in,
/// preferences and the row's version; serializing it into a response shows
/// all of that. Build one with `PublicUser::from(&user)`; for the signed-in
/// user's own page, add the fields they may see (their email) next to it.
///
/// ```
/// # use saas_db::users::{PublicUser, User};
/// # fn show(user: &User) -> serde_json::Value {
/// serde_json::to_value(PublicUser::from(user)).unwrap()
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicUser {
    /// Id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Handle, if the user chose one.
    pub username: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for PublicUser {
    fn from(user: &User) -> PublicUser {
        PublicUser {
            id: user.id,
            name: user.name.clone(),
            username: user.username.clone(),
            avatar_url: user.avatar_url.clone(),
            created_at: user.created_at,
        }
    }
}

impl From<User> for PublicUser {
    fn from(user: User) -> PublicUser {
        PublicUser {
            id: user.id,
            name: user.name,
            username: user.username,
            avatar_url: user.avatar_url,
            created_at: user.created_at,
        }
    }
}
