//! `langmart gateway`: the agent that runs next to private models. It dials the server
//! (WebSocket, `wss://` in production), authenticates with the gateway's token, announces
//! its upstreams (names and providers, never URLs or keys), and then serves the requests
//! the server relays: each one a task that calls the upstream with the key from
//! `gateway.toml` and streams the answer back under the link's flow control. When the link
//! drops it reconnects with jittered exponential backoff.

pub mod config;
pub mod status;

use std::{
    collections::HashMap,
    future::Future,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::{
    self, client::IntoClientRequest, protocol::WebSocketConfig, Message,
};

use super::protocol::{self, AgentMessage, Frame, RequestHead, ServerMessage};
use config::{Config, Upstream, KEY_HEADERS};
use status::Status;

/// The first wait before reconnecting; doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the server has to welcome the agent.
const WELCOME_WAIT: Duration = Duration::from_secs(10);
/// How long the agent waits for an upstream to accept a connection.
const UPSTREAM_CONNECT: Duration = Duration::from_secs(10);

/// What the agent needs to run.
pub struct Options {
    /// The server's base URL (`https://langmart.example`).
    pub server: url::Url,
    pub token: String,
    pub config: Config,
    pub status_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("--server must be an http:// or https:// URL")]
    BadServer,
    #[error("could not start the HTTP client: {0}")]
    Client(String),
}

/// The link's URL: `http` → `ws`, `https` → `wss`, on the connect path.
pub fn link_url(server: &url::Url) -> Result<url::Url, AgentError> {
    let mut url = server.clone();
    let scheme = match server.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return Err(AgentError::BadServer),
    };
    url.set_scheme(scheme).map_err(|()| AgentError::BadServer)?;
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}{}", protocol::CONNECT_PATH));
    url.set_query(None);
    Ok(url)
}

/// The agent's shared state: its upstreams, HTTP client and status.
struct Agent {
    options: Options,
    client: reqwest::Client,
    status: Mutex<Status>,
}

impl Agent {
    fn update(&self, change: impl FnOnce(&mut Status)) {
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut status);
        if let Some(path) = &self.options.status_file {
            status::write(path, &status);
        }
    }

    fn set_state(&self, state: &str) {
        self.update(|s| {
            s.state = state.to_owned();
            s.since = crate::clock::rfc3339(crate::clock::now_ms());
        });
    }

    fn failed(&self, error: &str) {
        self.update(|s| {
            s.last_error = Some(error.to_owned());
            s.last_error_at = Some(crate::clock::rfc3339(crate::clock::now_ms()));
        });
    }
}

