//! A counter bumped by every write the routing catalogue copies (connections, models,
//! handles, memberships), so the in-memory snapshot knows when to rebuild.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

#[derive(Clone, Default, Debug)]
pub struct Changes(Arc<AtomicU64>);

impl Changes {
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}
