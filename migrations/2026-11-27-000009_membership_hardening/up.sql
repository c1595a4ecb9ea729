-- Closes the ways around the team rules that a hostile review found with
-- hand-written SQL as the application role (see the README's security
-- section):
--  * an invitee could UPDATE their invitation (team, role, revocation,
--    expiry) and then insert the membership it now "granted";
--  * anyone could make themselves the owner of a team left without members;
--  * a team could lose its last owner through a cascade (a deleted user) or
--    any statement that did not go through the repositories.
--
-- After this migration a membership is created in exactly three ways:
--  1. the creator of a team, in the transaction that created it;
--  2. redeeming an open invitation with its token, through
--     app_accept_invitation (no invitee may UPDATE invitation rows);
--  3. a team manager adding someone (owners any role, admins short of owner).
-- Every UPDATE policy has a WITH CHECK, and "a team has an owner at every
-- commit" is a deferred constraint trigger, so it holds for every writer.

-- The transaction that created each team. xid8 never wraps; it is stored as
-- bigint so the column maps to a plain Diesel type. Existing teams get the
-- id of this migration's transaction, which no later transaction shares.
ALTER TABLE teams ADD COLUMN created_txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);

CREATE FUNCTION app_current_txid() RETURNS bigint
LANGUAGE sql STABLE
AS $$ SELECT pg_current_xact_id()::text::bigint $$;

-- A team created by this very transaction that nobody belongs to yet: the
-- only team one can make oneself the owner of. (A team that committed
-- empty, or lost its members, is not "new": it cannot be claimed.)
CREATE FUNCTION app_team_is_new(team uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
    SELECT EXISTS (SELECT 1 FROM teams WHERE id = team AND created_txid = app_current_txid())
       AND NOT EXISTS (SELECT 1 FROM team_members WHERE team_id = team)
$$;

-- Whether the current user may create, change or remove a membership with
-- `member_role` in `team`: owners any, admins short of owner, site admins.
CREATE FUNCTION app_may_manage_member(team uuid, member_role team_role) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
    SELECT CASE app_team_role(team)
               WHEN 'owner' THEN true
               WHEN 'admin' THEN member_role <> 'owner'
               ELSE false
           END
        OR app_is_admin()
$$;

-- Redeems an invitation for `invitee` in one statement's worth of work: it
-- must be unexpired, unrevoked, unaccepted, for the invitee's email, and
-- named by the SHA-256 of its token. The membership gets the role the
-- invitation was issued with; an existing member keeps theirs. Runs as the
-- owner, so the invitee needs no UPDATE right on invitations and no INSERT
-- right on memberships. With app.user_id set, only that user can redeem.
-- outcome: 'joined', 'wrong_email' (the invitation stays open) or
-- 'invalid_token' (unknown, used, revoked or expired; not said which).
CREATE FUNCTION app_accept_invitation(token_sha256 bytea, invitee uuid)
RETURNS TABLE (outcome text, team_id uuid, role team_role)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
    invitee_email text;
    invited_team uuid;
    redeemed record;
BEGIN
    IF app_user_id() IS DISTINCT FROM invitee AND app_user_id() IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied: an invitation is redeemed by the signed-in user only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT u.email INTO invitee_email FROM users u WHERE u.id = invitee AND u.deleted_at IS NULL;
    -- The team's lock before the invitation's row lock, in the order every
    -- team change takes them (deleting a team holds the lock, then its
    -- cascade locks the invitation rows): the other order could deadlock.
    SELECT i.team_id INTO invited_team FROM team_invitations i WHERE i.token_hash = token_sha256;
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('saas_db.team.' || invited_team, 0));
    END IF;
    UPDATE team_invitations i SET accepted_at = now()
     WHERE i.token_hash = token_sha256 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
       AND i.expires_at > now() AND i.email = invitee_email
    RETURNING i.team_id, i.role INTO redeemed;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM team_invitations i
                    WHERE i.token_hash = token_sha256 AND i.accepted_at IS NULL
                      AND i.revoked_at IS NULL AND i.expires_at > now()) THEN
            RETURN QUERY SELECT 'wrong_email'::text, NULL::uuid, NULL::team_role;
        ELSE
            RETURN QUERY SELECT 'invalid_token'::text, NULL::uuid, NULL::team_role;
        END IF;
        RETURN;
    END IF;
    -- The team's lock, as every membership change takes it (src/sql.rs);
    -- already held unless a manager moved the invitation meanwhile.
    PERFORM pg_advisory_xact_lock(hashtextextended('saas_db.team.' || redeemed.team_id, 0));
    INSERT INTO team_members (team_id, user_id, role)
    VALUES (redeemed.team_id, invitee, redeemed.role)
    ON CONFLICT DO NOTHING;
    RETURN QUERY SELECT 'joined'::text, redeemed.team_id, redeemed.role;
