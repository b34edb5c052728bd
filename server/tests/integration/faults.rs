//! Fault injection through the real binary: each way an upstream can fail, whole and
//! streamed, with fallback on and off, against what the client gets, whether the backup
//! connection served, the request-log row and the failing connection's status. The table
//! is the README's ("Resilience"); a test holds the two together.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::time::Duration;

use reqwest::Client;
use serde_json::{json, Value};

use crate::binary::Binary;
use crate::chat_mock::ChatMock;

/// How the upstream misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Status(u16),
    RateLimited,
    ConnectRefused,
    ConnectTimeout,
    SlowFirstByte,
    ResetMidBody,
    Truncated,
    MalformedJson,
    Huge,
}

impl Fault {
    fn name(self) -> String {
        match self {
            Fault::Status(s) => s.to_string(),
            Fault::RateLimited => "429 + `Retry-After: 7`".into(),
            Fault::ConnectRefused => "connect refused".into(),
            Fault::ConnectTimeout => "connect timeout".into(),
            Fault::SlowFirstByte => "slow first byte (3 s, timeout 1 s)".into(),
            Fault::ResetMidBody => "reset mid-body".into(),
            Fault::Truncated => "truncated (JSON cut short / stream ends early)".into(),
            Fault::MalformedJson => "malformed JSON (an HTML page)".into(),
            Fault::Huge => "300 MB body".into(),
        }
    }
}

/// What one cell must show. `code` is the error code the client sees (in band for a
/// stream that had started); `row` the log row's status.
struct Expect {
    status: u16,
    code: Option<&'static str>,
    backup_served: bool,
    row: u16,
    connection: &'static str,
}

/// The table: (fault, stream, fallback) → expectation.
fn expected(fault: Fault, stream: bool, fallback: bool) -> Expect {
    use Fault::*;
    let failed = |status: u16, code: &'static str| Expect {
        status,
        code: Some(code),
        backup_served: false,
        row: status,
        connection: "active",
    };
    let mid_stream = |code: &'static str| Expect {
        status: 200,
        code: Some(code),
        backup_served: false,
        row: 502,
        connection: "active",
    };
    let connection = match fault {
        Status(401) => "error",
        RateLimited => "rate_limited",
        _ => "active",
    };
    match (fault, stream) {
        // Broken after the stream started: too late to fall back; told in band.
        (ResetMidBody | Truncated, true) => mid_stream("PROVIDER_OPENAI_STREAM_INTERRUPTED"),
        // Everything else fails before an answer: the backup serves when fallback is on.
        _ if fallback => Expect {
            status: 200,
            code: None,
            backup_served: true,
            row: 200,
            connection,
        },
        (Status(529), _) => failed(503, "PROVIDER_OPENAI_529"),
        (Status(s @ (401 | 403 | 404)), _) => Expect {
            connection,
            ..failed(s, code_for(s))
        },
        (Status(s), _) => failed(502, code_for(s)),
        (RateLimited, _) => Expect {
            connection,
            ..failed(429, "PROVIDER_OPENAI_429")
        },
        (ConnectRefused | ResetMidBody, _) => failed(502, "PROVIDER_OPENAI_UNREACHABLE"),
        (ConnectTimeout | SlowFirstByte, _) => failed(504, "GATEWAY_TIMEOUT_001"),
        (Truncated | MalformedJson, _) => failed(502, "PROVIDER_OPENAI_BAD_RESPONSE"),
        (Huge, _) => failed(502, "PROVIDER_OPENAI_TOO_LARGE"),
    }
}

fn code_for(status: u16) -> &'static str {
    match status {
        401 => "PROVIDER_OPENAI_401",
        500 => "PROVIDER_OPENAI_500",
        502 => "PROVIDER_OPENAI_502",
        503 => "PROVIDER_OPENAI_503",
        _ => "PROVIDER_OPENAI_OTHER",
    }
}

