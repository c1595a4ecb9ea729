//! Round trips of writing posts and of a page of posts with details.

use saas_db::content::NewPost;
use saas_db::views::PostDetails;
use saas_db::{PageRequest, Repos};
use saas_db_testing::TestDatabase;

use super::{assert_budget, Budget, Counted};
use crate::support::user;

/// Round trips per operation (see the module docs of `budget`).
pub const BUDGET: Budget = &[
    ("posts.create", 1),
    ("posts.publish", 1),
    ("posts.set_tags (1 new tag)", 8),
    ("posts.set_tags (3 new tags)", 8),
    ("posts.set_tags (unchanged)", 8),
    ("posts.published + post_details::load_page (page of 20)", 4),
];

/// `set_tags` costs the same whatever the number of tags. It used to send
/// one INSERT per tag: 8 round trips for one tag, 10 for three (now one
/// multi-row INSERT: 8 for either).
// `.into()` keeps the input compiling whether its text fields are `&str`
// or `Cow<str>`.
#[allow(clippy::useless_conversion)]
#[test]
fn write_and_list_posts() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let ada = user(&mut counted.conn, "ada@example.com").id;
    let titles = ["First", "Second"];
    let (post, trips) = counted.warmed(|c, i| {
        c.posts()
            .create(&NewPost {
                author_id: ada,
                title: titles[i].into(),
                ..Default::default()
            })
            .unwrap()
    });
    assert_budget(BUDGET, "posts.create", &trips);
    let first = counted.conn.posts().get_by_slug("first").unwrap();
    let ids = [first.id, post.id];

    let (published, trips) = counted.warmed(|c, i| c.posts().publish(ids[i]).unwrap());
    assert!(published.published_at.is_some());
    assert_budget(BUDGET, "posts.publish", &trips);

    let (_, trips) = counted.warmed(|c, i| c.posts().set_tags(ids[i], &[["x", "y"][i]]).unwrap());
    assert_budget(BUDGET, "posts.set_tags (1 new tag)", &trips);
    let tags = [["a", "b", "c"], ["d", "e", "f"]];
    let (set, trips) = counted.warmed(|c, i| c.posts().set_tags(ids[i], &tags[i]).unwrap());
    assert_eq!(set.len(), 3);
    assert_budget(BUDGET, "posts.set_tags (3 new tags)", &trips);
    let (_, trips) = counted.warmed(|c, i| c.posts().set_tags(ids[i], &tags[i]).unwrap());
    assert_budget(BUDGET, "posts.set_tags (unchanged)", &trips);

    let (page, trips) = counted.warmed(|c, _| {
        let page = c.posts().published(PageRequest::first(20)).unwrap();
        PostDetails::load_page(c, page).unwrap()
    });
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].tags.len(), 3);
    assert_budget(
        BUDGET,
        "posts.published + post_details::load_page (page of 20)",
        &trips,
    );
}
