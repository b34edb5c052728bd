//! Three replicas on one PostgreSQL and one Redis act as one gateway: a connection's rpm,
//! a key's budget and a round-robin position are counted once across them, latency
//! figures are merged; a cool-down,
//! a disabled connection and a revoked key reach every replica within a second; a replica
//! that dies costs only its own requests; without Redis they serve on alone (`degraded`)
//! and share again once it is back.
//!
//! The replica tests need PostgreSQL (`LANGMART_TEST_DATABASE=postgres`) and
//! `redis-server`: each starts its own Redis on a free port, so stopping it touches nobody
//! else. Skipped otherwise — but under `CI=true` a missing `redis-server` fails. The last
//! test (the failure policies, with no Redis at all) runs on either database.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::collections::{connect, create_collection};
use crate::common::{on_postgres, spawn_app_with, TestApp};
use server::cluster::FailurePolicy;

/// A `redis-server` of this test's own, on a free port, with nothing kept on disk.
struct Redis {
    port: u16,
    child: Option<std::process::Child>,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut redis = Redis {
            port,
            child: None,
            _dir: dir,
        };
        if !redis.run() {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "redis-server is needed under CI=true");
            eprintln!("SKIPPED: redis-server is not installed");
            return None;
        }
        Some(redis)
    }

    /// Starts (or starts again) the server on its port and waits until it answers.
    fn run(&mut self) -> bool {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self._dir.path())
            .stdout(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let mut buf = [0u8; 7];
                if s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() {
                    return &buf == b"+PONG\r\n";
                }
            }
            std::thread::yield_now();
        }
        false
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Redis, and three replicas on one database sharing it.
async fn cluster() -> Option<(Redis, Vec<TestApp>)> {
    if !on_postgres() {
        eprintln!(
            "SKIPPED: replicas share a PostgreSQL database (LANGMART_TEST_DATABASE=postgres)"
        );
        return None;
    }
    let redis = Redis::start()?;
    let url = redis.url();
    let a = spawn_app_with(|s| s.redis_url = Some(url)).await?;
    let b = a.replica().await?;
    let c = a.replica().await?;
    for app in [&a, &b, &c] {
        wait_until(Duration::from_secs(10), || async {
            app.state.shared.as_ref().is_some_and(|s| s.is_up())
        })
        .await
        .expect("every replica reaches Redis");
    }
    Some((redis, vec![a, b, c]))
}

/// Polls `check` until it holds; how long that took, or `None` after `limit`.
async fn wait_until<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

async fn chat(app: &TestApp, key: &str, model: &str) -> reqwest::Response {
    app.api(Method::POST, "/v1/chat/completions", key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 7}))
        .send()
        .await
        .unwrap()
}

