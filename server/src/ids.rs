//! Identifiers and random tokens.

use rand::{distributions::Alphanumeric, Rng};

/// A random base62 string of `len` characters. `thread_rng` is a CSPRNG seeded from the
/// operating system, so it serves API keys too, without a system call per character
/// (ids are drawn on every logged request).
pub fn random_base62(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A prefixed id such as `user-3fZk…`, readable in logs and URLs.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", random_base62(20))
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Like [`new_id`], but the first nine characters are the time in milliseconds, so ids
/// sort by creation: rows keyed by them (the request log) are appended at the end of the
/// primary-key index instead of landing on a random page of it.
pub fn new_ordered_id(prefix: &str, now_ms: i64) -> String {
    format!("{}{}", ordered_id_floor(prefix, now_ms), random_base62(11))
}

/// A string that sorts before every [`new_ordered_id`] made at `now_ms` or later and after
/// every one made earlier: `id < floor` selects the rows older than `now_ms`.
pub fn ordered_id_floor(prefix: &str, now_ms: i64) -> String {
    let mut time = [b'0'; 9];
    let mut n = u64::try_from(now_ms).unwrap_or(0);
    for slot in time.iter_mut().rev() {
        *slot = BASE62[usize::try_from(n % 62).unwrap_or(0)];
        n /= 62;
    }
    let time = std::str::from_utf8(&time).unwrap_or("000000000");
    format!("{prefix}-{time}")
}

/// A random (version 4) UUID for `x-request-id`, drawn from `thread_rng`: tower-http's
/// own generator asks the operating system for every one (a `getrandom` call per request).
pub fn new_request_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_ids_sort_by_time() {
        let a = new_ordered_id("req", 1_700_000_000_000);
        let b = new_ordered_id("req", 1_700_000_000_001);
        let c = new_ordered_id("req", 1_800_000_000_000);
        assert_eq!(a.len(), 24);
        assert!(a < b && b < c, "{a} {b} {c}");
        let floor = ordered_id_floor("req", 1_700_000_000_001);
        assert!(a < floor && floor <= b, "{a} {floor} {b}");
    }

    #[test]
    fn request_ids_are_version_4_uuids() {
        let id = uuid::Uuid::parse_str(&new_request_uuid()).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_ne!(new_request_uuid(), new_request_uuid());
    }

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id("org");
        let b = new_id("org");
        assert!(a.starts_with("org-"));
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }
}
