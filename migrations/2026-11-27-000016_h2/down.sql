ALTER TABLE payments
    DROP CONSTRAINT payments_version_positive,
    DROP COLUMN version;
