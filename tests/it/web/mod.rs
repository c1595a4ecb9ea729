//! What a web host sends and receives: models through JSON and back, input
//! structs from request bodies (owned text, escapes, `null` vs missing, fields a
//! client may not set), `PublicUser`, and inputs built from `Default`.
//! (Paging from a query string is in `pagination/web.rs`.)

mod defaults;
mod escapes;
mod hostile_text;
mod inputs;
mod models;
mod new_subscription;
mod owned;
