-- A host application's own migration, for the TestDatabase tests: a table
-- in a schema of the host's, referencing the crate's users (found through
-- the search_path, whichever schema they are in), and a row that records
-- the transaction that ran it (the same in every clone of one template).
CREATE SCHEMA notes_app;
CREATE TABLE notes_app.notes (
    id uuid CONSTRAINT notes_pkey PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL CONSTRAINT notes_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    body text NOT NULL
);
CREATE INDEX notes_user_id_idx ON notes_app.notes (user_id);
CREATE TABLE notes_app.built (txid bigint NOT NULL);
INSERT INTO notes_app.built VALUES (txid_current());
