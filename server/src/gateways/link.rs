//! The server's end of an agent's WebSocket: the token is checked before the upgrade (a
//! wrong one is a 401, nothing read), the first message must be a valid hello within a
//! few seconds, and from then on every message is size-bounded (`MAX_AGENT_MESSAGE`) and
//! parsed strictly; a link that breaks the protocol, or stays silent for three heartbeats,
//! is closed and its requests in flight fail (so they can fall back).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
        ConnectInfo, State,
    },
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::hub::{AgentLink, Head, Outgoing};
use super::protocol::{self, AgentMessage, Frame, ServerMessage};
use crate::auth::AuthError;
use crate::clock::now_ms;
use crate::db::gateways::SqlGateway;
use crate::error::{ApiError, RequestError};
use crate::ids::new_id;
use crate::state::AppState;

/// How long an agent has to say hello after the upgrade.
const HELLO_WAIT: Duration = Duration::from_secs(10);
/// WebSocket close codes (RFC 6455).
const POLICY_VIOLATION: u16 = 1008;
const GOING_AWAY: u16 = 1001;
const INTERNAL: u16 = 1011;

/// `GET /api/gateways/connect`: an agent dials in with `Authorization: Bearer <token>`.
pub async fn connect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let gateway = match state.gateways.authenticate(token).await {
        Ok(Some(gateway)) => gateway,
        Ok(None) => {
            tracing::warn!(%peer, "a gateway agent was refused: unknown or revoked token");
            return ApiError::from(AuthError::InvalidGatewayToken).into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Ok(upgrade) = upgrade else {
        return ApiError::from(RequestError::InvalidBody(
            "expected a WebSocket upgrade (the agent's link)".into(),
        ))
        .into_response();
    };
    let address = peer.to_string();
    upgrade
        .max_message_size(protocol::MAX_AGENT_MESSAGE)
        .max_frame_size(protocol::MAX_AGENT_MESSAGE)
        .on_upgrade(move |socket| session(state, gateway, address, socket))
}

fn close(code: u16, reason: &str) -> Message {
    // A close frame's reason is at most 123 bytes.
    let mut reason = reason.to_owned();
    while reason.len() > 120 {
        reason.pop();
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Waits for a valid hello; the reason for refusing the link otherwise.
async fn hello(socket: &mut WebSocket) -> Result<(String, Vec<protocol::Announced>), String> {
    let first = tokio::time::timeout(HELLO_WAIT, socket.next())
        .await
        .map_err(|_| "no hello within 10 s".to_owned())?;
    let Some(Ok(Message::Text(text))) = first else {
        return Err("the first message must be a hello".into());
    };
    match serde_json::from_str::<AgentMessage>(text.as_str()) {
        Ok(AgentMessage::Hello {
            protocol: version,
            version: agent_version,
            upstreams,
        }) => {
            if version != protocol::PROTOCOL {
                return Err(format!(
                    "protocol {version} is not spoken here (this server speaks {}); update the agent",
                    protocol::PROTOCOL
                ));
            }
            if agent_version.is_empty()
                || agent_version.len() > 64
                || agent_version.chars().any(char::is_control)
            {
                return Err("the agent's version is not a short printable string".into());
            }
            Ok((agent_version, upstreams))
        }
        Ok(_) => Err("the first message must be a hello".into()),
        Err(e) => Err(format!(
            "the hello is not valid: {}",
            crate::error::without_values(&e.to_string())
        )),
    }
}

async fn session(state: AppState, gateway: SqlGateway, address: String, mut socket: WebSocket) {
    let (version, upstreams) = match hello(&mut socket).await {
        Ok(hello) => hello,
        Err(reason) => {
            tracing::warn!(gateway_id = %gateway.id, %address, %reason, "a gateway agent was refused");
            let _ = socket.send(close(POLICY_VIOLATION, &reason)).await;
            return;
        }
    };
    let (out, mut outgoing) = mpsc::unbounded_channel();
    let link = Arc::new(AgentLink::new(
        new_id("agt"),
        version,
        address,
        now_ms(),
        upstreams,
        out,
    ));
    if let Err(e) = state.gateways.joined(&gateway, link.clone()).await {
        let (code, reason) = if e.status().is_client_error() {
            (POLICY_VIOLATION, e.public_message())
        } else {
            tracing::error!(error = ?e, "could not register a gateway agent");
            (
                INTERNAL,
                "the server could not register the agent".to_owned(),
            )
        };
        state.gateways.refused(&gateway.id, &link, &reason).await;
        let _ = socket.send(close(code, &reason)).await;
        return;
    }
    let heartbeat = state.gateways.heartbeat;
    let welcome = ServerMessage::Welcome {
        agent_id: link.agent_id.clone(),
        gateway: gateway.name.clone(),
        heartbeat_secs: heartbeat.as_secs().max(1),
    };
    let (mut sink, mut stream) = socket.split();
    let welcomed = match serde_json::to_string(&welcome) {
        Ok(text) => sink.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    };
    let closing = link.closing();
    let writer_link = link.clone();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                next = outgoing.recv() => {
                    let message = match next {
                        Some(Outgoing::Text(text)) => Message::Text(text.into()),
                        Some(Outgoing::Binary(bytes)) => Message::Binary(bytes),
                        None => break,
                    };
                    // Written without a flush while more are queued: a burst of frames goes
                    // out in few writes, the last one flushed.
                    let sent = if outgoing.is_empty() {
                        sink.send(message).await
                    } else {
                        sink.feed(message).await
                    };
                    if sent.is_err() {
                        break;
                    }
                }
                () = closing.cancelled() => {
                    let reason = writer_link.close_reason().unwrap_or_default();
                    let _ = sink.send(close(GOING_AWAY, &reason)).await;
                    break;
                }
            }
        }
        writer_link.close("the link's writer stopped");
    });
    let silence = heartbeat * 3;
    let ending = state.ending.fired();
    tokio::pin!(ending);
    let closing = link.closing();
    let why = if !welcomed {
        "the welcome could not be sent".to_owned()
    } else {
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(silence, stream.next()) => next,
                () = closing.cancelled() => break link.close_reason().unwrap_or_else(|| "closed".into()),
                () = &mut ending => break "the server is shutting down".into(),
            };
            let message = match next {
                Err(_) => break format!("no heartbeat for {} s", silence.as_secs()),
                Ok(None) => break "the agent closed the link".into(),
                Ok(Some(Err(e))) => break format!("the link broke: {e}"),
                Ok(Some(Ok(message))) => message,
            };
            link.heard_from(now_ms());
            if let Err(problem) = on_message(&link, message) {
                tracing::warn!(gateway_id = %gateway.id, agent_id = %link.agent_id, %problem, "gateway agent broke the protocol");
                break problem;
            }
        }
    };
    link.close(&why);
    let _ = writer.await;
    state.gateways.left(&gateway.id, &link, &why).await;
}

