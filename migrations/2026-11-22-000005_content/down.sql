DROP TABLE post_tags;
DROP TABLE posts;
DROP TABLE tags;
DROP TABLE categories;
DROP TYPE post_status;
