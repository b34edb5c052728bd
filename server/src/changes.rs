//! A counter bumped by every write the routing catalogue copies (connections, models,
//! handles, memberships), so the in-memory snapshot knows when to rebuild. With several
//! replicas on one PostgreSQL, each bump (and each change to API keys) is also told to the
//! others (`cluster::bus`), which bump their own counters and drop their cached keys.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, OnceLock,
};

use tokio::sync::mpsc::UnboundedSender;

/// What changed, as told to the other replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Anything the routing snapshot copies.
    Catalog,
    /// API keys (revoked, their policies changed): cached owners must be read again.
    Keys,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Catalog => "catalog",
            Topic::Keys => "keys",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "catalog" => Some(Topic::Catalog),
            "keys" => Some(Topic::Keys),
            _ => None,
        }
    }
}

#[derive(Clone, Default, Debug)]
pub struct Changes {
    counter: Arc<AtomicU64>,
    /// The bus that tells other replicas, once started (PostgreSQL only).
    others: Arc<OnceLock<UnboundedSender<Topic>>>,
}

impl Changes {
    /// A change made here: rebuild the snapshot here, and tell the other replicas.
    pub fn bump(&self) {
        self.bump_here();
        self.tell(Topic::Catalog);
    }

    /// A change another replica made: rebuild the snapshot here only.
    pub fn bump_here(&self) {
        self.counter.fetch_add(1, Ordering::Release);
    }

    /// API keys changed here: the other replicas drop their cached owners.
    pub fn keys_changed(&self) {
        self.tell(Topic::Keys);
    }

    fn tell(&self, topic: Topic) {
        if let Some(tx) = self.others.get() {
            let _ = tx.send(topic);
        }
    }

    /// From now on, changes are also sent to `tx` (the bus's publisher).
    pub fn tell_others_through(&self, tx: UnboundedSender<Topic>) {
        let _ = self.others.set(tx);
    }

    pub fn current(&self) -> u64 {
        self.counter.load(Ordering::Acquire)
    }
}
