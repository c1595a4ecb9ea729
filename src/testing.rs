/// Replaces the database name in a libpq URI or key/value connection string.
pub fn url_with_database(url: &str, database: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .map(|r| ("postgres://", r))
        .or_else(|| url.strip_prefix("postgresql://").map(|r| ("postgresql://", r)))
    {
        let (scheme, rest) = rest;
        let (before_query, query) = match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let authority = before_query.split('/').next().unwrap_or("");
        format!("{scheme}{authority}/{database}{query}")
    } else {
        format!("{url} dbname={database}")
    }
}
