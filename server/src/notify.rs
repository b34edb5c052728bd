//! Notifications: a connection failing its checks (or rate-limited) and recovering, for the
//! people who look after it (its owner, an organization's admins, the platform's admins),
//! in the console's panel and, for those who set one, POSTed to their webhook as JSON.
//! Recorded off the request path; a webhook goes through the outbound policy like any
//! provider call (no private addresses unless the platform allows them, no redirects) and
//! is tried once, for at most `WEBHOOK_TIMEOUT`.

use std::sync::Arc;
use std::time::Duration;

use app::dto::{NotificationDto, NotificationsDto};

use crate::clock::{now_ms, rfc3339};
use crate::db::{self, notifications::SqlNotification, Db, StoreError};
use crate::error::{ApiError, RequestError};
use crate::ids::new_id;
use crate::outbound::{check_endpoint, Outbound};

const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// The panel shows this many, newest first.
const SHOWN: i64 = 50;
/// Notifications older than this are deleted.
pub const KEPT_MS: i64 = 30 * 86_400_000;

/// What happened to a connection, if it is worth telling anyone.
fn kind(from: &str, to: &str) -> Option<&'static str> {
    match (from, to) {
        (f, "error") if f != "error" => Some("failed"),
        (f, "rate_limited") if f != "rate_limited" => Some("rate_limited"),
        ("error" | "rate_limited", "active") => Some("recovered"),
        _ => None,
    }
}

/// The connection a status change is about.
pub struct Subject<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub scope: &'a str,
    pub owner_user_id: Option<&'a str>,
    pub owner_org_id: Option<&'a str>,
}

#[derive(Clone)]
pub struct Notifications {
    db: Db,
    outbound: Arc<Outbound>,
}

impl Notifications {
    pub fn new(db: Db, outbound: Arc<Outbound>) -> Self {
        Self { db, outbound }
    }