/// Runs the agent until `shutdown` resolves: connect, serve, reconnect.
pub async fn run(options: Options, shutdown: impl Future<Output = ()>) -> Result<(), AgentError> {
    let link = link_url(&options.server)?;
    let client = reqwest::Client::builder()
        .connect_timeout(UPSTREAM_CONNECT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("LangMart-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AgentError::Client(e.to_string()))?;
    let agent = Arc::new(Agent {
        status: Mutex::new(Status {
            server: options.server.to_string(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            upstreams: options.config.upstreams.keys().cloned().collect(),
            ..Status::default()
        }),
        options,
        client,
    });
    tokio::pin!(shutdown);
    let mut backoff = FIRST_BACKOFF;
    loop {
        agent.set_state("connecting");
        let ended = tokio::select! {
            ended = session(&agent, &link) => ended,
            () = &mut shutdown => break,
        };
        let wait = match ended {
            // A link that was welcomed starts the backoff over.
            Ok(why) => {
                tracing::warn!(reason = %why, "the link to the server ended; reconnecting");
                agent.failed(&why);
                backoff = FIRST_BACKOFF;
                jitter(backoff)
            }
            Err(why) => {
                tracing::warn!(reason = %why, retry_in_ms = backoff.as_millis() as u64, "could not connect to the server");
                agent.failed(&why);
                let wait = jitter(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
        };
        agent.set_state("disconnected");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => break,
        }
    }
    agent.set_state("stopped");
    Ok(())
}

/// Between half and all of `d`: agents that lost the server together do not return
/// together.
fn jitter(d: Duration) -> Duration {
    use rand::Rng;
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(2);
    Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms))
}

/// One link: `Err` if it never got welcomed, else why it ended.
async fn session(agent: &Arc<Agent>, link: &url::Url) -> Result<String, String> {
    let mut request = link
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad server URL: {e}"))?;
    let bearer = format!("Bearer {}", agent.options.token)
        .parse()
        .map_err(|_| "the token is not a valid header value".to_owned())?;
    request.headers_mut().insert("authorization", bearer);
    let config = WebSocketConfig::default()
        .max_message_size(Some(protocol::MAX_SERVER_MESSAGE))
        .max_frame_size(Some(protocol::MAX_SERVER_MESSAGE));
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .map_err(|e| match e {
            tungstenite::Error::Http(response) if response.status() == 401 => {
                "the server refused the token (unknown, revoked or replaced)".to_owned()
            }
            tungstenite::Error::Http(response) => {
                format!(
                    "the server answered {} instead of a link",
                    response.status()
                )
            }
            other => format!("cannot reach the server: {other}"),
        })?;
    let hello = AgentMessage::Hello {
        protocol: protocol::PROTOCOL,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        upstreams: agent.options.config.announced(),
    };
    let hello = serde_json::to_string(&hello).map_err(|e| e.to_string())?;
    socket
        .send(Message::Text(hello.into()))
        .await
        .map_err(|e| format!("the link broke: {e}"))?;
    let (agent_id, gateway, heartbeat) =
        match tokio::time::timeout(WELCOME_WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str(text.as_str()) {
                Ok(ServerMessage::Welcome {
                    agent_id,
                    gateway,
                    heartbeat_secs,
                }) => (
                    agent_id,
                    gateway,
                    Duration::from_secs(heartbeat_secs.max(1)),
                ),
                _ => return Err("the server did not welcome the agent".into()),
            },
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return Err(format!("the server refused the agent: {}", frame.reason))
            }
            Ok(_) => return Err("the server closed the link before welcoming the agent".into()),
            Err(_) => return Err("the server did not welcome the agent within 10 s".into()),
        };
    tracing::info!(%gateway, %agent_id, "connected to the server");
    agent.update(|s| {
        s.gateway = Some(gateway);
        s.agent_id = Some(agent_id);
        s.connects += 1;
    });
    agent.set_state("connected");
    Ok(serve(agent, socket, heartbeat).await)
}

/// A request being served: its task and the credit the server granted it.
struct InFlight {
    task: tokio::task::AbortHandle,
    credit: Arc<Semaphore>,
}

type InFlightMap = Arc<Mutex<HashMap<u64, InFlight>>>;

/// Serves a welcomed link until it ends; returns why.
async fn serve(
    agent: &Arc<Agent>,
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    heartbeat: Duration,
) -> String {
    let (mut sink, mut stream) = socket.split();
    // Bounded: when the link is slow, request tasks wait here rather than pile up bytes.
    let (out, mut outgoing) = mpsc::channel::<Message>(256);
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            // Flushed only when nothing else is queued: a burst goes out in few writes.
            let sent = if outgoing.is_empty() {
                sink.send(message).await
            } else {
                sink.feed(message).await
            };
            if let Err(e) = sent {
                return format!("the link broke while sending: {e}");
            }
        }
        let _ = sink.close().await;
        "the agent stopped sending".to_owned()
    });
    let in_flight: InFlightMap = Arc::default();
    let beat = {
        let out = out.clone();
        let in_flight = in_flight.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(heartbeat);
            tick.tick().await;
            loop {
                tick.tick().await;
                let count = in_flight.lock().map(|m| m.len()).unwrap_or(0);
                let message = AgentMessage::Heartbeat {
                    in_flight: u32::try_from(count).unwrap_or(u32::MAX),
                };
                let Ok(text) = serde_json::to_string(&message) else {
                    continue;
                };
                if out.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
                // The server answers a ping with a pong even when it has nothing to say, so
                // a link that died without a word (a partition, a dead host) is noticed here.
                if out.send(Message::Ping(Bytes::new())).await.is_err() {
                    break;
                }
            }
        })
    };
    let silence = heartbeat * 3;
    // Whatever ends this link (its end, or the agent being stopped or dropped), its tasks
    // and requests end with it, and so does the socket.
    let _tasks = AbortOnDrop {
        tasks: vec![writer.abort_handle(), beat.abort_handle()],
        in_flight: in_flight.clone(),
    };
    let why = loop {
        let message = match tokio::time::timeout(silence, stream.next()).await {
            Err(_) => break format!("no answer from the server for {} s", silence.as_secs()),
            Ok(None) => break "the server closed the link".to_owned(),
            Ok(Some(Err(e))) => break format!("the link broke: {e}"),
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Binary(bytes) => match protocol::decode(bytes) {
                Ok(Frame::Request { id, head, body }) => {
                    start(agent, &in_flight, &out, id, head, body);
                }
                Ok(Frame::Chunk { .. }) => break "the server sent a response chunk".into(),
                Err(e) => break format!("the server sent a bad frame: {e}"),
            },
            Message::Text(text) => match serde_json::from_str::<ServerMessage>(text.as_str()) {
                Ok(ServerMessage::Cancel { id }) => {
                    let cancelled = in_flight.lock().ok().and_then(|mut m| m.remove(&id));
                    if let Some(request) = cancelled {
                        request.task.abort();
                        tracing::debug!(id, "request cancelled by the server");
                    }
                }
                Ok(ServerMessage::Credit { id, chunks }) => {
                    let credit = in_flight
                        .lock()
                        .ok()
                        .and_then(|m| m.get(&id).map(|r| r.credit.clone()));
                    if let Some(credit) = credit {
                        credit.add_permits(usize::try_from(chunks).unwrap_or(0));
                    }
                }
                Ok(ServerMessage::Welcome { .. }) => {}
                Err(e) => break format!("the server sent a message this agent does not know: {e}"),
            },
            Message::Close(frame) => {
                break frame.map_or_else(
                    || "the server closed the link".to_owned(),
                    |f| format!("the server closed the link: {}", f.reason),
                )
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    };
    why
}

/// Aborts a link's tasks and its requests in flight when dropped.
struct AbortOnDrop {
    tasks: Vec<tokio::task::AbortHandle>,
    in_flight: InFlightMap,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let requests: Vec<InFlight> = self
            .in_flight
            .lock()
            .map(|mut m| m.drain().map(|(_, r)| r).collect())
            .unwrap_or_default();
        for request in requests {
            request.task.abort();
        }
    }
}

