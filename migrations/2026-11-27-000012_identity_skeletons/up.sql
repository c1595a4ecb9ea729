-- Look-alike email addresses (UTS #39 confusable skeletons; src/identity.rs
-- computes them, as SQL cannot). `email_skeleton` holds an address's
-- skeleton only when it differs from the address itself, which it does not
-- for any plain ASCII address: so the rows written before this migration,
-- and ASCII rows written by other tools, need no value, and a migration
-- that cannot run Rust has nothing to backfill.
ALTER TABLE users ADD COLUMN email_skeleton text;
ALTER TABLE users ADD CONSTRAINT users_email_skeleton_length CHECK (length(email_skeleton) <= 1024);

COMMENT ON COLUMN users.email_skeleton IS
    'UTS #39 skeleton of email when it differs from email (non-ASCII addresses); NULL means email is its own skeleton';

-- One user per look-alike group: a second address that looks like a taken
-- one (an all-Cyrillic "асе" next to "ace") is refused, race-free.
CREATE UNIQUE INDEX users_email_skeleton_key ON users ((COALESCE(email_skeleton, email)));
