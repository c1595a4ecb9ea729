//! Every Postgres enum of the schema as a Rust enum.
//!
//! Labels are the snake_case of the variant names (`PastDue` is `past_due`).
//! The catalog test checks that each enum's labels equal the variants, in
//! order, and that every variant round-trips through the database.

use diesel_derive_enum::DbEnum;
use serde::{Deserialize, Serialize};

/// Declares one Rust enum for one Postgres enum, with the derives all of them
/// share and an `ALL` list that the catalog tests compare with the database.
macro_rules! pg_enum {
    ($(#[$doc:meta])* $name:ident => $path:literal, $pg:literal { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum, Serialize, Deserialize)]
        #[ExistingTypePath = $path]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every variant, in the order of the Postgres enum's labels.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The Postgres type name.
            pub const PG_TYPE: &'static str = $pg;
        }
    };
}

pg_enum! {
    /// A user's global role (`user_role`).
    UserRole => "crate::schema::sql_types::UserRole", "user_role" {
        /// May read and change anything.
        Admin,
        /// An ordinary user.
        User,
    }
}

pg_enum! {
    /// What a verification token is for (`token_kind`).
    TokenKind => "crate::schema::sql_types::TokenKind", "token_kind" {
        /// Confirms that the user owns the email address.
        EmailVerification,
        /// Lets the user set a new password.
        PasswordReset,
        /// Signs the user in without a password.
        MagicLink,
    }
}

pg_enum! {
    /// How often a plan bills (`billing_interval`).
    BillingInterval => "crate::schema::sql_types::BillingInterval", "billing_interval" {
        /// Every month.
        Month,
        /// Every year.
        Year,
    }
}

pg_enum! {
    /// The state of a subscription (`subscription_status`).
    SubscriptionStatus => "crate::schema::sql_types::SubscriptionStatus", "subscription_status" {
        /// In a free trial.
        Trialing,
        /// Paid and current.
        Active,
        /// A renewal payment failed; still live while retries run.
        PastDue,
        /// Ended.
        Canceled,
        /// Retries ran out.
        Unpaid,
        /// The first payment has not completed.
        Incomplete,
    }
}

pg_enum! {
    /// The state of a payment (`payment_status`).
    PaymentStatus => "crate::schema::sql_types::PaymentStatus", "payment_status" {
        /// Created, not settled.
        Pending,
        /// Money received.
        Succeeded,
        /// The charge failed.
        Failed,
        /// Abandoned before settling.
        Canceled,
        /// Fully refunded.
        Refunded,
    }
}

pg_enum! {
    /// The state of a post (`post_status`).
    PostStatus => "crate::schema::sql_types::PostStatus", "post_status" {
        /// Not visible to readers.
        Draft,
        /// Visible; `published_at` is set.
        Published,
        /// Hidden from listings, kept for reference.
        Archived,
    }
}

pg_enum! {
    /// A user's colour scheme preference (`theme`).
    Theme => "crate::schema::sql_types::Theme", "theme" {
        /// Light.
        Light,
        /// Dark.
        Dark,
        /// Follow the operating system.
        System,
    }
}

pg_enum! {
    /// What a team is (`team_kind`).
    TeamKind => "crate::schema::sql_types::TeamKind", "team_kind" {
        /// The one-person team every user can have.
        Personal,
        /// A shared workspace.
        Workspace,
    }
}

pg_enum! {
    /// A member's role in a team (`team_role`).
    TeamRole => "crate::schema::sql_types::TeamRole", "team_role" {
        /// Full control, including the team itself.
        Owner,
        /// Manages members and content.
        Admin,
        /// Uses the team's resources.
        Member,
    }
}
