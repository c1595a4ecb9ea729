DROP TABLE verification_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
DROP TYPE token_kind;
