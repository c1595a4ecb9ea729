-- Payments become a versioned aggregate: mark_succeeded / mark_failed /
-- refund / update / transfer_user_data bump it, and `update` is an
-- optimistic-lock write (`.. WHERE id = $1 AND version = $2`), so two
-- editors of one payment cannot silently overwrite each other.
ALTER TABLE payments
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD CONSTRAINT payments_version_positive CHECK (version >= 1);