const FAULTS: &[Fault] = &[
    Fault::Status(500),
    Fault::Status(502),
    Fault::Status(503),
    Fault::Status(529),
    Fault::RateLimited,
    Fault::Status(401),
    Fault::ConnectRefused,
    Fault::ConnectTimeout,
    Fault::SlowFirstByte,
    Fault::ResetMidBody,
    Fault::Truncated,
    Fault::MalformedJson,
    Fault::Huge,
];

/// The table as the README prints it.
fn markdown() -> String {
    let mut out = String::from(
        "| upstream | request | fallback off: client gets | fallback on | log row | connection after |\n\
         |---|---|---|---|---|---|\n",
    );
    for &fault in FAULTS {
        for stream in [false, true] {
            let off = expected(fault, stream, false);
            let on = expected(fault, stream, true);
            let show = |e: &Expect| {
                let code = e.code.map(|c| format!(" `{c}`")).unwrap_or_default();
                let code = if e.status == 200 && e.code.is_some() {
                    format!("200, then{code} in band")
                } else {
                    format!("{}{code}", e.status)
                };
                if e.backup_served {
                    format!("{code}, served by the backup")
                } else {
                    code
                }
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} / {} | {} |\n",
                fault.name(),
                if stream { "stream" } else { "whole" },
                show(&off),
                show(&on),
                off.row,
                on.row,
                off.connection,
            ));
        }
    }
    out
}

#[test]
fn the_readme_prints_the_fault_table() {
    let readme = include_str!("../../../README.md");
    let table = markdown();
    assert!(
        readme.contains(&table),
        "README's fault table differs; it should read:\n{table}"
    );
}

/// A port nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1")
}

/// A listener whose accept queue is full and never drained: a connection attempt to it
/// gets no answer (its SYN is dropped), as with a firewalled host.
async fn black_hole() -> (String, Vec<tokio::net::TcpStream>, tokio::net::TcpListener) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    (format!("http://{addr}/v1"), fillers, listener)
}

struct Gateway {
    bin: Binary,
    key: String,
    http: Client,
}

impl Gateway {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, self.bin.url(path))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        res.json().await.unwrap_or(Value::Null)
    }

    async fn connect(
        &self,
        name: &str,
        endpoint: &str,
        prefer: i64,
        fallback: bool,
        timeout_ms: u64,
    ) -> String {
        let created = self
            .call(
                reqwest::Method::POST,
                "/api/connections",
                Some(
                    json!({"provider": "openai", "name": name, "api_key": "sk-upstream-0001",
                            "endpoint_url": endpoint, "timeout_ms": timeout_ms, "max_retries": 0,
                            "allow_fallback": fallback, "prefer_score": prefer}),
                ),
            )
            .await;
        created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_owned()
    }

    async fn status_of(&self, id: &str) -> String {
        let c = self
            .call(
                reqwest::Method::GET,
                &format!("/api/connections/{id}"),
                None,
            )
            .await;
        c["status"].as_str().unwrap_or_default().to_owned()
    }

    /// The row of the request sent with `x-request-id: request_id`, once written.
    async fn row_of(&self, request_id: &str) -> Value {
        let rows = self
            .call(reqwest::Method::GET, "/api/logs?limit=5", None)
            .await;
        rows["logs"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["request_id"] == request_id))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// What the client saw: status, error code (from the body or in band), who served.
async fn observe(res: reqwest::Response) -> (u16, Option<String>, Option<String>) {
    let status = res.status().as_u16();
    let served = res
        .headers()
        .get("x-langmart-connection")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap_or_default();
    let code = if status == 200 {
        text.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find_map(|v| v["error"]["code"].as_str().map(str::to_owned))
    } else {
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
    };
    (status, code, served)
}

