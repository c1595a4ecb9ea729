DROP FUNCTION audit_logs_drop_partitions_before(timestamptz);
DROP TABLE audit_logs;
DROP FUNCTION audit_logs_refuse_change();
DROP FUNCTION audit_logs_ensure_partitions(integer);
