DROP TABLE user_profiles;
DROP TABLE users;
DROP TYPE theme;
DROP TYPE user_role;
