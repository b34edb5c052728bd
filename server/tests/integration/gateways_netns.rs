//! A self-hosted gateway across a network boundary: the upstream listens inside a network
//! namespace this test makes, where nothing but the agents can reach it; the agents are
//! the real `langmart gateway` binary run in that namespace, with a route (a veth pair) to
//! the server only. Needs root and `ip netns`; elsewhere it says why and skips — except
//! under `CI=true`, where a skip is a failure.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a failure must fail the test"
)]

use std::{
    os::fd::AsFd,
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicU32, Ordering},
};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::chat_mock::ChatMock;
use crate::eventually;
use crate::gateways::{chat, config_for, create_gateway, gateway, post_chat, read_all, relayed};

/// A network namespace with a veth pair: the host side is `host_ip`, the namespace's is
/// `.2`. Deleted (with the pair) when dropped.
struct Netns {
    name: String,
    host_ip: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    fn create() -> Result<Netns, String> {
        let n = std::process::id() % 200 + SEQ.fetch_add(1, Ordering::SeqCst);
        let name = format!("lm-gw-{}-{n}", std::process::id());
        let (host, peer) = (format!("lmh{n}"), format!("lmn{n}"));
        let subnet = format!("10.213.{}", n % 250);
        let host_ip = format!("{subnet}.1");
        ip(&["netns", "add", &name])?;
        let ns = Netns { name, host_ip };
        ip(&["link", "add", &host, "type", "veth", "peer", "name", &peer])?;
        ip(&["link", "set", &peer, "netns", &ns.name])?;
        ip(&["addr", "add", &format!("{}/30", ns.host_ip), "dev", &host])?;
        ip(&["link", "set", &host, "up"])?;
        let inside = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &ns.name, "ip"];
            all.extend_from_slice(args);
            ip(&all)
        };
        inside(&["addr", "add", &format!("{subnet}.2/30"), "dev", &peer])?;
        inside(&["link", "set", &peer, "up"])?;
        inside(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A TCP listener on the namespace's loopback (bound from a thread that entered it).
    fn listen(&self) -> std::net::TcpListener {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(path).unwrap();
            rustix::thread::move_into_link_name_space(
                file.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
            std::net::TcpListener::bind("127.0.0.1:0").unwrap()
        })
        .join()
        .unwrap()
    }

    /// `langmart gateway` inside the namespace.
    fn agent(&self, server: &str, token: &str, config: &Path, status: &Path) -> Child {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                env!("CARGO_BIN_EXE_langmart"),
                "gateway",
            ])
            .args(["--server", server, "--config"])
            .arg(config)
            .arg("--status-file")
            .arg(status)
            .env("LANGMART_GATEWAY_TOKEN", token)
            .env("GPU_BOX_KEY", "sk-gpu-box-secret-7f3a")
            .env("LANGMART_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn agent_id(status: &Path) -> Option<String> {
    let text = std::fs::read_to_string(status).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["agent_id"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn agents_in_a_namespace_serve_an_upstream_only_they_can_reach() {
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(why) => {
            let message = format!(
                "skipping the network-namespace gateway test: {why} (needs root and iproute2)"
            );
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{message}"
            );
            eprintln!("{message}");
            return;
        }
    };
    let Some(app) = crate::common::spawn_app_on(&ns.host_ip, |s| {
        s.gateway_grace = std::time::Duration::from_millis(300);
        s.gateway_heartbeat = std::time::Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (gateway_id, token) = create_gateway(&app, &key, json!({"name": "lab"})).await;
    let upstream = ChatMock::start_on("gpu-box", ns.listen()).await;
    // Only the namespace reaches it: from here (the server's side) nothing answers there.
    let direct = reqwest::Client::new()
        .get(format!("{}/models", upstream.base))
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    assert!(
        direct.is_err(),
        "the upstream must not be reachable from the server's network"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, config_for(&upstream.base)).unwrap();
    let server = app.base.clone();
    let status: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("agent{i}.json")))
        .collect();
    let mut agents = vec![
        ns.agent(&server, &token, &config, &status[0]),
        ns.agent(&server, &token, &config, &status[1]),
    ];
    eventually!(
        "two agents connected",
        gateway(&app, &key, &gateway_id).await["agents"]
            .as_array()
            .map_or(0, Vec::len)
            == 2
    );
    eventually!(
        "discovery through the agents",
        relayed(&app, &key)
            .await
            .first()
            .is_some_and(|c| c["model_count"].as_i64() > Some(0) && c["status"] == "active")
    );
    let conn_id = relayed(&app, &key).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let g = gateway(&app, &key, &gateway_id).await;
    assert!(g["agents"][0]["address"]
        .as_str()
        .unwrap()
        .starts_with(&ns.host_ip[..ns.host_ip.len() - 1]));

    // Whole with tools, streamed, embeddings.
    let mut body = chat("ollama/gpt-4o", false);
    body["tools"] = json!([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]);
    let res = post_chat(&app, &key, &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], conn_id.as_str());
    assert_eq!(
        upstream.last_body()["tools"][0]["function"]["name"],
        "lookup"
    );
    assert_eq!(upstream.last_auth(), "Bearer sk-gpu-box-secret-7f3a");
    let text = post_chat(&app, &key, &chat("ollama/gpt-4o", true))
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("data: [DONE]"), "{text}");
    let res = app
        .api(Method::POST, "/v1/embeddings", &key)
        .json(&json!({"model": "ollama/text-embedding-3-small", "input": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // One agent killed mid-stream: only its stream fails; the next requests use the other.
    upstream.pace(60, 25);
    let mut first = post_chat(&app, &key, &chat("ollama/gpt-4o", true)).await;
    let mut second = post_chat(&app, &key, &chat("ollama/gpt-4o", true)).await;
    assert!(first.chunk().await.unwrap().is_some());
    assert!(second.chunk().await.unwrap().is_some());
    let pool = app.state.outbound.relays().existing(&gateway_id).unwrap();
    let busy: Vec<String> = pool
        .agents()
        .iter()
        .filter(|a| a.in_flight() == 1)
        .map(|a| a.agent_id.clone())
        .collect();
    assert_eq!(busy.len(), 2, "one stream per agent");
    let victim = (0..2)
        .find(|&i| agent_id(&status[i]).as_deref() == Some(busy[0].as_str()))
        .unwrap();
    agents[victim].kill().await.unwrap();
    let outcomes = vec![read_all(first).await, read_all(second).await];
    assert_eq!(
        outcomes
            .iter()
            .filter(|t| t.contains("data: [DONE]"))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|t| t.contains("gateway agent disconnected"))
            .count(),
        1,
        "{outcomes:?}"
    );
    upstream.recover();
    for _ in 0..3 {
        let res = post_chat(&app, &key, &chat("ollama/gpt-4o", false)).await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    // Both gone: the documented 503, then a cloud connection takes over (fallback).
    let survivor = 1 - victim;
    agents[survivor].kill().await.unwrap();
    eventually!("the pool to empty", !pool.connected());
    let res = post_chat(&app, &key, &chat("ollama/gpt-4o", false)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "GATEWAY3_CONN_001");
    let cloud = ChatMock::start("cloud").await;
    let cloud_id = app
        .connection(&key, json!({"provider": "openai", "name": "cloud", "api_key": "sk-cloud-000001", "endpoint_url": cloud.base}))
        .await;
    let res = post_chat(&app, &key, &chat("gpt-4o", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], cloud_id.as_str());
    eventually!(
        "the relayed connection to turn error",
        app.get_json(&format!("/api/connections/{conn_id}"), &key)
            .await["status"]
            == "error"
    );

    // An agent reconnects: active again, and serving.
    agents.push(ns.agent(&server, &token, &config, &status[2]));
    eventually!(
        "automatic recovery",
        app.get_json(&format!("/api/connections/{conn_id}"), &key)
            .await["status"]
            == "active"
    );
    let res = post_chat(&app, &key, &chat("ollama/gpt-4o", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], conn_id.as_str());

    // The token revoked (replaced): the agent is dropped and refused, and says so.
    let res = app
        .api(
            Method::POST,
            &format!("/api/gateways/{gateway_id}/rotate"),
            &key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    eventually!("the agent to be dropped", !pool.connected());
    eventually!(
        "the agent to report the refusal",
        std::fs::read_to_string(&status[2])
            .unwrap_or_default()
            .contains("refused the token")
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_langmart"))
        .args(["gateway", "status", "--status-file"])
        .arg(&status[2])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("refused the token"), "{printed}");
    assert!(!printed.contains(&token));
    for mut agent in agents {
        let _ = agent.kill().await;
    }
}
