//! Long titles: a post's slug is at most 180 bytes, cut at a word boundary
//! (whole words only), whatever the word lengths and the script. The cut
//! used to fall at byte 180 mid-word; the older test's `"word " x 60`
//! happened to line up with it.

use diesel::prelude::*;
use saas_db::content::NewPost;
use saas_db::{Error, Repos};

use super::{author, draft};

/// The longest run of whole `words` joined by `-` that fits in `max` bytes.
fn whole_words(words: impl IntoIterator<Item = String>, max: usize) -> String {
    let mut slug = String::new();
    for word in words {
        let extra = if slug.is_empty() { 0 } else { 1 } + word.len();
        if slug.len() + extra > max {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    slug
}

/// `short` is `long` cut at one of `long`'s word boundaries.
fn is_word_prefix(short: &str, long: &str) -> bool {
    short == long || long.starts_with(&format!("{short}-"))
}

#[test]
fn long_titles_are_cut_after_the_last_whole_word() {
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "long@example.com");
    // Every word length from 1 to 13 letters: most don't line up with 180.
    for len in 1..=13usize {
        let word: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let title = vec![word.as_str(); 280 / (len + 1)].join(" ");
        let slug = draft(&mut conn, a, &title, "").slug;
        let expected = whole_words(std::iter::repeat_n(word.clone(), 300), 180);
        assert_eq!(slug, expected, "{len}-letter words");
        assert!(slug.len() <= 180 && slug.len() > 180 - len - 1, "{slug}");
    }
    // 7-letter words again, another text; "hijklmn " x 30 would have been cut at "hijk".
    let title = "hijklmn ".repeat(30);
    assert_eq!(
        draft(&mut conn, a, &title, "").slug,
        ["hijklmn"; 22].join("-"),
        "cut before the 23rd word, at 175 bytes"
    );
    // A long word after a short one: only the short one fits.
    let title = format!("abc {}", "x".repeat(250));
    assert_eq!(draft(&mut conn, a, &title, "").slug, "abc");
    // Transliterated text: each word's byte length changes on the way.
    let title = "Crème brûlée façon grand-mère ".repeat(10);
    let words = ["creme", "brulee", "facon", "grand", "mere"];
    let expected = whole_words(words.iter().cycle().take(50).map(|w| w.to_string()), 180);
    let slug = draft(&mut conn, a, &title, "").slug;
    assert_eq!(slug, expected);
    // Taken: the suffix goes after the whole words (the slug CHECK allows 200).
    assert_eq!(
        draft(&mut conn, a, &title, "").slug,
        format!("{expected}-2")
    );
}

#[test]
fn scripts_without_spaces_are_cut_between_transliterated_words() {
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "cjk@example.com");
    // 50 characters: a tag name at its limit. Transliteration makes each a
    // word, so the tag's slug (cut at 60 bytes) and the post's (cut at 180)
    // must both end between words of the same full slug.
    let text = "日本語の文章を書きます東京大阪京都名古屋札幌福岡神戸横浜".repeat(2);
    let text: String = text.chars().take(50).collect();
    let post = draft(&mut conn, a, &text, "").slug;
    let tag = conn.tags().create(&text).unwrap().slug;
    assert!(tag.len() <= 60 && post.len() <= 180, "{tag} / {post}");
    assert!(tag.len() > 40, "the tag slug was cut near 60: {tag}");
    assert!(
        is_word_prefix(&tag, &post),
        "{tag} is not whole words of {post}"
    );
}

#[test]
fn a_single_word_longer_than_the_limit_is_cut_mid_word() {
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "oneword@example.com");
    // No boundary to cut at: the word is cut at 180 bytes.
    let word = "a".repeat(300);
    assert_eq!(draft(&mut conn, a, &word, "").slug, "a".repeat(180));
    assert_eq!(
        draft(&mut conn, a, &word, "").slug,
        format!("{}-2", "a".repeat(180))
    );
    // Multi-byte: 300 characters, 600 bytes, one transliterated word.
    let accented = "é".repeat(300);
    assert_eq!(draft(&mut conn, a, &accented, "").slug, "e".repeat(180));
    // A 500-character word is not a title at all (titles hold 300
    // characters): refused before the database, nothing written.
    let err = conn
        .posts()
        .create(&NewPost {
            author_id: a,
            title: "a".repeat(500).into(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Invalid { ref field, .. } if field == "title"),
        "{err:?}"
    );
    let posts: i64 = saas_db::schema::posts::table
        .filter(saas_db::schema::posts::author_id.eq(a))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(posts, 3);
}
