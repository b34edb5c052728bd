//! Changes told between replicas through PostgreSQL `LISTEN/NOTIFY`: a replica that
//! changes connections, models, collections, aliases, providers, budgets or keys notifies
//! the channel; every other replica bumps its own `Changes` (its routing snapshot is
//! rebuilt on the next request) or drops its cached key owners. Delivery takes
//! milliseconds; a listener that lost its connection assumes it missed something and
//! refreshes everything once it is back.

use std::{collections::HashSet, time::Duration};

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::auth::ApiKeys;
use crate::changes::{Changes, Topic};
use crate::db::Db;

const CHANNEL: &str = "langmart_changes";
/// Changes made within this long are told in one notification each.
const GATHER: Duration = Duration::from_millis(5);

/// Starts telling and hearing changes (PostgreSQL only; one process on SQLite has no one
/// to tell).
pub fn start(db: &Db, database_url: &str, changes: &Changes, keys: &ApiKeys) {
    if !matches!(db.backend, crate::db::Backend::Postgres) {
        return;
    }
    let replica = crate::ids::random_base62(12);
    let (tx, rx) = mpsc::unbounded_channel();
    changes.tell_others_through(tx);
    tokio::spawn(publish(db.clone(), replica.clone(), rx));
    tokio::spawn(listen(
        database_url.to_owned(),
        replica,
        changes.clone(),
        keys.clone(),
    ));
}

async fn publish(db: Db, replica: String, mut rx: mpsc::UnboundedReceiver<Topic>) {
    while let Some(first) = rx.recv().await {
        tokio::time::sleep(GATHER).await;
        let mut topics = HashSet::from([first]);
        while let Ok(t) = rx.try_recv() {
            topics.insert(t);
        }
        for topic in topics {
            let payload = format!("{replica} {}", topic.as_str());
            let sent = sqlx::query("SELECT pg_notify($1, $2) IS NULL")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&db.pool)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not tell the other replicas of a change");
            }
        }
    }
}

async fn listen(url: String, replica: String, changes: Changes, keys: ApiKeys) {
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other replicas' changes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for other replicas' changes; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever happened while this listener was away is read again.
        refresh_all(&changes, &keys);
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    let Some((from, topic)) = n.payload().split_once(' ') else {
                        continue;
                    };
                    if from == replica {
                        continue;
                    }
                    match Topic::parse(topic) {
                        Some(Topic::Catalog) => changes.bump_here(),
                        Some(Topic::Keys) => keys.forget_all_here(),
                        None => {}
                    }
                }
                // The connection dropped; the listener reconnects by itself.
                Ok(None) => refresh_all(&changes, &keys),
                Err(e) => {
                    tracing::warn!(error = %e, "lost the change listener; reconnecting");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn refresh_all(changes: &Changes, keys: &ApiKeys) {
    changes.bump_here();
    keys.forget_all_here();
}