    /// Tells the connection's people that its status went from `from` to `to` (nothing
    /// when the change is not a failure or a recovery). In the background.
    pub fn status_changed(&self, subject: &Subject<'_>, from: &str, to: &str, error: Option<&str>) {
        let Some(kind) = kind(from, to) else { return };
        let title = match kind {
            "failed" => format!("{} failed its check", subject.name),
            "rate_limited" => format!("{} is rate-limited by its provider", subject.name),
            _ => format!("{} recovered", subject.name),
        };
        let detail = error.map(str::to_owned);
        let (id, scope) = (subject.id.to_owned(), subject.scope.to_owned());
        let (owner_user, owner_org) = (
            subject.owner_user_id.map(str::to_owned),
            subject.owner_org_id.map(str::to_owned),
        );
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this
                .record(
                    &id,
                    kind,
                    &title,
                    detail,
                    &scope,
                    owner_user.as_deref(),
                    owner_org.as_deref(),
                )
                .await
            {
                tracing::warn!(connection_id = %id, error = %e, "could not record a notification");
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        connection_id: &str,
        kind: &str,
        title: &str,
        detail: Option<String>,
        scope: &str,
        owner_user: Option<&str>,
        owner_org: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let people =
            db::notifications::recipients(&self.db.pool, scope, owner_user, owner_org).await?;
        let now = now_ms();
        for user_id in people {
            let n = SqlNotification {
                id: new_id("ntf"),
                user_id: user_id.clone(),
                connection_id: connection_id.to_owned(),
                kind: kind.to_owned(),
                title: title.to_owned(),
                detail: detail.clone(),
                created_at: now,
                read_at: None,
            };
            db::notifications::insert(&self.db.pool, &n).await?;
            if let Some(url) = db::notifications::webhook(&self.db.pool, &user_id).await? {
                self.deliver(&url, dto(n)).await;
            }
        }
        Ok(())
    }

    /// POSTs a notification to a webhook, once; a failure is logged (without the URL,
    /// which may carry a token in its path).
    async fn deliver(&self, url: &str, n: NotificationDto) {
        // Address literals never reach the strict client's resolver: checked here, as
        // every provider call is (a URL saved while private addresses were allowed).
        if !self.outbound.private_allowed(false) {
            let refused = reqwest::Url::parse(url)
                .ok()
                .and_then(|u| crate::outbound::refused_literal(&u));
            if refused.is_some() {
                tracing::warn!(user_id = %n.user_id, "a notification webhook points at a non-public address; not sent");
                return;
            }
        }
        let client = self.outbound.client(false, None);
        let sent = client
            .post(url)
            .timeout(WEBHOOK_TIMEOUT)
            .json(&serde_json::json!({"type": "langmart.notification", "notification": n}))
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => {}
            Ok(res) => {
                tracing::warn!(status = %res.status(), user_id = %n.user_id, "a notification webhook refused the notification")
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), user_id = %n.user_id, "could not deliver a notification to its webhook")
            }
        }
    }

    /// A person's panel: the newest notifications and how many are unread.
    pub async fn list(&self, user_id: &str) -> Result<NotificationsDto, ApiError> {
        let items = db::notifications::list(&self.db.pool, user_id, SHOWN)
            .await
            .map_err(StoreError::from)?;
        let unread = db::notifications::unread(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?;
        let webhook_url = db::notifications::webhook(&self.db.pool, user_id)
            .await
            .map_err(StoreError::from)?;
        Ok(NotificationsDto {
            unread,
            items: items.into_iter().map(dto).collect(),
            webhook_url,
        })
    }

    pub async fn mark_read(&self, user_id: &str) -> Result<(), ApiError> {
        db::notifications::mark_read(&self.db.pool, user_id, now_ms())
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    /// Sets a person's webhook (empty: none). Checked as a connection's endpoint is: an
    /// http(s) URL to a public address unless the platform allows private ones.
    pub async fn set_webhook(&self, user_id: &str, url: &str) -> Result<Option<String>, ApiError> {
        let url = url.trim();
        let url = (!url.is_empty()).then_some(url);
        if let Some(url) = url {
            if url.len() > 2_000 {
                return Err(RequestError::InvalidField {
                    field: "webhook_url",
                    message: "the webhook URL is longer than 2,000 characters".into(),
                }
                .into());
            }
            check_endpoint(url, self.outbound.private_allowed(false))
                .await
                .map_err(|e| RequestError::InvalidField {
                    field: "webhook_url",
                    message: e.to_string().replace("endpoint_url", "the webhook URL"),
                })?;
        }
        db::notifications::set_webhook(&self.db.pool, user_id, url, now_ms())
            .await
            .map_err(StoreError::from)?;
        Ok(url.map(str::to_owned))
    }

    /// Deletes notifications past `KEPT_MS`, every hour in the background.
    pub fn spawn_pruner(&self) {
        let db = self.db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3_600));
            loop {
                tick.tick().await;
                if let Err(e) = db::notifications::prune(&db.pool, now_ms() - KEPT_MS).await {
                    tracing::warn!(error = %e, "could not prune notifications");
                }
            }
        });
    }
}

fn dto(n: SqlNotification) -> NotificationDto {
    NotificationDto {
        id: n.id,
        user_id: n.user_id,
        connection_id: n.connection_id,
        kind: n.kind,
        title: n.title,
        detail: n.detail,
        created_at: rfc3339(n.created_at),
        read: n.read_at.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::kind;

    #[test]
    fn failures_and_recoveries_are_told_other_changes_are_not() {
        assert_eq!(kind("active", "error"), Some("failed"));
        assert_eq!(kind("error", "error"), None);
        assert_eq!(kind("active", "rate_limited"), Some("rate_limited"));
        assert_eq!(kind("error", "active"), Some("recovered"));
        assert_eq!(kind("rate_limited", "active"), Some("recovered"));
        assert_eq!(kind("active", "inactive"), None);
        assert_eq!(kind("inactive", "active"), None);
    }
}
