//! The link between a server and a gateway agent: one WebSocket the agent dials, carrying
//! many requests at once. Control messages are JSON text frames; request and response
//! bodies are binary frames, each `[kind: u8][request id: u64 BE][payload]`, so bodies are
//! never base64-inflated. Streams are flow-controlled per request: the agent sends at most
//! [`WINDOW`] chunks of a response beyond what the server has read, and the server grants
//! more with [`ServerMessage::Credit`] as its client reads — a slow client slows only its
//! own upstream, never the link.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

/// The path the agent dials on the server.
pub const CONNECT_PATH: &str = "/api/gateways/connect";
/// The protocol version this build speaks (announced by the agent, checked by the server).
pub const PROTOCOL: u32 = 1;
/// Response chunks an agent may send beyond what the server has granted.
pub const WINDOW: u32 = 32;
/// The largest response chunk an agent sends (larger reads are split).
pub const MAX_CHUNK: usize = 64 * 1024;
/// The largest message the server accepts from an agent (a chunk, or a head with headers).
pub const MAX_AGENT_MESSAGE: usize = 256 * 1024;
/// The largest message an agent accepts from the server (a request with its body).
pub const MAX_SERVER_MESSAGE: usize = 64 * 1024 * 1024;
/// Upstreams one agent may announce.
pub const MAX_UPSTREAMS: usize = 64;
/// Headers in one request or response head.
pub const MAX_HEADERS: usize = 100;

/// A frame kind byte of a binary frame.
pub const REQUEST: u8 = 1;
pub const CHUNK: u8 = 2;

/// What an agent says, as JSON text frames.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentMessage {
    /// The first message: who is speaking and what it can reach.
    Hello {
        protocol: u32,
        version: String,
        upstreams: Vec<Announced>,
    },
    /// Sent every few seconds; `in_flight` is the requests the agent is serving.
    Heartbeat { in_flight: u32 },
    /// The upstream answered: its status and headers (the body follows as chunks).
    Head {
        id: u64,
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// The body is complete.
    End { id: u64 },
    /// The request failed on the agent's side (upstream unreachable, agent timeout, unknown
    /// upstream); after a head, the body breaks off.
    Failed { id: u64, message: String },
}

/// One upstream in an agent's configuration, as the server sees it: a name and the
/// catalogue provider whose API it speaks. Its URL and credentials stay on the agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Announced {
    pub name: String,
    pub provider: String,
}

/// What the server says, as JSON text frames.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// The hello was accepted.
    Welcome {
        agent_id: String,
        gateway: String,
        /// How often the agent must send a heartbeat.
        heartbeat_secs: u64,
    },
    /// The client went away: stop the request and drop the upstream call.
    Cancel { id: u64 },
    /// The server read `chunks` more chunks of the response.
    Credit { id: u64, chunks: u32 },
}

/// A request's head, inside a [`REQUEST`] frame before its body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RequestHead {
    pub upstream: String,
    pub method: String,
    /// Path and query, relative to the upstream's URL (`/chat/completions`).
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// Milliseconds the agent may take for the whole request (the server's own timeouts
    /// bound it too).
    pub timeout_ms: Option<u64>,
}

/// A binary frame, decoded.
#[derive(Debug, PartialEq)]
pub enum Frame {
    Request {
        id: u64,
        head: RequestHead,
        body: Bytes,
    },
    Chunk {
        id: u64,
        data: Bytes,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("binary frame shorter than its header")]
    Short,
    #[error("unknown binary frame kind {0}")]
    Kind(u8),
    #[error("request head is not valid: {0}")]
    Head(String),
}

pub fn encode_request(id: u64, head: &RequestHead, body: &[u8]) -> Result<Bytes, FrameError> {
    let head = serde_json::to_vec(head).map_err(|e| FrameError::Head(e.to_string()))?;
    let head_len = u32::try_from(head.len()).map_err(|_| FrameError::Head("too long".into()))?;
    let mut out = BytesMut::with_capacity(13 + head.len() + body.len());
    out.put_u8(REQUEST);
    out.put_u64(id);
    out.put_u32(head_len);
    out.put_slice(&head);
    out.put_slice(body);
    Ok(out.freeze())
}

