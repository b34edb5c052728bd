//! `spawn_app()`: the real server on 127.0.0.1:0 with a fresh database, for one test.
//!
//! SQLite (a temporary file) by default. With `LANGMART_TEST_DATABASE=postgres` each app
//! gets its own database on `LANGMART_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the app is dropped; when
//! that server is unreachable the test says so and is skipped.

// Each test crate uses a different part of this harness.
#![allow(dead_code)]
#![expect(
    clippy::expect_used,
    reason = "test harness: a failed setup must fail the test"
)]

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use reqwest::{header, Client, Response, StatusCode};
use serde_json::Value;
use server::{config::Settings, state::AppState};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::oneshot;

/// Every log line of every server in this test process, so tests can search it.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct CapturedLogs;

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(
        &LOGS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned()
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub data_dir: PathBuf,
    /// A browser-like client: keeps cookies, never follows redirects.
    pub browser: Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: Arc<tempfile::TempDir>,
    pg: Option<Arc<PgDatabase>>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async; a short-lived runtime on its own thread drops the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                        let _ = conn
                            .execute(
                                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// Whether these tests run on PostgreSQL (`LANGMART_TEST_DATABASE=postgres`).
pub fn on_postgres() -> bool {
    wants_postgres()
}

fn wants_postgres() -> bool {
    std::env::var("LANGMART_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

async fn create_pg_database() -> Option<(String, PgDatabase)> {
    let admin_url = std::env::var("LANGMART_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match PgConnection::connect(&admin_url).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL requested but unreachable at {admin_url}: {e}");
            return None;
        }
    };
    let name = format!(
        "langmart_test_{}",
        server::ids::random_base62(12).to_lowercase()
    );
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    Some((format!("{base}/{name}"), PgDatabase { admin_url, name }))
}

/// Starts LangMart; `None` only when PostgreSQL was requested and is not there.
pub async fn spawn_app() -> Option<TestApp> {
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with settings changed by `tweak` first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    spawn_app_on("127.0.0.1", tweak).await
}

/// `spawn_app_with`, listening on `ip` (e.g. a veth address a network namespace reaches).
pub async fn spawn_app_on(ip: &str, tweak: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,sqlx=warn,hyper=info,h2=info,rustls=info",
        ))
        .with_ansi(false)
        .with_writer(|| CapturedLogs)
        .try_init();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings::new(dir.path().to_path_buf());
    settings.site_root = Some(dir.path().join("site"));
    let pg = if wants_postgres() {
        let (url, pg) = create_pg_database().await?;
        settings.database_url = Some(url);
        Some(pg)
    } else {
        None
    };
    settings.health_check_interval = std::time::Duration::ZERO;
    // The mock providers listen on loopback; the outbound policy's own tests turn this off.
    settings.allow_private_endpoints = true;
    // Most tests sign people up freely; the sign-up policy's own tests choose theirs.
    settings.signup = app::dto::SignupPolicy::Open;
    // Tests test connections back to back; the pace's own test sets it.
    settings.manual_test_interval = std::time::Duration::ZERO;
    tweak(&mut settings);
    let path = dir.path().to_path_buf();
    Some(start(ip, settings, Arc::new(dir), pg.map(Arc::new), path, None).await)
}