#[tokio::test]
async fn every_upstream_fault_gets_the_answer_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let key = Binary::account(dir.path(), "ops@example.com");
    // The log is written every 20 ms here, so each cell's row is there when looked for.
    let bin = Binary::serve(dir.path(), &["--log-flush-ms", "20"]);
    let gw = Gateway {
        bin,
        key,
        http: Client::new(),
    };
    let healthy = ChatMock::start("backup").await;
    let refused = closed_port().await;
    let (hole, _fillers, _listener) = black_hole().await;
    let mut failures = Vec::new();
    let mut n = 0;
    for &fault in FAULTS {
        for stream in [false, true] {
            for fallback in [false, true] {
                let mock = ChatMock::start("faulty").await;
                let endpoint = match fault {
                    Fault::ConnectRefused => refused.clone(),
                    Fault::ConnectTimeout => hole.clone(),
                    _ => mock.base.clone(),
                };
                match fault {
                    Fault::Status(s) => mock.fail(s, None),
                    Fault::RateLimited => mock.fail(429, Some(7)),
                    Fault::SlowFirstByte => mock.delay(3_000),
                    Fault::ResetMidBody => mock.cut(),
                    Fault::Truncated => mock.end_early(),
                    Fault::MalformedJson => mock.garbage(),
                    Fault::Huge => mock.huge(300 * 1024 * 1024),
                    Fault::ConnectRefused | Fault::ConnectTimeout => {}
                }
                // Reading 4 MiB of one event to its cap takes a debug build on a busy machine
                // more than the 1 s the other cells' timeouts allow for a stream's start.
                let timeout_ms = if fault == Fault::Huge { 20_000 } else { 1_000 };
                let faulty = gw
                    .connect("faulty", &endpoint, 100, fallback, timeout_ms)
                    .await;
                let backup = gw.connect("backup", &healthy.base, 0, true, 1_000).await;
                n += 1;
                let request_id = format!("fault-cell-{n}");
                let res = gw
                    .http
                    .post(gw.bin.url("/v1/chat/completions"))
                    .bearer_auth(&gw.key)
                    .header("x-request-id", &request_id)
                    .json(&json!({"model": "openai/gpt-4o", "stream": stream,
                                  "messages": [{"role": "user", "content": "hi"}]}))
                    .send()
                    .await
                    .unwrap();
                let retry_after = res
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                let (status, code, served) = observe(res).await;
                let want = expected(fault, stream, fallback);
                let cell = format!(
                    "{} / {} / fallback {}",
                    fault.name(),
                    if stream { "stream" } else { "whole" },
                    if fallback { "on" } else { "off" }
                );
                let mut check = |what: &str, ok: bool, got: String| {
                    if !ok {
                        failures.push(format!("{cell}: {what} was {got}"));
                    }
                };
                check("the status", status == want.status, status.to_string());
                check(
                    "the code",
                    code.as_deref() == want.code,
                    format!("{code:?}"),
                );
                check(
                    "who served",
                    (served.as_deref() == Some(backup.as_str())) == want.backup_served,
                    format!("{served:?}"),
                );
                if fault == Fault::RateLimited && !fallback {
                    check(
                        "Retry-After",
                        retry_after.as_deref() == Some("7"),
                        format!("{retry_after:?}"),
                    );
                }
                // The row (the writer flushes every 20 ms) and the status (set in the
                // background): looked for until they match, for a while.
                let mut row = Value::Null;
                let mut conn = String::new();
                for _ in 0..100 {
                    row = gw.row_of(&request_id).await;
                    conn = gw.status_of(&faulty).await;
                    if row["status"] == want.row && conn == want.connection {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
                check(
                    "the row's status",
                    row["status"] == want.row,
                    row.to_string(),
                );
                check(
                    "the row's code",
                    row["error_code"].as_str() == want.code.filter(|_| want.row != 200),
                    row.to_string(),
                );
                check(
                    "the attempts in the row",
                    row["attempts"].as_array().map(Vec::len)
                        == Some(if want.backup_served { 2 } else { 1 }),
                    row["attempts"].to_string(),
                );
                check(
                    "the connection's status",
                    conn == want.connection,
                    conn.clone(),
                );
                for id in [&faulty, &backup] {
                    gw.http
                        .delete(gw.bin.url(&format!("/api/connections/{id}")))
                        .bearer_auth(&gw.key)
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
