-- Gives the SECURITY DEFINER functions back the search_path they had
-- before: the same list without the trailing pg_temp.
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
        IF fn.path ~ ', pg_temp$' THEN
            EXECUTE format('ALTER FUNCTION %s SET search_path TO %s',
                           fn.signature, regexp_replace(fn.path, ', pg_temp$', ''));
        END IF;
    END LOOP;
END
$$;
