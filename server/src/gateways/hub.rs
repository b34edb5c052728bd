//! The agents connected to this process, by gateway: each gateway's [`Pool`] of links,
//! and each link's requests in flight. Routing holds a gateway's pool in its snapshot and
//! asks it whether an agent is connected without a lock (an atomic count); a request takes
//! the next connected agent that announced its upstream.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex, RwLock,
    },
};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::protocol::{self, Announced, ServerMessage};

/// Every gateway's pool of connected agents, in this process.
#[derive(Default)]
pub struct Hub {
    pools: RwLock<HashMap<String, Arc<Pool>>>,
}

impl Hub {
    /// The pool of `gateway_id`, made empty on first use.
    pub fn pool(&self, gateway_id: &str) -> Arc<Pool> {
        if let Some(pool) = self.existing(gateway_id) {
            return pool;
        }
        let mut pools = self.pools.write().unwrap_or_else(|e| e.into_inner());
        pools
            .entry(gateway_id.to_owned())
            .or_insert_with(|| Arc::new(Pool::new(gateway_id)))
            .clone()
    }

    pub fn existing(&self, gateway_id: &str) -> Option<Arc<Pool>> {
        self.pools
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(gateway_id)
            .cloned()
    }

    /// The way out of a type-3 connection (its gateway and upstream), if it is one.
    pub fn relay(
        &self,
        gateway_id: Option<&str>,
        upstream: Option<&str>,
    ) -> Option<super::relay::Relay> {
        let (gateway_id, upstream) = gateway_id.zip(upstream)?;
        Some(super::relay::Relay {
            pool: self.pool(gateway_id),
            upstream: upstream.to_owned(),
        })
    }

    /// Closes every link (the server is stopping).
    pub fn close_all(&self, reason: &str) {
        let pools: Vec<Arc<Pool>> = self
            .pools
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for pool in pools {
            for agent in pool.agents() {
                agent.close(reason);
            }
        }
    }

    /// Closes every link of the gateway (its token was revoked or rotated).
    pub fn disconnect(&self, gateway_id: &str, reason: &str) {
        if let Some(pool) = self.existing(gateway_id) {
            for agent in pool.agents() {
                agent.close(reason);
            }
        }
    }
}

/// A gateway's connected agents.
pub struct Pool {
    pub gateway_id: String,
    agents: RwLock<Vec<Arc<AgentLink>>>,
    connected: AtomicUsize,
    next: AtomicUsize,
    /// Bumped whenever an agent joins or leaves: a grace timer started at one count
    /// knows whether anything happened since.
    epoch: AtomicU64,
}

impl Pool {
    fn new(gateway_id: &str) -> Self {
        Pool {
            gateway_id: gateway_id.to_owned(),
            agents: RwLock::default(),
            connected: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            epoch: AtomicU64::new(0),
        }
    }