async fn health(app: &TestApp) -> Value {
    reqwest::get(app.url("/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Whether `app`'s routing has a connection limited to `rpm` (a change made elsewhere).
async fn routes_with_rpm(app: &TestApp, rpm: i64) -> bool {
    app.state
        .routing
        .snapshot()
        .await
        .unwrap()
        .routes
        .iter()
        .any(|r| r.rpm == Some(rpm))
}

fn served_by(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-langmart-connection")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn replicas_count_one_rpm_one_budget_and_one_round_robin() {
    let Some((_redis, apps)) = cluster().await else {
        return;
    };
    let (_, admin) = apps[0].user_with_key("root@example.com", "root").await;

    // 60 rpm, 90 requests spread over the three replicas at once: 60 pass.
    let limited = ChatMock::start("limited").await;
    connect(
        &apps[0],
        &admin,
        "mistral",
        &limited,
        json!({"rate_limit_rpm": 60}),
    )
    .await;
    let before = limited.calls();
    let answers = futures_util::future::join_all(
        (0..90).map(|i| chat(&apps[i % 3], &admin, "mistral/gpt-4o")),
    )
    .await;
    let ok = answers
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    let limited_out = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (ok, limited_out),
        (60, 30),
        "one 60 rpm window across replicas"
    );
    assert_eq!(limited.calls() - before, 60, "the provider saw 60 calls");

    // A round-robin collection alternates across replicas as one.
    let mut ids = Vec::new();
    for provider in ["openai", "groq"] {
        let mock = ChatMock::start(provider).await;
        ids.push(connect(&apps[1], &admin, provider, &mock, json!({})).await);
    }
    create_collection(
        &apps[1],
        &admin,
        json!({"name": "rr", "strategy": "round_robin", "models": ["openai/gpt-4o", "groq/gpt-4o"]}),
    )
    .await;
    let mut seen = Vec::new();
    for i in 0..6 {
        let res = chat(&apps[i % 3], &admin, "collection/rr").await;
        assert_eq!(res.status(), StatusCode::OK);
        seen.push(served_by(&res));
    }
    assert_ne!(seen[0], seen[1], "{seen:?}");
    for (i, id) in seen.iter().enumerate() {
        assert_eq!(id, &seen[i % 2], "alternates across replicas: {seen:?}");
    }

    // A key budget for 10 requests, 30 at once over three replicas: exactly 10 pass.
    let res = apps[0]
        .api(Method::PUT, "/api/prices", &admin)
        .json(&json!({"provider": "groq", "model": "gpt-4o", "input_per_mtok": 0.0, "output_per_mtok": 1000.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let one_request = 7.0 * 0.001;
    let (budgeted, _) = apps[0]
        .key_with(
            &admin,
            json!({"budget": {"usd": 10.0 * one_request, "period": "day"}}),
        )
        .await;
    // Every replica sees the new price before the rush.
    for app in &apps {
        wait_until(Duration::from_secs(1), || async {
            app.state
                .routing
                .snapshot()
                .await
                .unwrap()
                .price("groq", "gpt-4o")
                .is_some_and(|p| p.output_per_mtok == 1000.0)
        })
        .await
        .expect("the price reaches every replica within a second");
    }
    let answers = futures_util::future::join_all(
        (0..30).map(|i| chat(&apps[i % 3], &budgeted, "groq/gpt-4o")),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::PAYMENT_REQUIRED)
        .count();
    assert_eq!((ok, refused), (10, 20), "{statuses:?}");

    // Latency measured on A alone reaches B's routing (merged every second).
    let slow = ChatMock::start("slow").await;
    slow.delay(150);
    let slow_id = connect(&apps[0], &admin, "xai", &slow, json!({})).await;
    for _ in 0..2 {
        assert_eq!(
            chat(&apps[0], &admin, "xai/gpt-4o").await.status(),
            StatusCode::OK
        );
    }
    let took = wait_until(Duration::from_secs(5), || async {
        apps[1]
            .state
            .limiter
            .latency_ms(&slow_id)
            .is_some_and(|ms| ms >= 100.0)
    })
    .await;
    assert!(
        took.is_some(),
        "B knows A's latency figure for the connection"
    );
}

#[tokio::test]
async fn cool_downs_disabled_connections_and_revoked_keys_reach_every_replica_within_a_second() {
    let Some((_redis, apps)) = cluster().await else {
        return;
    };
    let (_, admin) = apps[0].user_with_key("root@example.com", "root").await;
    let first = ChatMock::start("first").await;
    let second = ChatMock::start("second").await;
    let first_id = connect(&apps[0], &admin, "openai", &first, json!({})).await;
    let second_id = connect(&apps[0], &admin, "groq", &second, json!({})).await;
    create_collection(
        &apps[0],
        &admin,
        json!({"name": "fb", "strategy": "fallback", "models": ["openai/gpt-4o", "groq/gpt-4o"]}),
    )
    .await;

    // A 429 on replica A cools the connection down on B and C too.
    first.fail(429, Some(120));
    let res = chat(&apps[0], &admin, "collection/fb").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(served_by(&res), second_id, "fell back on A");
    let calls = first.calls();
    for app in &apps[1..] {
        let took = wait_until(Duration::from_secs(1), || async {
            let route = app.state.routing.snapshot().await.unwrap();
            route
                .routes
                .iter()
                .any(|r| r.id == first_id && r.status == "rate_limited")
        })
        .await;
        assert!(
            took.is_some(),
            "the cool-down reached the replica within 1 s"
        );
        let res = chat(app, &admin, "collection/fb").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(served_by(&res), second_id);
    }
    assert_eq!(
        first.calls(),
        calls,
        "B and C did not call the cooling connection"
    );

    // Disabled through A: C routes around it within a second.
    first.recover();
    let third = ChatMock::start("third").await;
    let third_id = connect(&apps[0], &admin, "mistral", &third, json!({})).await;
    let res = apps[2]
        .api(Method::POST, "/v1/chat/completions", &admin)
        .json(&json!({"model": "mistral/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(served_by(&res), third_id);
    let res = apps[0]
        .api(Method::PUT, &format!("/api/connections/{third_id}"), &admin)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let took = wait_until(Duration::from_secs(1), || async {
        chat(&apps[2], &admin, "mistral/gpt-4o").await.status() != StatusCode::OK
    })
    .await;
    assert!(took.is_some(), "C skips the disabled connection within 1 s");

    // A key revoked through B is refused by A within a second (A had it cached).
    let (key, key_id) = apps[0].key_with(&admin, json!({})).await;
    assert_eq!(
        chat(&apps[0], &key, "groq/gpt-4o").await.status(),
        StatusCode::OK
    );
    let res = apps[1]
        .api(Method::DELETE, &format!("/api/keys/{key_id}"), &admin)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let took = wait_until(Duration::from_secs(1), || async {
        chat(&apps[0], &key, "groq/gpt-4o").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(took.is_some(), "A refuses the revoked key within 1 s");
}

#[tokio::test]
async fn a_dead_replica_costs_only_its_own_requests_and_a_dead_redis_only_sharing() {
    let Some((mut redis, mut apps)) = cluster().await else {
        return;
    };
    let (_, admin) = apps[0].user_with_key("root@example.com", "root").await;
    let up = ChatMock::start("up").await;
    connect(&apps[0], &admin, "groq", &up, json!({})).await;
    up.delay(20);

    // Load over A and C while B is stopped mid-way: A and C answer every request.
    let b = apps.remove(1);
    let load = |app: &TestApp| {
        let app_url = app.url("/v1/chat/completions");
        let admin = admin.clone();
        async move {
            let client = reqwest::Client::new();
            let mut failures = 0;
            for _ in 0..40 {
                let res = client
                    .post(&app_url)
                    .bearer_auth(&admin)
                    .json(&json!({"model": "groq/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
                    .send()
                    .await;
                if !res.is_ok_and(|r| r.status() == StatusCode::OK) {
                    failures += 1;
                }
            }
            failures
        }
    };
    let b_load = load(&b);
    let stop_b = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.stop().await;
    };
    let (a_failures, c_failures, b_failures, ()) =
        tokio::join!(load(&apps[0]), load(&apps[1]), b_load, stop_b);
    assert_eq!(
        (a_failures, c_failures),
        (0, 0),
        "the live replicas lost nothing"
    );
    assert!(b_failures > 0, "B did stop mid-load");

    // Redis stops: the replicas serve on with their own limits and say `degraded`.
    redis.stop();
    for app in &apps {
        let took = wait_until(Duration::from_secs(5), || async {
            let health = health(app).await;
            health["status"] == "degraded" && health["redis"] == "down"
        })
        .await;
        assert!(took.is_some(), "the replica reports degraded");
        assert_eq!(
            chat(app, &admin, "groq/gpt-4o").await.status(),
            StatusCode::OK,
            "serves without Redis"
        );
    }
    // Limits are per replica meanwhile: 2 rpm each.
    let solo = ChatMock::start("solo").await;
    connect(
        &apps[0],
        &admin,
        "mistral",
        &solo,
        json!({"rate_limit_rpm": 2}),
    )
    .await;
    for app in &apps {
        wait_until(Duration::from_secs(1), || routes_with_rpm(app, 2))
            .await
            .unwrap();
        for _ in 0..2 {
            assert_eq!(
                chat(app, &admin, "mistral/gpt-4o").await.status(),
                StatusCode::OK
            );
        }
        assert_eq!(
            chat(app, &admin, "mistral/gpt-4o").await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    // Redis is back: the replicas find it by themselves and share again.
    assert!(redis.run(), "Redis starts again");
    for app in &apps {
        let took = wait_until(Duration::from_secs(5), || async {
            health(app).await["redis"] == "ok"
        })
        .await;
        assert!(took.is_some(), "the replica reconnects to Redis");
    }
    let shared = ChatMock::start("shared").await;
    connect(
        &apps[0],
        &admin,
        "deepseek",
        &shared,
        json!({"rate_limit_rpm": 3}),
    )
    .await;
    let mut ok = 0;
    for i in 0..6 {
        let app = &apps[i % 2];
        wait_until(Duration::from_secs(1), || routes_with_rpm(app, 3))
            .await
            .unwrap();
        if chat(app, &admin, "deepseek/gpt-4o").await.status() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 3, "one shared 3 rpm window again");
}

#[tokio::test]
async fn with_redis_away_closed_refuses_what_needs_shared_state_and_open_serves_alone() {
    // A port nothing listens on: Redis is never there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    for policy in [FailurePolicy::Closed, FailurePolicy::Open] {
        let url = url.clone();
        let Some(app) = spawn_app_with(|s| {
            s.redis_url = Some(url);
            s.redis_failure = policy;
        })
        .await
        else {
            return;
        };
        let (_, admin) = app.user_with_key("root@example.com", "root").await;
        let free = ChatMock::start("free").await;
        let limited = ChatMock::start("limited").await;
        connect(&app, &admin, "openai", &free, json!({})).await;
        connect(
            &app,
            &admin,
            "groq",
            &limited,
            json!({"rate_limit_rpm": 100}),
        )
        .await;
        assert_eq!(
            chat(&app, &admin, "openai/gpt-4o").await.status(),
            StatusCode::OK,
            "no limit, no shared state needed ({policy:?})"
        );
        let res = chat(&app, &admin, "groq/gpt-4o").await;
        if policy == FailurePolicy::Closed {
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(res.headers()["retry-after"], "1");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "SHARED_STATE_UNAVAILABLE", "{body}");
        } else {
            assert_eq!(res.status(), StatusCode::OK, "open: counted here alone");
        }
        let health = health(&app).await;
        assert_eq!(
            (&health["status"], &health["redis"]),
            (&json!("degraded"), &json!("down"))
        );
    }
}
