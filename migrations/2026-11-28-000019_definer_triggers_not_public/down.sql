GRANT EXECUTE ON FUNCTION app_check_team_owner() TO PUBLIC;