/// Acts on one message from the agent; an error ends the link.
fn on_message(link: &AgentLink, message: Message) -> Result<(), String> {
    match message {
        Message::Text(text) => match serde_json::from_str::<AgentMessage>(text.as_str()) {
            Ok(AgentMessage::Heartbeat { .. }) => Ok(()),
            Ok(AgentMessage::Head {
                id,
                status,
                headers,
            }) => {
                if headers.len() > protocol::MAX_HEADERS {
                    link.on_failed(id, "the gateway agent sent too many headers");
                    return Ok(());
                }
                if !(100..=999).contains(&status) {
                    link.on_failed(id, "the gateway agent sent an invalid status");
                    return Ok(());
                }
                link.on_head(id, Head { status, headers });
                Ok(())
            }
            Ok(AgentMessage::End { id }) => {
                link.on_end(id);
                Ok(())
            }
            Ok(AgentMessage::Failed { id, message }) => {
                let message: String = message.chars().take(500).collect();
                link.on_failed(id, &message);
                Ok(())
            }
            Ok(AgentMessage::Hello { .. }) => Err("a second hello".into()),
            Err(e) => Err(format!(
                "a message that is not valid: {}",
                crate::error::without_values(&e.to_string())
            )),
        },
        Message::Binary(bytes) => match protocol::decode(bytes) {
            Ok(Frame::Chunk { id, data }) => {
                // A broken window fails only that request.
                if let Err(problem) = link.on_chunk(id, data) {
                    tracing::warn!(agent_id = %link.agent_id, id, %problem, "gateway agent overran a request");
                }
                Ok(())
            }
            Ok(Frame::Request { .. }) => Err("an agent does not send requests".into()),
            Err(e) => Err(e.to_string()),
        },
        Message::Ping(_) | Message::Pong(_) => Ok(()),
        Message::Close(_) => Err("the agent closed the link".into()),
    }
}
