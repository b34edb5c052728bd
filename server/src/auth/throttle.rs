//! Slows password guessing without locking the owner out. Failed logins are counted per
//! client address, per (address, email) and per email; each count allows a few free
//! failures and then makes the next attempt wait, doubling up to a cap. The checks run
//! before argon2, so a throttled attempt costs nothing, and they are keyed by the email as
//! typed, so an unknown email is answered exactly like a known one.
//!
//! The owner is not locked out by someone else's guesses: the per-address counts only
//! slow the guessing address, and the per-email count (which any address feeds) does not
//! apply to an address that signed in to that account before. Counts live in memory, per
//! replica, and are forgotten after a quiet [`FORGET_AFTER`].

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use super::AuthError;
use crate::clock::now_ms;

/// A count with no new failure for this long starts again from zero.
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// How long an address stays trusted for an account after signing in to it.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Entries kept per table; the oldest go first, so memory stays bounded under a flood.
const CAPACITY: u64 = 100_000;
const MAX_WAIT_MS: i64 = 5 * 60_000;

/// Free failures and the first wait (ms) for one kind of count.
#[derive(Clone, Copy)]
struct Rule {
    free: u32,
    base_wait_ms: i64,
}

/// An address guessing at many accounts.
const PER_ADDRESS: Rule = Rule {
    free: 30,
    base_wait_ms: 2_000,
};
/// An address guessing at one account.
const PER_PAIR: Rule = Rule {
    free: 5,
    base_wait_ms: 1_000,
};
/// Many addresses guessing at one account.
const PER_EMAIL: Rule = Rule {
    free: 20,
    base_wait_ms: 1_000,
};

#[derive(Default)]
struct Failures {
    count: u32,
    last_ms: i64,
}

impl Failures {
    /// Milliseconds before the next attempt may be checked, under `rule`.
    fn wait_ms(&self, rule: Rule, now: i64) -> i64 {
        let Some(over) = self.count.checked_sub(rule.free) else {
            return 0;
        };
        let wait = (rule.base_wait_ms << over.min(16)).min(MAX_WAIT_MS);
        (self.last_ms + wait - now).max(0)
    }
}

type Counts<K> = Cache<K, Arc<Mutex<Failures>>>;

fn counts<K: std::hash::Hash + Eq + Send + Sync + 'static>() -> Counts<K> {
    Cache::builder()
        .max_capacity(CAPACITY)
        .time_to_idle(FORGET_AFTER)
        .build()
}

#[derive(Clone)]
pub struct LoginThrottle {
    by_address: Counts<IpAddr>,
    by_pair: Counts<(IpAddr, String)>,
    by_email: Counts<String>,
    known: Cache<(IpAddr, String), ()>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            by_address: counts(),
            by_pair: counts(),
            by_email: counts(),
            known: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(KNOWN_FOR)
                .build(),
        }
    }
}

fn wait_of<K: std::hash::Hash + Eq + Send + Sync + 'static>(
    counts: &Counts<K>,
    key: &K,
    rule: Rule,
    now: i64,
) -> i64 {
    counts
        .get(key)
        .and_then(|f| f.lock().ok().map(|f| f.wait_ms(rule, now)))
        .unwrap_or(0)
}

fn bump<K: std::hash::Hash + Eq + Clone + Send + Sync + 'static>(
    counts: &Counts<K>,
    key: K,
    now: i64,
) {
    let entry = counts.get_with(key, Default::default);
    if let Ok(mut f) = entry.lock() {
        f.count = f.count.saturating_add(1);
        f.last_ms = now;
    };
}

impl LoginThrottle {
    /// Refuses the attempt (before any password is checked) while one of its counts says
    /// wait. `client` is `None` when the address is unknown (then only the email counts).
    pub fn check(&self, client: Option<IpAddr>, email: &str) -> Result<(), AuthError> {
        let now = now_ms();
        let email = email.to_owned();
        let mut wait = 0;
        if let Some(ip) = client {
            wait = wait.max(wait_of(&self.by_address, &ip, PER_ADDRESS, now));
            let pair = (ip, email.clone());
            wait = wait.max(wait_of(&self.by_pair, &pair, PER_PAIR, now));
            if self.known.contains_key(&pair) {
                return refuse(wait);
            }
        }
        refuse(wait.max(wait_of(&self.by_email, &email, PER_EMAIL, now)))
    }

    pub fn failed(&self, client: Option<IpAddr>, email: &str) {
        let now = now_ms();
        if let Some(ip) = client {
            bump(&self.by_address, ip, now);
            bump(&self.by_pair, (ip, email.to_owned()), now);
        }
        bump(&self.by_email, email.to_owned(), now);
    }

    /// The address is now trusted for this account, and its count for it starts over.
    pub fn succeeded(&self, client: Option<IpAddr>, email: &str) {
        if let Some(ip) = client {
            let pair = (ip, email.to_owned());
            self.by_pair.invalidate(&pair);
            self.known.insert(pair, ());
        }
    }
}

fn refuse(wait_ms: i64) -> Result<(), AuthError> {
    if wait_ms <= 0 {
        return Ok(());
    }
    Err(AuthError::TooManyAttempts {
        retry_after_secs: u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_a_cap() {
        let f = |count| Failures { count, last_ms: 0 };
        assert_eq!(f(4).wait_ms(PER_PAIR, 0), 0);
        assert_eq!(f(5).wait_ms(PER_PAIR, 0), 1_000);
        assert_eq!(f(6).wait_ms(PER_PAIR, 0), 2_000);
        assert_eq!(f(6).wait_ms(PER_PAIR, 1_500), 500);
        assert_eq!(f(60).wait_ms(PER_PAIR, 0), MAX_WAIT_MS);
    }

    #[test]
    fn a_guessing_address_is_slowed_and_the_owner_elsewhere_is_not() {
        let t = LoginThrottle::default();
        t.succeeded(ip(3), "ada@example.com");
        for _ in 0..PER_PAIR.free {
            t.check(ip(2), "ada@example.com").unwrap();
            t.failed(ip(2), "ada@example.com");
        }
        assert!(matches!(
            t.check(ip(2), "ada@example.com"),
            Err(AuthError::TooManyAttempts { .. })
        ));
        // Many addresses push the per-email count over its limit...
        for last in 10..40 {
            t.failed(ip(last), "ada@example.com");
        }
        assert!(t.check(ip(99), "ada@example.com").is_err());
        // ...but the owner's address signed in before and is not held back.
        t.check(ip(3), "ada@example.com").unwrap();
    }

    #[test]
    fn unknown_and_known_emails_count_alike() {
        let t = LoginThrottle::default();
        for email in ["ada@example.com", "nobody@example.com"] {
            for _ in 0..PER_PAIR.free {
                t.failed(ip(2), email);
            }
            assert!(t.check(ip(2), email).is_err(), "{email}");
        }
    }
}
