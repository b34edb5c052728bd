//! Body capture: a person may keep the request and response bodies of their own calls
//! (off by default) for 1 to 30 days, to read in the request log's detail; nobody else
//! can read them. While it is on, a call keeps the client's body and what it was answered
//! (a whole answer, or a stream's events as sent), each up to `MAX_BYTES`, and the log
//! writer stores them with the call's row. Who captures is in the routing snapshot, so the
//! request path asks no database; a call of someone who does not capture does nothing more.

use std::sync::Mutex;

use crate::clock::now_ms;
use crate::db::{self, Db, StoreError};
use crate::error::{ApiError, RequestError};

/// Most bytes kept of each body; the rest is cut with a note.
pub const MAX_BYTES: usize = 64 * 1024;
const DAY_MS: i64 = 86_400_000;
const CUT: &str = "\n… (cut: LangMart keeps the first 64 KiB)";

/// A call's bodies as they are captured.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub request: String,
    pub response: String,
    /// Epoch ms until which they are kept.
    pub keep_until: i64,
}

impl Captured {
    /// Bytes held (what the log queue's body budget counts).
    pub fn size(&self) -> usize {
        self.request.len() + self.response.len()
    }

    pub fn new(request: &[u8], days: i64, now: i64) -> Mutex<Self> {
        let mut captured = Captured {
            keep_until: now.saturating_add(days.saturating_mul(DAY_MS)),
            ..Captured::default()
        };
        append(&mut captured.request, request);
        Mutex::new(captured)
    }
}

/// Appends `bytes` (as text) to `buf` up to `MAX_BYTES`.
pub fn append(buf: &mut String, bytes: &[u8]) {
    if buf.len() >= MAX_BYTES {
        return;
    }
    let room = MAX_BYTES - buf.len();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(room)]);
    // PostgreSQL's TEXT refuses NUL, and a refused body would take its batch's rows with it.
    if text.contains('\0') {
        buf.push_str(&text.replace('\0', "\u{FFFD}"));
    } else {
        buf.push_str(&text);
    }
    if bytes.len() > room {
        buf.push_str(CUT);
    }
}

/// Whose bodies are kept, the setting's rule, and reading them back.
#[derive(Clone)]
pub struct BodyCapture {
    db: Db,
    changes: crate::changes::Changes,
}

impl BodyCapture {
    pub fn new(db: Db, changes: crate::changes::Changes) -> Self {
        Self { db, changes }
    }

    /// Days `user_id` keeps bodies for, `None` when capture is off.
    pub async fn setting(&self, user_id: &str) -> Result<Option<i64>, ApiError> {
        Ok(db::bodies::setting(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?)
    }

    /// Turns capture on for `days` (1 to 30) or off (`None`); the routing snapshot reloads.
    pub async fn set(&self, user_id: &str, days: Option<i64>) -> Result<Option<i64>, ApiError> {
        if let Some(d) = days {
            if !(1..=30).contains(&d) {
                return Err(RequestError::InvalidField {
                    field: "retention_days",
                    message: "bodies are kept 1 to 30 days".into(),
                }
                .into());
            }
        }
        db::bodies::set(&self.db.pool, user_id, days, now_ms())
            .await
            .map_err(StoreError::from)?;
        self.changes.bump();
        Ok(days)
    }

    /// The bodies of `user_id`'s own call `log_id`, if they were kept and still are.
    pub async fn read(&self, user_id: &str, log_id: &str) -> Result<(String, String), ApiError> {
        db::bodies::find(&self.db.pool, user_id, log_id, now_ms())
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| RequestError::NotFound("Kept bodies of this request").into())
    }

    /// Deletes bodies past their time, every ten minutes in the background.
    pub fn spawn_pruner(&self) {
        let db = self.db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                if let Err(e) = db::bodies::prune(&db.pool, now_ms()).await {
                    tracing::warn!(error = %e, "could not prune kept request bodies");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_kept_up_to_its_cap_with_a_note() {
        let mut buf = String::new();
        append(&mut buf, b"hello ");
        append(&mut buf, b"world");
        assert_eq!(buf, "hello world");
        let big = vec![b'x'; MAX_BYTES + 10];
        let mut buf = String::new();
        append(&mut buf, &big);
        assert!(buf.starts_with("xxx"));
        assert!(buf.ends_with(CUT));
        let len = buf.len();
        append(&mut buf, b"more");
        assert_eq!(buf.len(), len, "nothing past the cap");
        let mut buf = String::new();
        append(&mut buf, b"a\0b");
        assert_eq!(buf, "a\u{FFFD}b", "no NUL reaches the database");
    }
}
