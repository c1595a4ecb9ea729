//! Slugs: lower-case ASCII words joined by `-`, as the CHECKs require.

/// The slug of `text` (unicode transliterated), at most `max` bytes, cut at
/// a word boundary; `fallback` when nothing is left.
pub(crate) fn slugify(text: &str, max: usize, fallback: &str) -> String {
    let mut slug = slug::slugify(text);
    if slug.len() > max {
        slug.truncate(max);
        slug = slug.trim_end_matches('-').to_owned();
    }
    if slug.is_empty() {
        fallback.to_owned()
    } else {
        slug
    }
}
