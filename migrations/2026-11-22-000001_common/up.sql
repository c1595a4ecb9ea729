-- Shared by every table that has updated_at: keeps it right for writers
-- outside this crate too. An UPDATE that changes nothing leaves it alone, and
-- columns named as trigger arguments (counters such as posts.view_count) do
-- not count as changes. now() is the transaction's start time, so every row
-- touched by one transaction carries the same timestamp.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_NARGS = 0 THEN
        IF NEW IS DISTINCT FROM OLD THEN
            NEW.updated_at := now();
        END IF;
    ELSIF (to_jsonb(NEW) - TG_ARGV) IS DISTINCT FROM (to_jsonb(OLD) - TG_ARGV) THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
