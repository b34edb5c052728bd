//! Sending a provider request through a gateway agent instead of the network. The
//! adapters build their requests as for any connection, against [`RELAY_BASE`]; the
//! relay hands the built request to a connected agent of the gateway and returns the
//! agent's answer as a `reqwest::Response` whose body arrives chunk by chunk, so every
//! decoder, timeout and size cap of `providers` applies unchanged. Dropping the body
//! before its end cancels the call on the agent (and so the agent's upstream call).

use std::sync::{atomic::Ordering, Arc};

use bytes::Bytes;
use futures_util::StreamExt;

use super::hub::{AgentLink, Opened, Pool};
use super::protocol::{self, RequestHead};
use crate::providers::ProviderError;

/// The base URL adapters build a relayed connection's requests on; the agent puts its
/// upstream's URL in its place.
pub const RELAY_BASE: &str = "http://relay.langmart.invalid";

/// A type-3 connection's way out: its gateway's pool and its upstream's name.
#[derive(Clone)]
pub struct Relay {
    pub pool: Arc<Pool>,
    pub upstream: String,
}

impl Relay {
    /// Whether an agent that can serve this upstream is connected.
    pub fn available(&self) -> bool {
        self.pool.connected()
    }

    /// Sends `request` through an agent; the answer's head when it comes.
    pub async fn execute(
        &self,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, ProviderError> {
        let Some(agent) = self.pool.pick(&self.upstream) else {
            return Err(ProviderError::GatewayDown(format!(
                "no agent of its gateway that serves upstream \"{}\" is connected",
                self.upstream
            )));
        };
        let url = request.url();
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let headers = request
            .headers()
            .iter()
            .filter(|(name, _)| !protocol::is_hop_header(name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let timeout = request.timeout().copied();
        let head = RequestHead {
            upstream: self.upstream.clone(),
            method: request.method().as_str().to_owned(),
            path,
            headers,
            timeout_ms: timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        };
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .unwrap_or_default();
        let opened = agent
            .open(&head, body)
            .map_err(ProviderError::Unreachable)?;
        let id = opened.id;
        let guard = Cancel {
            agent: agent.clone(),
            id,
            done: false,
        };
        let Opened {
            head,
            body,
            outstanding,
            ..
        } = opened;
        let head = match head.await {
            Ok(Ok(head)) => head,
            Ok(Err(message)) => {
                return Err(ProviderError::Unreachable(format!(
                    "gateway agent: {message}"
                )))
            }
            Err(_) => {
                return Err(ProviderError::Unreachable(
                    "the gateway agent disconnected".into(),
                ))
            }
        };
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let stream = futures_util::stream::unfold(
            (body, guard, outstanding, 0u32),
            move |(mut body, mut guard, outstanding, mut read)| async move {
                let next = match deadline {
                    Some(d) => match tokio::time::timeout_at(d, body.recv()).await {
                        Ok(next) => next,
                        Err(_) => Some(Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the gateway agent's answer took longer than the connection's timeout",
                        ))),
                    },
                    None => body.recv().await,
                };
                match next {
                    Some(Ok(chunk)) => {
                        read += 1;
                        if read >= protocol::WINDOW / 2 {
                            outstanding.fetch_sub(read, Ordering::AcqRel);
                            guard.agent.credit(guard.id, read);
                            read = 0;
                        }
                        Some((
                            Ok::<Bytes, std::io::Error>(chunk),
                            (body, guard, outstanding, read),
                        ))
                    }
                    Some(Err(e)) => {
                        guard.finish();
                        Some((Err(e), (body, guard, outstanding, read)))
                    }
                    None => {
                        guard.finish();
                        None
                    }
                }
            },
        )
        .fuse();
        let mut response = http::Response::builder().status(head.status);
        for (name, value) in &head.headers {
            if !protocol::is_hop_header(name) {
                response = response.header(name.as_str(), value.as_str());
            }
        }
        let response = response
            .body(reqwest::Body::wrap_stream(stream))
            .map_err(|e| ProviderError::Decode(format!("the gateway agent's answer head: {e}")))?;
        Ok(reqwest::Response::from(response))
    }
}

/// Cancels the agent's call when the body is dropped before its end.
struct Cancel {
    agent: Arc<AgentLink>,
    id: u64,
    done: bool,
}

impl Cancel {
    /// The body ended (whole or broken): nothing is left to cancel.
    fn finish(&mut self) {
        self.done = true;
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if !self.done {
            self.agent.cancel(self.id);
        }
    }
}
