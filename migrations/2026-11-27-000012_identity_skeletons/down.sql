DROP INDEX users_email_skeleton_key;
ALTER TABLE users DROP COLUMN email_skeleton;