/// Starts serving request `id` in its own task.
fn start(
    agent: &Arc<Agent>,
    in_flight: &InFlightMap,
    out: &mpsc::Sender<Message>,
    id: u64,
    head: RequestHead,
    body: Bytes,
) {
    let credit = Arc::new(Semaphore::new(
        usize::try_from(protocol::WINDOW).unwrap_or(32),
    ));
    let task = tokio::spawn({
        let agent = agent.clone();
        let out = out.clone();
        let credit = credit.clone();
        let in_flight = in_flight.clone();
        async move {
            let ended = call(&agent, &out, &credit, id, head, body).await;
            if let Err(message) = ended {
                send_text(&out, &AgentMessage::Failed { id, message }).await;
            }
            if let Ok(mut m) = in_flight.lock() {
                m.remove(&id);
            }
        }
    });
    if let Ok(mut m) = in_flight.lock() {
        m.insert(
            id,
            InFlight {
                task: task.abort_handle(),
                credit,
            },
        );
    }
}

async fn send_text(out: &mpsc::Sender<Message>, message: &AgentMessage) {
    if let Ok(text) = serde_json::to_string(message) {
        let _ = out.send(Message::Text(text.into())).await;
    }
}

/// Calls the upstream and streams its answer back; `Err` is told to the server.
async fn call(
    agent: &Agent,
    out: &mpsc::Sender<Message>,
    credit: &Semaphore,
    id: u64,
    head: RequestHead,
    body: Bytes,
) -> Result<(), String> {
    let Some(upstream) = agent.options.config.upstreams.get(&head.upstream) else {
        return Err(format!(
            "this agent has no upstream \"{}\"",
            head.upstream.chars().take(64).collect::<String>()
        ));
    };
    let response = send(agent, upstream, &head, body).await?;
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| !protocol::is_hop_header(name.as_str()))
        .take(protocol::MAX_HEADERS)
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    send_text(
        out,
        &AgentMessage::Head {
            id,
            status: response.status().as_u16(),
            headers,
        },
    )
    .await;
    let mut body = response.bytes_stream();
    while let Some(next) = body.next().await {
        let bytes =
            next.map_err(|e| format!("the upstream's answer broke off: {}", without_url(&e)))?;
        for piece in bytes.chunks(protocol::MAX_CHUNK) {
            // One permit a chunk: the server grants more as its client reads.
            credit
                .acquire()
                .await
                .map_err(|_| "the request was cancelled".to_owned())?
                .forget();
            out.send(Message::Binary(protocol::encode_chunk(id, piece)))
                .await
                .map_err(|_| "the link closed".to_owned())?;
        }
    }
    send_text(out, &AgentMessage::End { id }).await;
    Ok(())
}

