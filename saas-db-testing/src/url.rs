//! Connection strings of the throwaway servers and test databases: the same
//! server with another database or another user, in libpq's URI or
//! key/value form.

/// Replaces the database name in a libpq URI (`postgres://…/name?…`) or
/// key/value connection string (`host=… dbname=…`).
pub fn url_with_database(url: &str, database: &str) -> String {
    let scheme = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|s| url.starts_with(s));
    let Some(scheme) = scheme else {
        // In key/value strings a later keyword wins.
        return format!("{url} dbname={database}");
    };
    let rest = &url[scheme.len()..];
    let (before_query, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    let authority = before_query.split('/').next().unwrap_or("");
    format!("{scheme}{authority}/{database}{query}")
}

/// `url` with another user and password (URL or key/value form).
pub(crate) fn url_with_user(url: &str, user: &str, password: &str) -> String {
    let scheme = ["postgres://", "postgresql://"]
        .into_iter()
        .find(|s| url.starts_with(s));
    let Some(scheme) = scheme else {
        return format!("{url} user={user} password={password}");
    };
    let rest = &url[scheme.len()..];
    let host_start = rest
        .find('@')
        .filter(|&at| at < rest.find('/').unwrap_or(rest.len()));
    let rest = host_start.map_or(rest, |at| &rest[at + 1..]);
    format!("{scheme}{user}:{password}@{rest}")
}
