//! Sessions' client addresses: `IpAddr` in, `IpAddr` out.

use super::*;
use saas_db::auth::SessionOptions;

/// A session's address comes back as the `IpAddr` it was given, IPv4 and
/// IPv6, from every read (`create`'s RETURNING, `validate`,
/// `list_for_user`, a sign-in's session), and serializes without a prefix
/// length. It used to come back as an `IpNet` (`203.0.113.7/32`) while the
/// input was an `IpAddr`.
#[test]
fn session_addresses_round_trip_as_ip_addr_v4_and_v6() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    conn.accounts().set_password(ada.id, PASSWORD).unwrap();
    for text in ["203.0.113.7", "2001:db8::7", "::ffff:192.0.2.1", "::1"] {
        let ip: std::net::IpAddr = text.parse().unwrap();
        let (created, token) = conn
            .sessions()
            .create(ada.id, SessionOptions::new(HOUR).ip(ip))
            .unwrap();
        assert_eq!(created.ip_address, Some(ip), "{text}");
        let (validated, _) = conn.sessions().validate(token.as_str()).unwrap();
        assert_eq!(validated.ip_address, Some(ip), "{text}");
        let json = serde_json::to_value(&validated).unwrap();
        assert_eq!(json["ip_address"], serde_json::json!(text));

        let options = SessionOptions::new(HOUR).ip(ip).user_agent("ua/1");
        let signed = conn
            .auth()
            .sign_in_with_password(&ada.email, PASSWORD, options)
            .unwrap();
        assert_eq!(signed.session.ip_address, Some(ip), "{text}");
        assert_eq!(signed.session.user_agent.as_deref(), Some("ua/1"));
        let listed = conn.sessions().list_for_user(ada.id).unwrap();
        let mine = listed.iter().find(|s| s.id == signed.session.id).unwrap();
        assert_eq!(mine.ip_address, Some(ip), "{text}");
    }
    let (none, _) = conn
        .sessions()
        .create(ada.id, SessionOptions::new(HOUR))
        .unwrap();
    assert_eq!(none.ip_address, None);

    // A network written by other code reads as its address.
    exec(
        &mut conn,
        "UPDATE sessions SET ip_address = '10.1.0.0/16' WHERE id = $1",
        none.id,
    );
    let listed = conn.sessions().list_for_user(ada.id).unwrap();
    let network = listed.iter().find(|s| s.id == none.id).unwrap();
    assert_eq!(network.ip_address, Some("10.1.0.0".parse().unwrap()));
}