pub fn encode_chunk(id: u64, data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(9 + data.len());
    out.put_u8(CHUNK);
    out.put_u64(id);
    out.put_slice(data);
    out.freeze()
}

pub fn decode(frame: Bytes) -> Result<Frame, FrameError> {
    if frame.len() < 9 {
        return Err(FrameError::Short);
    }
    let kind = frame[0];
    let mut id = [0u8; 8];
    id.copy_from_slice(&frame[1..9]);
    let id = u64::from_be_bytes(id);
    match kind {
        CHUNK => Ok(Frame::Chunk {
            id,
            data: frame.slice(9..),
        }),
        REQUEST => {
            if frame.len() < 13 {
                return Err(FrameError::Short);
            }
            let mut len = [0u8; 4];
            len.copy_from_slice(&frame[9..13]);
            let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
            let end = 13usize.checked_add(len).filter(|e| *e <= frame.len());
            let Some(end) = end else {
                return Err(FrameError::Short);
            };
            let head: RequestHead = serde_json::from_slice(&frame[13..end])
                .map_err(|e| FrameError::Head(e.to_string()))?;
            Ok(Frame::Request {
                id,
                head,
                body: frame.slice(end..),
            })
        }
        other => Err(FrameError::Kind(other)),
    }
}

/// Whether `name` is a usable upstream name: 1–64 letters, digits, `-`, `_`, `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Headers that describe one hop, not the message: never forwarded over the link.
pub fn is_hop_header(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "content-length"
            | "host"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let head = RequestHead {
            upstream: "local".into(),
            method: "POST".into(),
            path: "/chat/completions".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            timeout_ms: Some(5_000),
        };
        let frame = encode_request(7, &head, b"{\"a\":1}").unwrap();
        assert_eq!(
            decode(frame).unwrap(),
            Frame::Request {
                id: 7,
                head,
                body: Bytes::from_static(b"{\"a\":1}")
            }
        );
        let chunk = encode_chunk(u64::MAX, b"data: x\n\n");
        assert_eq!(
            decode(chunk).unwrap(),
            Frame::Chunk {
                id: u64::MAX,
                data: Bytes::from_static(b"data: x\n\n")
            }
        );
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        assert_eq!(
            decode(Bytes::from_static(b"\x02abc")),
            Err(FrameError::Short)
        );
        assert_eq!(
            decode(Bytes::from_static(b"\x09\0\0\0\0\0\0\0\x01")),
            Err(FrameError::Kind(9))
        );
        // A head length past the end of the frame.
        let mut bad = vec![REQUEST];
        bad.extend_from_slice(&1u64.to_be_bytes());
        bad.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(Bytes::from(bad)), Err(FrameError::Short));
        let mut bad = vec![REQUEST];
        bad.extend_from_slice(&1u64.to_be_bytes());
        bad.extend_from_slice(&2u32.to_be_bytes());
        bad.extend_from_slice(b"{}");
        assert!(matches!(decode(Bytes::from(bad)), Err(FrameError::Head(_))));
    }

    #[test]
    fn messages_are_schema_checked() {
        let extra = r#"{"type":"heartbeat","in_flight":1,"gateway_id":"gw_other"}"#;
        assert!(serde_json::from_str::<AgentMessage>(extra).is_err());
        let hello = r#"{"type":"hello","protocol":1,"version":"0.1.0","upstreams":[{"name":"gpu-box","provider":"ollama"}]}"#;
        assert!(matches!(
            serde_json::from_str::<AgentMessage>(hello).unwrap(),
            AgentMessage::Hello { .. }
        ));
        assert!(valid_name("gpu-box_1.local"));
        assert!(!valid_name("../etc"));
        assert!(!valid_name(""));
    }
}
