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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id("org");
        let b = new_id("org");
        assert!(a.starts_with("org-"));
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
    }
}