/// The upstream call: the upstream's URL in place of the server's base, its key in place of
/// any the server's request carried, the agent's own timeout.
async fn send(
    agent: &Agent,
    upstream: &Upstream,
    head: &RequestHead,
    body: Bytes,
) -> Result<reqwest::Response, String> {
    if !head.path.starts_with('/') {
        return Err("the request's path must start with '/'".into());
    }
    let method = reqwest::Method::from_bytes(head.method.as_bytes())
        .map_err(|_| "the request's method is not valid".to_owned())?;
    let url = format!("{}{}", upstream.url, head.path);
    let timeout = head
        .timeout_ms
        .map(Duration::from_millis)
        .map_or(upstream.timeout, |t| t.min(upstream.timeout));
    let mut request = agent
        .client
        .request(method, &url)
        .timeout(timeout)
        .body(body);
    for (name, value) in &head.headers {
        let lower = name.to_ascii_lowercase();
        if protocol::is_hop_header(&lower) || KEY_HEADERS.contains(&lower.as_str()) {
            continue;
        }
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some((name, value)) = upstream.key_header() {
        request = request.header(name, value);
    }
    request.send().await.map_err(|e| {
        if e.is_timeout() {
            format!(
                "the upstream \"{}\" did not answer within {} s",
                upstream.name,
                timeout.as_secs()
            )
        } else {
            format!(
                "the upstream \"{}\" is unreachable: {}",
                upstream.name,
                without_url(&e)
            )
        }
    })
}

/// reqwest's message without the URL (it may carry a key in its query).
fn without_url(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    if let Some(url) = e.url() {
        message = message.replace(url.as_str(), "<upstream>");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_url_follows_the_server_scheme() {
        let https = url::Url::parse("https://langmart.example/").unwrap();
        assert_eq!(
            link_url(&https).unwrap().as_str(),
            "wss://langmart.example/api/gateways/connect"
        );
        let http = url::Url::parse("http://127.0.0.1:8080/base?x=1").unwrap();
        assert_eq!(
            link_url(&http).unwrap().as_str(),
            "ws://127.0.0.1:8080/base/api/gateways/connect"
        );
        assert!(link_url(&url::Url::parse("ftp://x").unwrap()).is_err());
    }

    #[test]
    fn backoff_is_jittered_within_bounds() {
        for _ in 0..100 {
            let d = jitter(Duration::from_secs(4));
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4));
        }
    }
}
