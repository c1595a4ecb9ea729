CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');

CREATE TABLE categories (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    slug        text        COLLATE "C" NOT NULL,
    description text,
    sort_order  integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT categories_name_key UNIQUE (name),
    CONSTRAINT categories_slug_key UNIQUE (slug),
    CONSTRAINT categories_name_length CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT categories_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    CONSTRAINT categories_description_length CHECK (length(description) <= 2000)
);

CREATE TRIGGER categories_set_updated_at BEFORE UPDATE ON categories
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE tags (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    slug        text        COLLATE "C" NOT NULL,
    usage_count integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_name_key UNIQUE (name),
    CONSTRAINT tags_slug_key UNIQUE (slug),
    CONSTRAINT tags_name_length CHECK (length(name) BETWEEN 1 AND 50),
    CONSTRAINT tags_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 60),
    CONSTRAINT tags_usage_count_nonnegative CHECK (usage_count >= 0)
);
-- Popular tags by usage.
CREATE INDEX tags_usage_idx ON tags (usage_count DESC, id);

CREATE TABLE posts (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    author_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category_id  uuid        REFERENCES categories (id) ON DELETE SET NULL,
    title        text        NOT NULL,
    -- Slugs are ASCII: byte order lets `slug LIKE 'x-%'` (the numeric-suffix
    -- lookup on a collision) use the unique index.
    slug         text        COLLATE "C" NOT NULL,
    excerpt      text,
    content      text        NOT NULL DEFAULT '',
    status       post_status NOT NULL DEFAULT 'draft',
    featured     boolean     NOT NULL DEFAULT false,
    view_count   bigint      NOT NULL DEFAULT 0,
    published_at timestamptz,
    deleted_at   timestamptz,
    -- Maintained by PostgreSQL, so writers outside this crate keep search right.
    search       tsvector    GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', content), 'B')
    ) STORED,
    version      integer     NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT posts_slug_key UNIQUE (slug),
    CONSTRAINT posts_title_length CHECK (length(title) BETWEEN 1 AND 300),
    CONSTRAINT posts_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    CONSTRAINT posts_excerpt_length CHECK (length(excerpt) <= 1000),
    CONSTRAINT posts_content_length CHECK (length(content) <= 1000000),
    CONSTRAINT posts_view_count_nonnegative CHECK (view_count >= 0),
    CONSTRAINT posts_published_has_date CHECK (status <> 'published' OR published_at IS NOT NULL),
    CONSTRAINT posts_version_positive CHECK (version >= 1)
);
-- An author's posts in any state (and the FK's index).
CREATE INDEX posts_author_created_idx ON posts (author_id, created_at, id);
-- The FK's index, ordered for the by-category listing.
CREATE INDEX posts_category_published_idx ON posts (category_id, published_at, id);
-- Published listings, newest first, keyset on (published_at, id).
CREATE INDEX posts_published_idx ON posts (published_at, id)
    WHERE status = 'published' AND deleted_at IS NULL;
CREATE INDEX posts_author_published_idx ON posts (author_id, published_at, id)
    WHERE status = 'published' AND deleted_at IS NULL;
CREATE INDEX posts_featured_idx ON posts (published_at, id)
    WHERE featured AND status = 'published' AND deleted_at IS NULL;
CREATE INDEX posts_search_idx ON posts USING gin (search);

-- Views are not edits: view_count changes leave updated_at alone. (search
-- is generated after BEFORE triggers run, so it is left out as well.)
CREATE TRIGGER posts_set_updated_at BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at('view_count', 'search');

CREATE TABLE post_tags (
    post_id    uuid        NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id     uuid        NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag_post_idx ON post_tags (tag_id, post_id);

-- tags.usage_count is the number of post_tags rows of the tag, kept exact by
-- the database: every insert and delete (including cascades from deleted
-- posts) adjusts it atomically in the same transaction.
CREATE FUNCTION post_tags_count_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tags SET usage_count = usage_count + 1 WHERE id = NEW.tag_id;
    ELSE
        UPDATE tags SET usage_count = usage_count - 1 WHERE id = OLD.tag_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER post_tags_count_usage AFTER INSERT OR DELETE ON post_tags
    FOR EACH ROW EXECUTE FUNCTION post_tags_count_usage();
