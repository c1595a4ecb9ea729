//! Password hashing with Argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};
use crate::validate;

/// Shortest password accepted by `set_password`.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted, in bytes: bounds the hashing work an attacker
/// can ask for.
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// Argon2id with chosen cost parameters. The default follows the OWASP
/// recommendation: 19 MiB of memory, 2 iterations, 1 lane (about 20-40 ms
/// per hash on one core here). Hashes are PHC strings that carry their own
/// parameters, so raising the cost later re-hashes each password the next
/// time it is verified.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Params,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher {
            params: Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters"),
        }
    }
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verified {
    pub ok: bool,
    pub needs_rehash: bool,
}

impl PasswordHasher {
    /// A hasher with these cost parameters (memory in KiB, iterations,
    /// lanes). Bounded so that one hash cannot exhaust memory or run for
    /// hours: memory 8 KiB to 1 GiB, 1 to 64 iterations, 1 to 64 lanes.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `memory_kib`, `iterations` or `lanes`
    /// outside those bounds, or `argon2 params` when Argon2 refuses the
    /// combination (less than 8 KiB of memory per lane).
    pub fn new(memory_kib: u32, iterations: u32, lanes: u32) -> Result<Self> {
        validate::range("memory_kib", memory_kib, 8..=1024 * 1024)?;
        validate::range("iterations", iterations, 1..=64)?;
        validate::range("lanes", lanes, 1..=64)?;
        let params = Params::new(memory_kib, iterations, lanes, None)
            .map_err(|e| Error::invalid("argon2 params", e.to_string()))?;
        Ok(PasswordHasher { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Checks a new password's length (8 characters to 1,024 bytes, no NUL)
    /// and hashes it with a fresh random salt.
    pub(crate) fn hash(&self, password: &str) -> Result<String> {
        validate::text("password", password, PASSWORD_MIN_CHARS, PASSWORD_MAX_BYTES)?;
        if password.len() > PASSWORD_MAX_BYTES {
            return Err(Error::invalid(
                "password",
                format!("is longer than {PASSWORD_MAX_BYTES} bytes"),
            ));
        }
        self.hash_unchecked(password)
    }

    /// Hashes without the length policy: for re-hashing a password that
    /// was accepted under an older policy.
    pub(crate) fn hash_unchecked(&self, password: &str) -> Result<String> {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::invalid("password", e.to_string()))
    }

    /// Verifies `password` against a stored PHC string, and says whether the
    /// hash uses other parameters than ours (so the caller can re-hash).
    pub(crate) fn verify(&self, stored: &str, password: &str) -> Verified {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verified {
                ok: false,
                needs_rehash: false,
            };
        };
        if password.len() > PASSWORD_MAX_BYTES {
            return Verified {
                ok: false,
                needs_rehash: false,
            };
        }
        let ok = self
            .argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        // Rehash only to upgrade: a hash at least as costly as ours (memory
        // and iterations) stays, so an older deployment with weaker
        // settings never downgrades what a newer one stored.
        let current = parsed.algorithm.as_str() == "argon2id"
            && Params::try_from(&parsed).is_ok_and(|p| {
                p.m_cost() >= self.params.m_cost() && p.t_cost() >= self.params.t_cost()
            });
        Verified {
            ok,
            needs_rehash: ok && !current,
        }
    }

    /// Spends the same work as a real verification, for a user that has no
    /// password (or does not exist), so response time does not reveal which
    /// accounts exist. The hash it checks against is made up on the spot
    /// with this hasher's parameters: no hash is computed for it (a lazily
    /// computed dummy made the first such sign-in pay twice), and a hasher
    /// with other parameters gets a dummy as costly as its real hashes.
    pub(crate) fn verify_nothing(&self, password: &str) {
        let _ = self.verify(&self.dummy_hash(), password);
    }

    /// A well-formed PHC string with this hasher's parameters, a fixed salt
    /// and a 32-byte output no password produces in practice: verifying
    /// against it costs exactly one Argon2 run with these parameters.
    pub(crate) fn dummy_hash(&self) -> String {
        // 16 bytes of salt and 32 of output, base64 without padding.
        const SALT: &str = "c2Fhcy1kYi1kdW1teS1zYQ";
        const OUTPUT: &str = "ZHVtbXktb3V0cHV0LW5ldmVyLXByb2R1Y2VkLWJ5LWE";
        format!(
            "$argon2id$v=19$m={},t={},p={}${SALT}${OUTPUT}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dummy used to be hashed once, lazily, with whichever hasher came
    /// first; now each hasher's dummy carries its own parameters and parses.
    #[test]
    fn dummy_hash_carries_the_hashers_parameters() {
        for hasher in [
            PasswordHasher::default(),
            PasswordHasher::new(2 * 19 * 1024, 3, 2).unwrap(),
        ] {
            let dummy = hasher.dummy_hash();
            let parsed = PasswordHash::new(&dummy).expect("a valid PHC string");
            let params = Params::try_from(&parsed).unwrap();
            assert_eq!(
                (params.m_cost(), params.t_cost(), params.p_cost()),
                (
                    hasher.params.m_cost(),
                    hasher.params.t_cost(),
                    hasher.params.p_cost()
                )
            );
            assert_eq!(parsed.hash.map(|h| h.len()), Some(32));
            assert!(!hasher.verify(&dummy, "not a real password").ok);
        }
    }
}
