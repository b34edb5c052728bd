//! The real binary under load, stopped the two ways a machine stops a service: SIGKILL
//! loses at most the rows of the last log flush and the database opens clean; SIGTERM
//! loses none, and exits within its grace even with a peer that never finished its headers.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::Client;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::binary::Binary;
use crate::chat_mock::ChatMock;

/// Requests that got their whole answer, with when.
type Completed = Arc<Mutex<Vec<(String, Instant)>>>;

/// Starts `clients` loops of chat requests, each with its own `x-request-id`, until
/// `stop` is set; returns what completed.
fn load(base: &str, key: &str, clients: usize, stop: Arc<tokio::sync::Notify>) -> Completed {
    let done: Completed = Arc::default();
    let http = Client::new();
    for c in 0..clients {
        let (http, done, stop) = (http.clone(), done.clone(), stop.clone());
        let url = format!("{base}/v1/chat/completions");
        let key = key.to_owned();
        tokio::spawn(async move {
            for n in 0.. {
                let id = format!("load-{c}-{n}");
                let call = http
                    .post(&url)
                    .bearer_auth(&key)
                    .header("x-request-id", &id)
                    .json(&json!({"model": "openai/gpt-4o",
                                  "messages": [{"role": "user", "content": "hi"}]}))
                    .send();
                let answered = tokio::select! {
                    r = call => r,
                    () = stop.notified() => return,
                };
                match answered {
                    Ok(r) if r.status().is_success() => {
                        if r.bytes().await.is_ok() {
                            done.lock().unwrap().push((id, Instant::now()));
                        }
                    }
                    // The server is gone (or going): this client is done.
                    _ => return,
                }
            }
        });
    }
    done
}

async fn prepare(flags: &[&str]) -> (tempfile::TempDir, Binary, String, ChatMock) {
    let dir = tempfile::tempdir().unwrap();
    let key = Binary::account(dir.path(), "ops@example.com");
    let bin = Binary::serve(dir.path(), flags);
    let mock = ChatMock::start("upstream").await;
    let res = Client::new()
        .post(bin.url("/api/connections"))
        .bearer_auth(&key)
        .json(
            &json!({"provider": "openai", "name": "upstream", "api_key": "sk-upstream-0001",
                      "endpoint_url": mock.base, "max_retries": 0}),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{:?}", res.text().await);
    (dir, bin, key, mock)
}

/// The request ids in the log, and SQLite's own integrity verdict, read from the file.
async fn logged(data: &std::path::Path) -> (HashSet<String>, String) {
    let url = format!(
        "sqlite://{}?mode=rw",
        data.join("langmart.db").to_string_lossy()
    );
    let db = server::db::Db::open(&url).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT request_id FROM request_logs")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    db.pool.close().await;
    (ids.into_iter().collect(), integrity)
}

#[tokio::test]
async fn sigkill_under_load_loses_at_most_the_last_flush() {
    let (dir, mut bin, key, _mock) = prepare(&["--log-flush-ms", "200"]).await;
    let stop = Arc::new(tokio::sync::Notify::new());
    let done = load(&bin.base, &key, 16, stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let killed_at = Instant::now();
    bin.kill();
    stop.notify_waiters();
    let completed = done.lock().unwrap().clone();
    assert!(completed.len() > 100, "the load ran: {}", completed.len());

    // It starts again on the same database and serves.
    let again = Binary::serve(dir.path(), &[]);
    let health = reqwest::get(again.url("/health")).await.unwrap();
    assert!(health.status().is_success());
    again.terminate();
    drop(again);

    let (rows, integrity) = logged(dir.path()).await;
    assert_eq!(integrity, "ok");
    let lost: Vec<Duration> = completed
        .iter()
        .filter(|(id, _)| !rows.contains(id))
        .map(|(_, at)| killed_at.duration_since(*at))
        .collect();
    eprintln!(
        "SIGKILL after {} answered requests: {} rows lost, all answered within {:?} of the kill",
        completed.len(),
        lost.len(),
        lost.iter().max()
    );
    // The bound: a row is committed within the flush interval (200 ms) plus one write;
    // anything answered well before the kill is in the log.
    assert!(
        lost.iter().all(|ago| *ago < Duration::from_millis(1_000)),
        "a row answered long before the kill was lost: {lost:?}"
    );
}

#[tokio::test]
async fn sigterm_under_load_loses_nothing_and_exits_within_its_grace() {
    let (dir, mut bin, key, _mock) = prepare(&[
        "--shutdown-grace-secs",
        "2",
        "--header-read-timeout-secs",
        "600",
    ])
    .await;
    let stop = Arc::new(tokio::sync::Notify::new());
    let done = load(&bin.base, &key, 16, stop.clone());
    // A peer that never finishes its headers.
    let addr = bin.base.trim_start_matches("http://").to_owned();
    let mut half = tokio::net::TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let asked = Instant::now();
    bin.terminate();
    let exited = tokio::task::spawn_blocking(move || {
        let status = bin.wait(Duration::from_secs(30));
        (status, bin)
    })
    .await
    .unwrap();
    let took = asked.elapsed();
    stop.notify_waiters();
    let (status, _bin) = exited;
    let status = status.expect("the process exits");
    assert!(status.success(), "{status:?}");
    // The grace (2 s) plus the last words (2 s), with room for a slow machine.
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    eprintln!("SIGTERM with a half-open peer: exited in {took:?}");

    let completed = done.lock().unwrap().clone();
    assert!(completed.len() > 100, "the load ran: {}", completed.len());
    let (rows, integrity) = logged(dir.path()).await;
    assert_eq!(integrity, "ok");
    let lost = completed
        .iter()
        .filter(|(id, _)| !rows.contains(id))
        .count();
    eprintln!(
        "SIGTERM after {} answered requests: {lost} rows lost",
        completed.len()
    );
    assert_eq!(lost, 0);
}
