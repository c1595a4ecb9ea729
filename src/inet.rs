//! The one place where client addresses cross to and from PostgreSQL's
//! `inet`: the crate takes and returns [`IpAddr`] (sessions, the audit log),
//! Diesel maps `inet` to [`IpNet`] (an address with a prefix length), so
//! writes go through [`to_inet`] and reads through [`InetAddr`].

use std::net::IpAddr;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{Inet, Nullable};
use ipnet::IpNet;

/// An address as an `inet` value: a host (`/32`, `/128`).
pub(crate) fn to_inet(ip: Option<IpAddr>) -> Option<IpNet> {
    ip.map(IpNet::from)
}

/// A nullable `inet` column read as `Option<IpAddr>`, for
/// `#[diesel(deserialize_as = InetAddr)]` on an `Option<IpAddr>` field.
/// The crate writes host addresses only; a network written by other code
/// (`10.0.0.0/8`) reads as its address, the prefix dropped.
#[derive(Debug, FromSqlRow)]
pub struct InetAddr(Option<IpAddr>);

impl FromSql<Nullable<Inet>, Pg> for InetAddr {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let net = <IpNet as FromSql<Inet, Pg>>::from_sql(value)?;
        Ok(InetAddr(Some(net.addr())))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(InetAddr(None)),
        }
    }
}

impl From<InetAddr> for Option<IpAddr> {
    fn from(value: InetAddr) -> Self {
        value.0
    }
}
