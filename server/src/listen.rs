//! The HTTP/1.1 server loop: accepts connections up to a cap, reads each request under
//! header and body timeouts, and on shutdown stops accepting, lets in-flight requests
//! finish within a grace period, then ends open streams with a final error event.
//!
//! `axum::serve` has none of these knobs: a peer that sends half its headers (or nothing)
//! holds its socket and task for ever, and shutdown waits for it. hyper's own header read
//! timer needs a timer installed on each connection, which this loop does.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    Router,
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::config::ServerLimits;

/// After the grace period, how long streams get to send their final error event and
/// connections to close before the process goes on without them.
const FINAL_WORDS: Duration = Duration::from_secs(2);

/// Fires when the shutdown grace period is over: every stream still open ends with its
/// dialect's error event (code `SHUTTING_DOWN`) instead of being cut mid-event.
#[derive(Clone, Default)]
pub struct Ending(CancellationToken);

impl Ending {
    /// Resolves when open streams must end.
    pub fn fired(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.0.clone().cancelled_owned()
    }

    fn fire(&self) {
        self.0.cancel();
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see the module
/// doc). Returns when every connection has closed or been given up.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    limits: &ServerLimits,
    ending: Ending,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Every connection's task, and the signal that asks them to finish their current
    // request and close. (hyper-util's `GracefulShutdown` cannot watch a connection that
    // may be upgraded, and a gateway agent's link is an upgrade.)
    let connections = TaskTracker::new();
    let stopping = CancellationToken::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let body_timeout = limits.body_read_timeout;
    // Ends the connections still open when the drain is over (one that never finished
    // its headers is not "in flight", so graceful shutdown alone would wait for it).
    let kill = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new peers wait in the kernel's queue, and the ones
        // already connected (and `/health` on them) keep being served.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small writes (stream chunks, headers then body) must not wait for Nagle.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service =
            TowerToHyperService::new(router.clone().map_request(move |req: Request<Incoming>| {
                let mut req = req.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
                // The peer address, for log-in throttling (see `web::client_address`).
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            }));
        // With upgrades: a gateway agent's link is a WebSocket on the same listener.
        let connection = http
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let killed = kill.clone().cancelled_owned();
        let stopping = stopping.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let mut killed = std::pin::pin!(killed);
            let ended = tokio::select! {
                ended = connection.as_mut() => Some(ended),
                () = stopping.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        ended = connection.as_mut() => Some(ended),
                        () = killed.as_mut() => None,
                    }
                }
                () = killed.as_mut() => None,
            };
            if let Some(Err(e)) = ended {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    drain(&connections, &stopping, limits.shutdown_grace, &ending).await;
    kill.cancel();
}

/// Asks every connection to close after its current request and waits `grace` for that;
/// then fires `ending` and waits a little more for streams to say their last word.
async fn drain(
    connections: &TaskTracker,
    stopping: &CancellationToken,
    grace: Duration,
    ending: &Ending,
) {
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            connections = open,
            grace_secs = grace.as_secs(),
            "waiting for in-flight requests"
        );
    }
    stopping.cancel();
    connections.close();
    let closed = connections.wait();
    tokio::pin!(closed);
    if tokio::time::timeout(grace, &mut closed).await.is_ok() {
        return;
    }
    tracing::warn!(
        grace_secs = grace.as_secs(),
        "shutdown grace period over; ending the requests still open"
    );
    ending.fire();
    if tokio::time::timeout(FINAL_WORDS, &mut closed)
        .await
        .is_err()
    {
        tracing::warn!("closing the connections that are still open");
    }
}

/// Out of descriptors (or a similar resource): wait a moment instead of spinning, as
/// hyper's and axum's own loops do.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
