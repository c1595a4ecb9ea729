DROP TABLE team_invitations;
DROP TABLE team_members;
DROP TABLE teams;
DROP TYPE team_role;
DROP TYPE team_kind;