    /// Whether any agent of the gateway is connected to this process.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire) > 0
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn agents(&self) -> Vec<Arc<AgentLink>> {
        self.agents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn add(&self, link: Arc<AgentLink>) {
        let mut agents = self.agents.write().unwrap_or_else(|e| e.into_inner());
        agents.push(link);
        self.connected.store(agents.len(), Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Removes the agent; returns how many are left.
    pub(super) fn remove(&self, agent_id: &str) -> usize {
        let mut agents = self.agents.write().unwrap_or_else(|e| e.into_inner());
        agents.retain(|a| a.agent_id != agent_id);
        self.connected.store(agents.len(), Ordering::Release);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        agents.len()
    }

    /// The next connected agent (round robin) that announced `upstream`.
    pub fn pick(&self, upstream: &str) -> Option<Arc<AgentLink>> {
        let agents = self.agents.read().unwrap_or_else(|e| e.into_inner());
        let serving: Vec<&Arc<AgentLink>> = agents
            .iter()
            .filter(|a| !a.is_closed() && a.upstreams.iter().any(|u| u.name == upstream))
            .collect();
        if serving.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        Some(serving[turn % serving.len()].clone())
    }
}

/// What the link's writer sends to the agent.
pub(super) enum Outgoing {
    Text(String),
    Binary(Bytes),
}

/// A response on its way from the agent: its head first, then its body.
struct Pending {
    head: Option<oneshot::Sender<Result<Head, String>>>,
    body: mpsc::Sender<Result<Bytes, std::io::Error>>,
    /// Chunks received and not yet granted back (see [`protocol::WINDOW`]).
    outstanding: Arc<AtomicU32>,
}

pub(super) struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

/// One connected agent: its announcement, its writer and its requests in flight.
pub struct AgentLink {
    pub agent_id: String,
    pub version: String,
    pub address: String,
    pub connected_at: i64,
    pub upstreams: Vec<Announced>,
    last_heartbeat: AtomicI64,
    out: mpsc::UnboundedSender<Outgoing>,
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
    /// Requests sent to the agent since it connected.
    served: AtomicU64,
    /// Cancelled to close the link from this side (revocation, shutdown).
    closing: CancellationToken,
    close_reason: Mutex<Option<String>>,
}

/// A response's body as the relay reads it: chunks in order, an error if it broke off.
pub(super) struct Opened {
    pub id: u64,
    pub head: oneshot::Receiver<Result<Head, String>>,
    pub body: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    pub outstanding: Arc<AtomicU32>,
}

impl AgentLink {
    pub(super) fn new(
        agent_id: String,
        version: String,
        address: String,
        connected_at: i64,
        upstreams: Vec<Announced>,
        out: mpsc::UnboundedSender<Outgoing>,
    ) -> Self {
        AgentLink {
            agent_id,
            version,
            address,
            connected_at,
            upstreams,
            last_heartbeat: AtomicI64::new(connected_at),
            out,
            pending: Mutex::default(),
            next_id: AtomicU64::new(1),
            served: AtomicU64::new(0),
            closing: CancellationToken::new(),
            close_reason: Mutex::default(),
        }
    }

    pub fn last_heartbeat(&self) -> i64 {
        self.last_heartbeat.load(Ordering::Relaxed)
    }

    pub(super) fn heard_from(&self, now_ms: i64) {
        self.last_heartbeat.store(now_ms, Ordering::Relaxed);
    }

    /// Requests sent to the agent since it connected.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Requests this server has in flight on the link.
    pub fn in_flight(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_closed(&self) -> bool {
        self.closing.is_cancelled()
    }

    pub(super) fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    pub(super) fn close_reason(&self) -> Option<String> {
        self.close_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Asks the link to close with `reason` (told to the agent in the close frame).
    pub fn close(&self, reason: &str) {
        *self.close_reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_owned());
        self.closing.cancel();
    }

    /// Sends a request to the agent and registers its response.
    pub(super) fn open(&self, head: &protocol::RequestHead, body: &[u8]) -> Result<Opened, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.served.fetch_add(1, Ordering::Relaxed);
        let frame = protocol::encode_request(id, head, body).map_err(|e| e.to_string())?;
        let (head_tx, head_rx) = oneshot::channel();
        // One slot more than the window: room for the error that ends a broken body.
        let window = usize::try_from(protocol::WINDOW).unwrap_or(32);
        let (body_tx, body_rx) = mpsc::channel(window + 1);
        let outstanding = Arc::new(AtomicU32::new(0));
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id,
                Pending {
                    head: Some(head_tx),
                    body: body_tx,
                    outstanding: outstanding.clone(),
                },
            );
        if self.out.send(Outgoing::Binary(frame)).is_err() || self.is_closed() {
            self.forget(id);
            return Err("the gateway agent disconnected".into());
        }
        Ok(Opened {
            id,
            head: head_rx,
            body: body_rx,
            outstanding,
        })
    }

    /// The client is gone before the body ended: stop the agent's upstream call.
    pub(super) fn cancel(&self, id: u64) {
        if self.forget(id) {
            self.send(&ServerMessage::Cancel { id });
        }
    }

    /// The relay read `chunks` more chunks of request `id`.
    pub(super) fn credit(&self, id: u64, chunks: u32) {
        self.send(&ServerMessage::Credit { id, chunks });
    }

    fn send(&self, message: &ServerMessage) {
        if let Ok(text) = serde_json::to_string(message) {
            let _ = self.out.send(Outgoing::Text(text));
        }
    }

    fn forget(&self, id: u64) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
            .is_some()
    }

    /// The agent's head for request `id`. A head for a request not in flight (cancelled
    /// meanwhile) is ignored.
    pub(super) fn on_head(&self, id: u64, head: Head) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = pending.get_mut(&id).and_then(|p| p.head.take()) {
            let _ = tx.send(Ok(head));
        }
    }

    /// A chunk of request `id`'s body. Returns an error when the agent broke the protocol
    /// (a chunk before the head, or beyond its window); the request then fails.
    pub(super) fn on_chunk(&self, id: u64, data: Bytes) -> Result<(), String> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = pending.get_mut(&id) else {
            return Ok(());
        };
        let outstanding = p.outstanding.fetch_add(1, Ordering::AcqRel) + 1;
        let problem = if p.head.is_some() {
            Some("the gateway agent sent a body before its head")
        } else if outstanding > protocol::WINDOW {
            Some("the gateway agent sent more than its flow-control window")
        } else {
            None
        };
        if let Some(problem) = problem {
            if let Some(p) = pending.remove(&id) {
                fail(p, problem);
            }
            return Err(problem.to_owned());
        }
        // Within the window, so there is room: a full channel here is a bug, not load.
        if p.body.try_send(Ok(data)).is_err() {
            pending.remove(&id);
        }
        Ok(())
    }

    pub(super) fn on_end(&self, id: u64) {
        self.forget(id);
    }

    pub(super) fn on_failed(&self, id: u64, message: &str) {
        let removed = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        if let Some(p) = removed {
            fail(p, message);
        }
    }

    /// The link is gone: every request in flight on it fails.
    pub(super) fn fail_all(&self, message: &str) {
        let all: Vec<Pending> = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, p)| p)
            .collect();
        for p in all {
            fail(p, message);
        }
    }
}

fn fail(mut p: Pending, message: &str) {
    match p.head.take() {
        Some(head) => {
            let _ = head.send(Err(message.to_owned()));
        }
        None => {
            let _ = p.body.try_send(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                message.to_owned(),
            )));
        }
    }
}
