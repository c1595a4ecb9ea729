//! Full-text search over published posts: the generated `posts.search`
//! tsvector (title weighted above content), its GIN index, `ts_rank`, and
//! `websearch_to_tsquery`, which accepts any text (quotes, `or`, `-`, stray
//! operators) without a syntax error.

use diesel::prelude::*;
use diesel_full_text_search::configuration::TsConfigurationByName;
use diesel_full_text_search::{
    ts_rank, websearch_to_tsquery_with_search_config, TsVectorExtensions,
};

use super::listings::listed;
use super::Post;
use super::PostRepo;
use crate::error::Result;
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::schema::posts;

/// Longest search text used, in bytes; the rest is ignored. Keeps every
/// word under PostgreSQL's 2,047-byte lexeme limit and the query cheap.
pub const SEARCH_MAX_BYTES: usize = 1000;

/// The text configuration `posts.search` is built with (a constant, never
/// user input: it is written into the SQL).
const CONFIG: TsConfigurationByName = TsConfigurationByName("english");

/// `text` without NUL bytes (PostgreSQL text cannot hold them) and cut to
/// [`SEARCH_MAX_BYTES`] at a character boundary.
fn clean(text: &str) -> String {
    let mut cleaned: String = text.chars().filter(|&c| c != '\0').collect();
    if cleaned.len() > SEARCH_MAX_BYTES {
        let mut end = SEARCH_MAX_BYTES;
        while !cleaned.is_char_boundary(end) {
            end -= 1;
        }
        cleaned.truncate(end);
    }
    cleaned
}

impl PostRepo<'_> {
    /// Published posts matching `text` (web-search syntax: words, `"a
    /// phrase"`, `or`, `-excluded`), best match first, ties newest id
    /// first. Any string is a valid search: input with nothing searchable
    /// (blank, only stop words or punctuation) finds nothing.
    ///
    /// A cursor belongs to its search text (after NUL bytes are stripped
    /// and the text is cut to [`SEARCH_MAX_BYTES`]): another text refuses
    /// it with [`crate::Error::InvalidCursor`].
    ///
    /// # Errors
    /// [`crate::Error::InvalidCursor`], [`crate::Error::Invalid`] for a limit
    /// outside 1..=1000; never an error for the text.
    pub fn search(&mut self, text: &str, page: PageRequest) -> Result<Page<Post>> {
        let text = clean(text);
        if text.trim().is_empty() {
            // Still check the page request, as every listing does.
            pagination::check_limit(&page)?;
            return Ok(Page::empty());
        }
        let query = || websearch_to_tsquery_with_search_config(CONFIG, text.clone());
        let rank = ts_rank(posts::search, query());
        let rows = listed()
            .filter(posts::search.matches(query()))
            .select((Post::as_select(), rank.clone()));
        let keyset = Keyset {
            listing: Listing::named("posts.search").param(&text),
            sort: rank,
            id: posts::id,
            order: Order::Desc,
        };
        let page = pagination::paginate(
            rows,
            keyset,
            &page,
            |(p, rank): &(Post, f32)| (*rank, p.id),
            self.conn,
        )?;
        Ok(page.map(|(post, _)| post))
    }
}
