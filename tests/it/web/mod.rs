//! What a web host sends and receives: models through JSON and back, input
//! structs from request bodies (borrowed text, escapes, `null` vs missing, fields a
//! client may not set), `PublicUser`, and inputs built from `Default`.
//! (Paging from a query string is in `pagination/web.rs`.)

mod borrowing;
mod defaults;
mod escapes;
mod hostile_text;
mod inputs;
mod models;
