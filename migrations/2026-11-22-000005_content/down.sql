DROP TABLE post_tags;
DROP FUNCTION post_tags_count_usage();
DROP TABLE posts;
DROP TABLE tags;
DROP TABLE categories;
DROP TYPE post_status;
