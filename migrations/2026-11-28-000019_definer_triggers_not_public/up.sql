-- A SECURITY DEFINER trigger function runs as the owner on whatever table
-- it is attached to, and PostgreSQL lets every role EXECUTE a new function:
-- all CREATE TRIGGER checks. So any role could attach one to a table of its
-- own (a temp table named like ours) and feed it rows it chose: for
-- app_check_team_owner(), an oracle telling whether a team id exists and
-- has an owner. Firing a trigger checks no privilege, so taking EXECUTE
-- away from PUBLIC changes nothing for our own triggers. (changes_capture()
-- is revoked where it is created, in 2026-11-28-000017_change_feed.)
DO $$
DECLARE
    fn regprocedure;
BEGIN
    FOR fn IN
        SELECT p.oid::regprocedure
          FROM pg_proc p
         WHERE p.pronamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'teams'::regclass)
           AND p.prosecdef
           AND p.prorettype = 'trigger'::regtype
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
END
$$;
