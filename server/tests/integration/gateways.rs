//! Self-hosted gateways (type 3): agents (`server::gateways::agent`, the code behind
//! `langmart gateway`) run in this process against a mock upstream and dial the server
//! over WebSocket; requests to the connections they announce travel over their links.
//! `gateways_netns.rs` runs the same story with the real binary in a network namespace.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test]: a failure must fail the test"
)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::chat_mock::ChatMock;
use crate::common::{error_code, TestApp};
use server::gateways::agent;

/// An agent running in this process; `kill` drops it like a crash (no goodbye).
pub struct Agent {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    pub status_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    pub fn kill(&self) {
        self.task.abort();
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
    }

    /// The agent id the server gave it (from its status file).
    pub fn agent_id(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.status_file).ok()?;
        let status: Value = serde_json::from_str(&text).ok()?;
        status["agent_id"].as_str().map(str::to_owned)
    }
}

/// The configuration of an agent reaching `upstream` as "gpu-box" (provider ollama).
pub fn config_for(upstream: &str) -> String {
    format!(
        "[[upstream]]\nname = \"gpu-box\"\nprovider = \"ollama\"\nurl = \"{upstream}\"\napi_key_env = \"GPU_BOX_KEY\"\n"
    )
}

#[expect(
    clippy::expect_used,
    reason = "test helper: an agent that cannot start fails the test"
)]
pub fn start_agent(server: &str, token: &str, config: &str) -> Agent {
    let dir = tempfile::tempdir().expect("temp dir");
    let status_file = dir.path().join("status.json");
    let config = agent::config::Config::parse(config, |var| {
        (var == "GPU_BOX_KEY").then(|| "sk-gpu-box-secret-7f3a".to_owned())
    })
    .expect("agent config");
    let options = agent::Options {
        server: url::Url::parse(server).expect("server url"),
        token: token.to_owned(),
        config,
        status_file: Some(status_file.clone()),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = agent::run(options, async {
            let _ = stopped.await;
        })
        .await;
    });
    Agent {
        stop: Some(stop),
        task,
        status_file,
        _dir: dir,
    }
}