END
$$;

-- A team has at least one owner whenever a transaction commits. Checked at
-- COMMIT (deferred), so ownership can be handed over in any order within a
-- transaction, and for every writer: repositories, hand-written SQL, and
-- cascades (a deleted user's memberships). Concurrent removals take the
-- team's lock first and then count with a fresh snapshot (READ COMMITTED),
-- so two owners demoting each other cannot both win. REPEATABLE READ, whose
-- snapshot may predate the other's commit, cannot take an owner away.
CREATE FUNCTION app_check_team_owner() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
    team uuid;
BEGIN
    IF TG_TABLE_NAME = 'teams' THEN
        team := NEW.id;
    ELSIF OLD.role <> 'owner' THEN
        RETURN NULL;
    ELSE
        team := OLD.team_id;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('saas_db.team.' || team, 0));
    IF NOT EXISTS (SELECT 1 FROM teams WHERE id = team) THEN
        RETURN NULL;  -- the team itself is gone (deleted, or never committed)
    END IF;
    IF TG_TABLE_NAME = 'team_members' AND current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'team %: an owner was removed in a REPEATABLE READ transaction, whose snapshot cannot see a concurrent removal; use READ COMMITTED or SERIALIZABLE', team
            USING ERRCODE = 'check_violation', CONSTRAINT = 'teams_keep_an_owner';
    END IF;
    IF EXISTS (SELECT 1 FROM team_members WHERE team_id = team AND role = 'owner') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'team % would be left without an owner', team
        USING ERRCODE = 'check_violation', CONSTRAINT = 'teams_keep_an_owner';
END
$$;

CREATE CONSTRAINT TRIGGER teams_keep_an_owner AFTER INSERT ON teams
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION app_check_team_owner();
CREATE CONSTRAINT TRIGGER team_members_keep_an_owner AFTER UPDATE OF role, team_id OR DELETE ON team_members
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION app_check_team_owner();

-- Policies: every UPDATE has a WITH CHECK; invitees get no write policy.
DROP POLICY teams_create ON teams;
CREATE POLICY teams_create ON teams FOR INSERT
    WITH CHECK (app_user_id() IS NOT NULL AND created_txid = app_current_txid());
DROP POLICY teams_update ON teams;
CREATE POLICY teams_update ON teams FOR UPDATE
    USING (app_team_role(id) IN ('owner', 'admin') OR app_is_admin())
    WITH CHECK (app_team_role(id) IN ('owner', 'admin') OR app_is_admin());

DROP POLICY team_members_add ON team_members;
CREATE POLICY team_members_add ON team_members FOR INSERT
    WITH CHECK (
        app_may_manage_member(team_id, role)
        -- the creator becomes the first owner of the team this transaction made
        OR (user_id = app_user_id() AND role = 'owner' AND app_team_is_new(team_id))
    );
DROP POLICY team_members_update ON team_members;
CREATE POLICY team_members_update ON team_members FOR UPDATE
    USING (app_may_manage_member(team_id, role))
    WITH CHECK (app_may_manage_member(team_id, role));
DROP POLICY team_members_remove ON team_members;
CREATE POLICY team_members_remove ON team_members FOR DELETE
    USING (app_may_manage_member(team_id, role) OR user_id = app_user_id());

DROP POLICY team_invitations_settle ON team_invitations;
CREATE POLICY team_invitations_manage ON team_invitations FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin())
    WITH CHECK (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());

DROP POLICY projects_update ON projects;
CREATE POLICY projects_update ON projects FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin())
    WITH CHECK (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());

DROP FUNCTION app_just_accepted(uuid, team_role);
DROP FUNCTION app_team_is_empty(uuid);
