//! What several replicas on one PostgreSQL share: the state counted per request (rate
//! windows, daily quotas, budget reservations, round-robin positions, health-check leases)
//! in Redis (`shared`, `scripts`), and word of every change through PostgreSQL
//! `LISTEN/NOTIFY` (`bus`); latency figures merged every second (`latency`). One process without `--redis-url` keeps all of it in memory,
//! as before.

pub mod bus;
pub mod latency;
mod scripts;
pub mod shared;

pub use shared::{FailurePolicy, LedgerArgs, Shared, Unavailable};