/// Polls `check` every 20 ms until it holds (10 s at most).
#[macro_export]
macro_rules! eventually {
    ($what:expr, $check:expr) => {{
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if $check {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {}",
                $what
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }};
}

/// Creates a gateway as the owner of `key`; returns (id, token).
pub async fn create_gateway(app: &TestApp, key: &str, body: Value) -> (String, String) {
    let res = app
        .api(Method::POST, "/api/gateways", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert!(created["token"].as_str().unwrap().starts_with("lmg_"));
    (
        created["id"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap().to_owned(),
    )
}

pub async fn gateway(app: &TestApp, key: &str, id: &str) -> Value {
    let list = app.get_json("/api/gateways", key).await;
    list["gateways"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The type-3 connections the owner of `key` sees.
pub async fn relayed(app: &TestApp, key: &str) -> Vec<Value> {
    let listed = app.get_json("/api/connections?gateway_type=3", key).await;
    listed
        .as_array()
        .or_else(|| listed["connections"].as_array())
        .cloned()
        .unwrap_or_default()
}

async fn agents_connected(app: &TestApp, key: &str, id: &str) -> usize {
    gateway(app, key, id).await["agents"]
        .as_array()
        .map_or(0, Vec::len)
}

pub fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

/// `POST /v1/chat/completions` with `body` as the owner of `key`.
pub async fn post_chat(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.api(Method::POST, "/v1/chat/completions", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A response's whole body as text, however it ends (a stream cut off ends it early).
pub async fn read_all(mut res: reqwest::Response) -> String {
    let mut text = String::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

/// A user, their gateway, a mock upstream only the agents are told about, two agents, and
/// the gateway's connection with its models discovered.
struct Setup {
    app: TestApp,
    key: String,
    gateway: String,
    token: String,
    upstream: ChatMock,
    agents: Vec<Agent>,
    connection: Value,
}

async fn setup(agents: usize) -> Option<Setup> {
    let app = crate::common::spawn_app_with(|s| {
        s.gateway_grace = Duration::from_millis(200);
        s.gateway_heartbeat = Duration::from_secs(1);
    })
    .await?;
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (gateway, token) = create_gateway(&app, &key, json!({"name": "lab"})).await;
    let upstream = ChatMock::start("gpu-box").await;
    let agents: Vec<Agent> = (0..agents)
        .map(|_| start_agent(&app.base, &token, &config_for(&upstream.base)))
        .collect();
    eventually!(
        "the agents to connect",
        agents_connected(&app, &key, &gateway).await == agents.len()
    );
    eventually!(
        "discovery through the agents",
        relayed(&app, &key)
            .await
            .first()
            .is_some_and(|c| c["model_count"].as_i64() > Some(0) && c["status"] == "active")
    );
    let connection = relayed(&app, &key).await.remove(0);
    Some(Setup {
        app,
        key,
        gateway,
        token,
        upstream,
        agents,
        connection,
    })
}

#[tokio::test]
async fn whole_streamed_tools_and_embeddings_travel_through_the_agents() {
    let Some(s) = setup(2).await else { return };
    let (app, key) = (&s.app, &s.key);
    let conn_id = s.connection["id"].as_str().unwrap();
    assert_eq!(s.connection["gateway_type"], 3);
    assert_eq!(s.connection["gateway_id"], s.gateway.as_str());
    assert_eq!(s.connection["gateway_upstream"], "gpu-box");
    assert_eq!(s.connection["provider"]["key"], "ollama");
    assert_eq!(s.connection["credential_mask"], "held by the gateway agent");
    let g = gateway(app, key, &s.gateway).await;
    assert_eq!(g["status"], "connected");
    assert_eq!(g["agents"][0]["upstreams"], json!(["gpu-box"]));
    assert!(g["agents"][0]["address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));

    // Whole, with tools: the body reaches the upstream as sent, with the agent's key.
    let mut body = chat("ollama/gpt-4o", false);
    body["tools"] = json!([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]);
    let res = post_chat(app, key, &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], conn_id);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "hello from gpu-box"
    );
    assert_eq!(
        s.upstream.last_body()["tools"][0]["function"]["name"],
        "lookup"
    );
    assert_eq!(s.upstream.last_auth(), "Bearer sk-gpu-box-secret-7f3a");

    // Streamed: every chunk, then [DONE].
    let res = post_chat(app, key, &chat("gpt-4o", true)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], conn_id);
    let text = res.text().await.unwrap();
    assert!(text.contains("data: [DONE]"), "{text}");
    assert!(text.contains("\"content\""), "{text}");

    // Embeddings.
    let res = app
        .api(Method::POST, "/v1/embeddings", key)
        .json(&json!({"model": "ollama/text-embedding-3-small", "input": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert!(answer["data"][0]["embedding"].is_array(), "{answer}");

    // Its URL and key are the agent's: not editable here (a clear 400, nothing changed).
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/api/connections/{conn_id}"),
            json!({"endpoint_url": "https://elsewhere.example/v1"}),
        ),
        (
            Method::POST,
            format!("/api/connections/{conn_id}/update-key"),
            json!({"api_key": "sk-not-here-000001"}),
        ),
    ] {
        let res = app
            .api(method, &path, key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::BAD_REQUEST).await,
            "INVALID_FIELD",
            "{path}"
        );
    }
    let conn = app
        .get_json(&format!("/api/connections/{conn_id}"), key)
        .await;
    assert_eq!(conn["endpoint_url"], s.connection["endpoint_url"]);

    // Both agents served: requests spread over the pool.
    for _ in 0..4 {
        let res = post_chat(app, key, &chat("ollama/gpt-4o", false)).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let g = gateway(app, key, &s.gateway).await;
    for agent in g["agents"].as_array().unwrap() {
        assert!(agent["requests"].as_u64().unwrap() >= 2, "{g}");
    }

    // The request log names the relayed connection; the server never saw the key.
    let rows = app.log_rows(key, "?limit=50").await;
    assert!(
        rows.iter().all(|r| r["connection_id"] == conn_id),
        "{rows:?}"
    );
    let logs = crate::common::captured_logs();
    assert!(!logs.contains("sk-gpu-box-secret-7f3a"));
    assert!(!logs.contains(&s.token), "a gateway token was logged");
    let detail = app
        .get_json(&format!("/api/gateways/{}", s.gateway), key)
        .await;
    assert!(!detail.to_string().contains("sk-gpu-box-secret-7f3a"));
    assert!(!detail.to_string().contains(&s.token));
    assert_eq!(detail["events"][0]["kind"], "connected");
    assert!(detail["install_command"]
        .as_str()
        .unwrap()
        .contains("langmart gateway --server http://127.0.0.1:"));
    for agent in s.agents {
        agent.stop().await;
    }
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_upstream_call() {
    let Some(s) = setup(1).await else { return };
    s.upstream.pace(200, 20);
    let mut res = s
        .app
        .api(Method::POST, "/v1/chat/completions", &s.key)
        .json(&chat("ollama/gpt-4o", true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.chunk().await.unwrap().is_some());
    drop(res);
    eventually!(
        "the upstream stream to be dropped",
        s.upstream
            .stream_cancelled
            .load(std::sync::atomic::Ordering::SeqCst)
    );
}

#[tokio::test]
async fn an_agent_killed_mid_stream_fails_only_its_own_requests() {
    let Some(s) = setup(2).await else { return };
    let (app, key) = (&s.app, &s.key);
    s.upstream.pace(60, 25);
    let open = |n: usize| {
        let req = app
            .api(Method::POST, "/v1/chat/completions", key)
            .json(&chat("ollama/gpt-4o", true));
        async move { (n, req.send().await.unwrap()) }
    };
    let (_, mut first) = open(0).await;
    let (_, mut second) = open(1).await;
    assert!(first.chunk().await.unwrap().is_some());
    assert!(second.chunk().await.unwrap().is_some());
    // One stream on each agent: kill the first agent.
    let pool = app.state.outbound.relays().existing(&s.gateway).unwrap();
    let busy: Vec<String> = pool
        .agents()
        .iter()
        .filter(|a| a.in_flight() == 1)
        .map(|a| a.agent_id.clone())
        .collect();
    assert_eq!(busy.len(), 2, "one stream per agent");
    let victim = s
        .agents
        .iter()
        .find(|a| a.agent_id().as_deref() == Some(busy[0].as_str()))
        .unwrap();
    victim.kill();
    let outcomes = vec![read_all(first).await, read_all(second).await];
    let finished = outcomes
        .iter()
        .filter(|t| t.contains("data: [DONE]"))
        .count();
    let broken: Vec<&String> = outcomes
        .iter()
        .filter(|t| t.contains("\"error\""))
        .collect();
    assert_eq!(finished, 1, "{outcomes:?}");
    assert_eq!(broken.len(), 1, "{outcomes:?}");
    assert!(
        broken[0].contains("gateway agent disconnected"),
        "{}",
        broken[0]
    );
    // The next requests use the agent that is left.
    s.upstream.recover();
    eventually!(
        "the pool to shrink",
        agents_connected(app, key, &s.gateway).await == 1
    );
    for _ in 0..3 {
        let res = post_chat(app, key, &chat("ollama/gpt-4o", false)).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn no_agent_is_a_503_then_a_fallback_then_recovery() {
    let Some(s) = setup(2).await else { return };
    let (app, key) = (&s.app, &s.key);
    let conn_id = s.connection["id"].as_str().unwrap().to_owned();
    for agent in &s.agents {
        agent.kill();
    }
    eventually!(
        "the pool to empty",
        agents_connected(app, key, &s.gateway).await == 0
    );
    assert_eq!(
        gateway(app, key, &s.gateway).await["status"],
        "disconnected"
    );

    // Nothing else serves the model: the documented 503.
    let res = post_chat(app, key, &chat("ollama/gpt-4o", false)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "GATEWAY3_CONN_001");
    assert_eq!(body["error"]["type"], "service_unavailable");
    assert_eq!(body["error"]["status"], 503);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Gateway temporarily unavailable"));

    // After the grace, the connection is `error` with the reason.
    eventually!(
        "the connection to turn error",
        app.get_json(&format!("/api/connections/{conn_id}"), key)
            .await["status"]
            == "error"
    );
    let conn = app
        .get_json(&format!("/api/connections/{conn_id}"), key)
        .await;
    assert!(
        conn["last_error"]
            .as_str()
            .unwrap()
            .contains("Gateway temporarily unavailable"),
        "{conn}"
    );

    // A cloud connection serving the same model takes the traffic (allow_fallback).
    let cloud = ChatMock::start("cloud").await;
    let cloud_id = app
        .connection(
            key,
            json!({"provider": "openai", "name": "cloud", "api_key": "sk-cloud-000001", "endpoint_url": cloud.base}),
        )
        .await;
    let res = post_chat(app, key, &chat("gpt-4o", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], cloud_id.as_str());
    let explain = app.get_json("/api/routing/explain?model=gpt-4o", key).await;
    assert!(
        explain.to_string().contains("gateway disconnected"),
        "{explain}"
    );

    // An agent comes back: the connection is active again and serves.
    let back = start_agent(&app.base, &s.token, &config_for(&s.upstream.base));
    eventually!(
        "automatic recovery",
        app.get_json(&format!("/api/connections/{conn_id}"), key)
            .await["status"]
            == "active"
    );
    let res = post_chat(app, key, &chat("ollama/gpt-4o", false)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-langmart-connection"], conn_id.as_str());
    back.stop().await;
}

#[tokio::test]
async fn a_rotated_or_deleted_token_disconnects_its_agents_and_is_refused() {
    let Some(s) = setup(1).await else { return };
    let (app, key) = (&s.app, &s.key);
    let res = app
        .api(
            Method::POST,
            &format!("/api/gateways/{}/rotate", s.gateway),
            key,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rotated: Value = res.json().await.unwrap();
    let new_token = rotated["token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, s.token);
    eventually!(
        "the old agent to be dropped",
        agents_connected(app, key, &s.gateway).await == 0
    );
    // The old token is refused before any WebSocket is opened.
    let res = reqwest::Client::new()
        .get(app.url("/api/gateways/connect"))
        .header("authorization", format!("Bearer {}", s.token))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::UNAUTHORIZED).await,
        "GATEWAY1_AUTH_001"
    );
    // The agent keeps trying, and says why it cannot connect.
    eventually!(
        "the agent to report the refusal",
        std::fs::read_to_string(&s.agents[0].status_file)
            .unwrap_or_default()
            .contains("refused the token")
    );
    let status = agent::status::describe(&s.agents[0].status_file).unwrap();
    assert!(status.contains("refused the token"), "{status}");

    // The new token works; deleting the gateway drops it and its connections.
    let fresh = start_agent(&app.base, &new_token, &config_for(&s.upstream.base));
    eventually!(
        "the new agent",
        agents_connected(app, key, &s.gateway).await == 1
    );
    let res = app
        .api(Method::DELETE, &format!("/api/gateways/{}", s.gateway), key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let pool = app.state.outbound.relays().existing(&s.gateway).unwrap();
    eventually!("the agent to be disconnected", !pool.connected());
    assert!(relayed(app, key).await.is_empty());
    fresh.stop().await;
}

#[tokio::test]
async fn gateways_are_their_owners_alone_and_agents_reach_only_their_own() {
    let Some(s) = setup(1).await else { return };
    let (app, key) = (&s.app, &s.key);
    let (_, eve) = app.user_with_key("eve@example.com", "eve").await;
    // Eve neither sees Ada's gateway nor can manage or route to it.
    assert_eq!(gateway(app, &eve, &s.gateway).await, Value::Null);
    for (method, path) in [
        (Method::GET, format!("/api/gateways/{}", s.gateway)),
        (Method::DELETE, format!("/api/gateways/{}", s.gateway)),
        (Method::POST, format!("/api/gateways/{}/rotate", s.gateway)),
    ] {
        let res = app.api(method, &path, &eve).send().await.unwrap();
        assert_eq!(
            error_code(res, StatusCode::NOT_FOUND).await,
            "GATEWAY_NOT_FOUND"
        );
    }
    let res = post_chat(app, &eve, &chat("ada/ollama/gpt-4o", false)).await;
    assert!(res.status().is_client_error(), "{}", res.status());

    // Eve's own gateway with an upstream of the same name: her agent never gets Ada's calls.
    let (eve_gateway, eve_token) = create_gateway(app, &eve, json!({"name": "eve-lab"})).await;
    let eve_upstream = ChatMock::start("eve-box").await;
    let eve_agent = start_agent(&app.base, &eve_token, &config_for(&eve_upstream.base));
    eventually!(
        "Eve's agent",
        agents_connected(app, &eve, &eve_gateway).await == 1
    );
    let before = eve_upstream.calls();
    for _ in 0..3 {
        let res = post_chat(app, key, &chat("ollama/gpt-4o", false)).await;
        let answer: Value = res.json().await.unwrap();
        assert_eq!(
            answer["choices"][0]["message"]["content"],
            "hello from gpu-box"
        );
    }
    // Eve's agent's own discovery call aside, nothing of Ada's reached it.
    eventually!("Eve's discovery", relayed(app, &eve).await.len() == 1);
    assert!(eve_upstream.calls() <= before + 2);
    assert_eq!(relayed(app, key).await.len(), 1);
    eve_agent.stop().await;
}

#[tokio::test]
async fn a_link_that_breaks_the_protocol_is_closed() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let Some(app) = crate::common::spawn_app().await else {
        return;
    };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (_, token) = create_gateway(&app, &key, json!({"name": "lab"})).await;
    let connect = || async {
        let url = app.url("/api/gateways/connect").replace("http://", "ws://");
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await.unwrap().0
    };
    // Not a hello first; an unknown provider; a field that is not in the schema.
    for first in [
        json!({"type": "heartbeat", "in_flight": 0}),
        json!({"type": "hello", "protocol": 1, "version": "x", "upstreams": [{"name": "a", "provider": "no-such"}]}),
        json!({"type": "hello", "protocol": 1, "version": "x", "upstreams": [], "gateway_id": "gw_other"}),
        json!({"type": "hello", "protocol": 99, "version": "x", "upstreams": [{"name": "a", "provider": "ollama"}]}),
    ] {
        let mut ws = connect().await;
        ws.send(Message::Text(first.to_string().into()))
            .await
            .unwrap();
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1008, "{first}")
            }
            other => panic!("{first}: {other:?}"),
        }
    }
    // A message over the size limit ends the link.
    let mut ws = connect().await;
    ws.send(Message::Text(
        json!({"type": "hello", "protocol": 1, "version": "x", "upstreams": [{"name": "a", "provider": "ollama"}]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert!(matches!(ws.next().await, Some(Ok(Message::Text(_)))));
    let _ = ws
        .send(Message::Binary(vec![2u8; 1024 * 1024].into()))
        .await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "an oversized message must end the link");
}

#[tokio::test]
async fn an_idle_link_stays_up_on_heartbeats_and_pongs() {
    let Some(s) = setup(1).await else { return };
    // Three heartbeats' worth of silence from both sides (1 s each here): the server hears
    // the agent's heartbeats, the agent hears the server's pongs, and neither drops the link.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.agents[0].status_file).unwrap()).unwrap();
    assert_eq!(status["state"], "connected", "{status}");
    assert_eq!(status["connects"], 1, "{status}");
    assert!(status["last_error"].is_null(), "{status}");
    let g = gateway(&s.app, &s.key, &s.gateway).await;
    assert_eq!(g["agents"].as_array().map(Vec::len), Some(1));
}
