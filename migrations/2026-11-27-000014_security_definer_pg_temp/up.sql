-- The SECURITY DEFINER functions (the policies' helpers, app_accept_invitation
-- and the "a team keeps an owner" trigger) pinned their search_path with
-- FROM CURRENT, which did not name pg_temp. PostgreSQL then searches the
-- CALLER's temporary schema first for tables, so any role with TEMP on the
-- database (PUBLIC has it by default) could create a temporary `users` or
-- `team_members` and have these functions, running as the owner, read it:
-- a site admin spoofed, or a team's last owner removed. Listing pg_temp
-- explicitly, last, closes that (see "Writing SECURITY DEFINER Functions
-- Safely" in the PostgreSQL manual). Every such function of this schema
-- gets the search_path it had with ", pg_temp" appended; a later migration
-- that re-creates one must say `SET search_path = <schema>, pg_temp` too
-- (tests/it/review.rs checks the catalog).
DO $$
DECLARE
    home oid := (SELECT relnamespace FROM pg_class WHERE oid = 'teams'::regclass);
    fn record;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure AS signature,
               (SELECT substr(c, length('search_path=') + 1)
                  FROM unnest(p.proconfig) AS c
                 WHERE c LIKE 'search_path=%') AS path
          FROM pg_proc p
         WHERE p.prosecdef AND p.pronamespace = home
    LOOP
        IF fn.path IS NULL THEN
            RAISE EXCEPTION 'SECURITY DEFINER function % has no pinned search_path', fn.signature;
        END IF;
        IF fn.path !~ '(^|, )pg_temp$' THEN
            EXECUTE format('ALTER FUNCTION %s SET search_path TO %s, pg_temp', fn.signature, fn.path);
        END IF;
    END LOOP;
END
$$;
