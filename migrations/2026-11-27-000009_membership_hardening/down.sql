-- Restores the policies and helpers of 2026-11-22-000008_tenancy.
CREATE FUNCTION app_team_is_empty(team uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$ SELECT NOT EXISTS (SELECT 1 FROM team_members WHERE team_id = team) $$;

CREATE FUNCTION app_just_accepted(team uuid, r team_role) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
    SELECT EXISTS (SELECT 1 FROM team_invitations
                    WHERE team_id = team AND role = r AND email = app_user_email()
                      AND accepted_at = now())
$$;

DROP POLICY projects_update ON projects;
CREATE POLICY projects_update ON projects FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());

DROP POLICY team_invitations_manage ON team_invitations;
CREATE POLICY team_invitations_settle ON team_invitations FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR email = app_user_email()
           OR app_is_admin());

DROP POLICY team_members_remove ON team_members;
CREATE POLICY team_members_remove ON team_members FOR DELETE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR user_id = app_user_id()
           OR app_is_admin());
DROP POLICY team_members_update ON team_members;
CREATE POLICY team_members_update ON team_members FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());
DROP POLICY team_members_add ON team_members;
CREATE POLICY team_members_add ON team_members FOR INSERT
    WITH CHECK (
        app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin()
        OR (user_id = app_user_id() AND role = 'owner' AND app_team_is_empty(team_id))
        OR (user_id = app_user_id() AND app_just_accepted(team_id, role))
    );

DROP POLICY teams_update ON teams;
CREATE POLICY teams_update ON teams FOR UPDATE
    USING (app_team_role(id) IN ('owner', 'admin') OR app_is_admin());
DROP POLICY teams_create ON teams;
CREATE POLICY teams_create ON teams FOR INSERT
    WITH CHECK (app_user_id() IS NOT NULL);

DROP TRIGGER team_members_keep_an_owner ON team_members;
DROP TRIGGER teams_keep_an_owner ON teams;
DROP FUNCTION app_check_team_owner();
DROP FUNCTION app_accept_invitation(bytea, uuid);
DROP FUNCTION app_may_manage_member(uuid, team_role);
DROP FUNCTION app_team_is_new(uuid);
DROP FUNCTION app_current_txid();
ALTER TABLE teams DROP COLUMN created_txid;
