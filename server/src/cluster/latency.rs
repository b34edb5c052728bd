//! Latency figures shared between replicas, approximately: every second each replica
//! publishes its own (per connection, and per connection and model with their sample
//! counts) to Redis for a few seconds and reads the others'; the merge (connections:
//! the mean; models: weighted by samples) is what `latency_optimized` routing orders by.
//! Routing never waits for Redis: it reads the last merge.

use std::{collections::HashMap, sync::Arc, time::Duration};

use super::Shared;
use crate::limits::{Fleet, Limiter, ModelLatency};

const EVERY: Duration = Duration::from_secs(1);
/// A replica that stopped publishing drops out after this.
const LIFETIME: Duration = Duration::from_secs(5);
/// Separates the parts of a field name (connection ids and model names never hold it).
const SEP: char = '\u{1f}';

pub fn spawn(shared: Arc<Shared>, limiter: Arc<Limiter>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            let own = limiter.own_latency();
            if let Ok(others) = shared.exchange_latency(fields(&own), LIFETIME).await {
                limiter.set_fleet(merge(own, &others));
            }
        }
    });
}

/// A replica's figures as Redis hash fields.
fn fields(own: &Fleet) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = own
        .connections
        .iter()
        .map(|(c, ms)| (format!("c{SEP}{c}"), ms.to_string()))
        .collect();
    for (c, models) in &own.models {
        for (m, l) in models {
            let ttft = l.ttft_ms.map_or_else(|| "-".to_owned(), |t| t.to_string());
            out.push((
                format!("m{SEP}{c}{SEP}{m}"),
                format!("{},{ttft},{}", l.total_ms, l.samples),
            ));
        }
    }
    out
}

/// This replica's figures merged with the others' hash fields.
fn merge(own: Fleet, others: &[HashMap<String, String>]) -> Fleet {
    let mut connections: HashMap<String, (f64, u32)> = own
        .connections
        .into_iter()
        .map(|(c, ms)| (c, (ms, 1)))
        .collect();
    let mut models = own.models;
    for other in others {
        for (field, value) in other {
            let mut parts = field.split(SEP);
            match (parts.next(), parts.next(), parts.next()) {
                (Some("c"), Some(c), None) => {
                    if let Ok(ms) = value.parse::<f64>() {
                        let e = connections.entry(c.to_owned()).or_insert((0.0, 0));
                        // A sum and a count, averaged at the end.
                        e.0 += ms;
                        e.1 += 1;
                    }
                }
                (Some("m"), Some(c), Some(m)) => {
                    let mut v = value.split(',');
                    let (Some(Ok(total)), Some(ttft), Some(Ok(samples))) = (
                        v.next().map(str::parse::<f64>),
                        v.next().map(|t| t.parse::<f64>().ok()),
                        v.next().map(str::parse::<u64>),
                    ) else {
                        continue;
                    };
                    let theirs = ModelLatency {
                        total_ms: total,
                        ttft_ms: ttft,
                        samples,
                    };
                    let entry = models.entry(c.to_owned()).or_default();
                    match entry.get_mut(m) {
                        Some(mine) => *mine = weighted(*mine, theirs),
                        None => {
                            entry.insert(m.to_owned(), theirs);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Fleet {
        connections: connections
            .into_iter()
            .map(|(c, (sum, n))| (c, sum / f64::from(n.max(1))))
            .collect(),
        models,
    }
}

/// Two figures of one model, each counted by its samples.
fn weighted(a: ModelLatency, b: ModelLatency) -> ModelLatency {
    let (wa, wb) = (a.samples.max(1) as f64, b.samples.max(1) as f64);
    let mean = |x: f64, y: f64| (x * wa + y * wb) / (wa + wb);
    ModelLatency {
        total_ms: mean(a.total_ms, b.total_ms),
        ttft_ms: match (a.ttft_ms, b.ttft_ms) {
            (Some(x), Some(y)) => Some(mean(x, y)),
            (x, y) => x.or(y),
        },
        samples: a.samples + b.samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_round_trip_and_merge_by_samples() {
        let mut own = Fleet::default();
        own.connections.insert("c1".into(), 100.0);
        own.models.entry("c1".into()).or_default().insert(
            "m".into(),
            ModelLatency {
                total_ms: 100.0,
                ttft_ms: None,
                samples: 1,
            },
        );
        let mut theirs = Fleet::default();
        theirs.connections.insert("c1".into(), 300.0);
        theirs.connections.insert("c2".into(), 50.0);
        theirs.models.entry("c1".into()).or_default().insert(
            "m".into(),
            ModelLatency {
                total_ms: 300.0,
                ttft_ms: Some(30.0),
                samples: 3,
            },
        );
        let other: HashMap<String, String> = fields(&theirs).into_iter().collect();
        let merged = merge(own, &[other]);
        assert_eq!(merged.connections["c1"], 200.0);
        assert_eq!(merged.connections["c2"], 50.0);
        let m = merged.models["c1"]["m"];
        assert_eq!((m.total_ms, m.ttft_ms, m.samples), (250.0, Some(30.0), 4));
    }
}