async fn start(
    ip: &str,
    mut settings: Settings,
    dir: Arc<tempfile::TempDir>,
    pg: Option<Arc<PgDatabase>>,
    data_dir: PathBuf,
    browser: Option<Client>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    settings.addr = addr;
    let state = server::open_state(settings).await.expect("open state");
    let (tx, rx) = oneshot::channel::<()>();
    let serve_state = state.clone();
    let server = tokio::spawn(async move {
        server::serve(serve_state, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("server");
    });
    let browser = browser.unwrap_or_else(self::browser);
    TestApp {
        base: format!("http://{addr}"),
        data_dir,
        state,
        browser,
        shutdown: Some(tx),
        server: Some(server),
        _dir: dir,
        pg,
    }
}

impl TestApp {
    /// A second server on the same database and data directory, sharing this app's
    /// browser (and so its cookies), as a replica behind a load balancer would.
    pub async fn replica(&self) -> Option<TestApp> {
        let settings = (*self.state.settings).clone();
        Some(
            start(
                "127.0.0.1",
                settings,
                self._dir.clone(),
                self.pg.clone(),
                self.data_dir.clone(),
                Some(self.browser.clone()),
            )
            .await,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and waits for it to finish in-flight requests.
    pub async fn stop(mut self) {
        self.stop_serving().await;
    }

    /// As [`TestApp::stop`], keeping the database (and the state) for a look afterwards.
    pub async fn stop_serving(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            let _ = handle.await;
        }
    }

    /// Calls a server function as the console page does: a form post from this origin.
    pub async fn call_fn(&self, name: &str, form: &[(&str, &str)]) -> Response {
        self.browser
            .post(self.url(&format!("/api/fn/{name}")))
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, &self.base)
            .form(form)
            .send()
            .await
            .expect("server fn request")
    }

    /// Signs up through the console (the browser client keeps the session cookie). On a
    /// fresh install it gives the setup token, as the operator reading the log would.
    pub async fn signup(&self, email: &str, handle: &str) -> Value {
        let token = self
            .state
            .signup
            .issue_setup_token()
            .await
            .expect("setup token")
            .unwrap_or_default();
        let res = self
            .call_fn(
                "signup",
                &[
                    ("email", email),
                    ("password", "correct horse battery"),
                    ("handle", handle),
                    ("setup_token", &token),
                ],
            )
            .await;
        let status = res.status();
        let body: Value = res.json().await.expect("user json");
        assert_eq!(status, StatusCode::OK, "signup failed: {body}");
        body
    }

    /// Creates an account and a key through the service layer; returns (user id, key).
    pub async fn user_with_key(&self, email: &str, handle: &str) -> (String, String) {
        let user = self
            .state
            .accounts
            .create(server::auth::NewAccount {
                email: email.into(),
                password: "correct horse battery".into(),
                handle: handle.into(),
                admin: false,
            })
            .await
            .expect("create user");
        let key = self
            .state
            .keys
            .create(
                &user.id,
                None,
                server::auth::KeyRequest {
                    name: "test".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("create key");
        (user.id, key.key)
    }

    /// Invites `email` to the organization `org` as `role` (with `admin_key`) and accepts
    /// the invitation as its owner (`member_key`): membership needs both.
    pub async fn join_org(
        &self,
        admin_key: &str,
        org: &str,
        member_key: &str,
        email: &str,
        role: &str,
    ) {
        let res = self
            .api(
                reqwest::Method::POST,
                &format!("/api/organizations/{org}/members"),
                admin_key,
            )
            .json(&serde_json::json!({"email": email, "role": role}))
            .send()
            .await
            .expect("invite");
        assert_eq!(res.status(), StatusCode::CREATED, "invite {email} to {org}");
        let open: Value = self
            .api(reqwest::Method::GET, "/api/invitations", member_key)
            .send()
            .await
            .expect("invitations")
            .json()
            .await
            .expect("a JSON answer");
        let id = open["invitations"]
            .as_array()
            .and_then(|list| list.iter().find(|i| i["organization"] == org))
            .and_then(|i| i["id"].as_str())
            .unwrap_or_else(|| panic!("no invitation to {org} in {open}"))
            .to_owned();
        let res = self
            .api(
                reqwest::Method::POST,
                &format!("/api/invitations/{id}/accept"),
                member_key,
            )
            .send()
            .await
            .expect("accept");
        assert_eq!(res.status(), StatusCode::OK, "accept {id}");
    }

    /// Creates a connection from `body` as the owner of `key`, tests it (so it is active)
    /// and discovers its models; returns its id.
    pub async fn connection(&self, key: &str, body: Value) -> String {
        let created: Value = self
            .api(reqwest::Method::POST, "/api/connections", key)
            .json(&body)
            .send()
            .await
            .expect("create a connection")
            .json()
            .await
            .expect("a JSON answer");
        let id = created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"))
            .to_owned();
        for step in ["test", "discover"] {
            let res = self
                .api(
                    reqwest::Method::POST,
                    &format!("/api/connections/{id}/{step}"),
                    key,
                )
                .send()
                .await
                .expect("a connection step");
            assert!(res.status().is_success(), "{step} {body}: {}", res.status());
        }
        id
    }

    /// The request-log rows the owner of `key` sees (`query`, e.g. `?limit=50`), after
    /// everything queued so far was written.
    pub async fn log_rows(&self, key: &str, query: &str) -> Vec<Value> {
        self.state.request_log.flush().await;
        let body: Value = self
            .api(reqwest::Method::GET, &format!("/api/logs{query}"), key)
            .send()
            .await
            .expect("list the request log")
            .json()
            .await
            .expect("a JSON answer");
        body["logs"].as_array().cloned().unwrap_or_default()
    }

    /// A key made with `maker` through `POST /api/keys`, with `fields` (a policy) in the
    /// body; returns (key, id).
    pub async fn key_with(&self, maker: &str, fields: Value) -> (String, String) {
        let mut body = serde_json::json!({"name": "limited"});
        if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
            b.extend(f.clone());
        }
        let res = self
            .api(reqwest::Method::POST, "/api/keys", maker)
            .json(&body)
            .send()
            .await
            .expect("create a key");
        let status = res.status();
        let created: Value = res.json().await.expect("a JSON answer");
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
        (text(&created["key"]), text(&created["api_key"]["id"]))
    }

    /// `GET path` with `key`, read as JSON.
    pub async fn get_json(&self, path: &str, key: &str) -> Value {
        self.api(reqwest::Method::GET, path, key)
            .send()
            .await
            .expect("a GET")
            .json()
            .await
            .expect("a JSON answer")
    }

    pub fn api(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        Client::new()
            .request(method, self.url(path))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
    }
}

/// Reads an error envelope and checks its shape; returns the code.
/// A browser-like client: keeps cookies, never follows redirects.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn error_code(res: Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.expect("error body is JSON");
    let err = &body["error"];
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
    assert!(err["type"].as_str().is_some(), "type in {body}");
    assert_eq!(err["status"].as_u64(), Some(u64::from(status.as_u16())));
    err["code"].as_str().expect("code").to_owned()
}

/// Reads a failed server function's `AppError` after checking the status.
pub async fn fn_error(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    res.json().await.expect("error json")
}
