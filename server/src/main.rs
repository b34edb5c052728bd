//! The `langmart` command: serve the gateway, or manage users and keys from a shell.

// Leptos view types nest deeply; the default limit is too low for the larger pages.
#![recursion_limit = "256"]

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Args, CommandFactory, Parser, Subcommand};

use app::dto::{KeyScope, SignupPolicy};
use server::{auth::NewAccount, config::Settings, error::ApiError, StartupError};

/// mimalloc (without transparent huge pages): the request path allocates many small,
/// short-lived buffers from two worker threads. The benchmark measured 26% more requests a
/// second than with glibc's malloc at the same RSS; with huge pages it held 65 MB more at
/// 2,000 open streams (bench/RESULTS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "langmart",
    version,
    about = "LangMart: a self-hosted LLM gateway with a web console"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the console and the APIs.
    Serve(Box<ServeArgs>),
    /// Create the database (if needed) and apply migrations, then exit.
    Migrate(StoreArgs),
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Make a new master key current and re-seal every stored credential under it.
    /// Running servers keep working: old keys stay readable and they re-read the key file.
    RotateMasterKey(StoreArgs),
    /// Manage LangMart API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Recount the dashboard's hourly totals from the request log, for rows written to the
    /// database by other means (an import, a restore). On PostgreSQL, with the servers
    /// stopped: rows written meanwhile could be counted twice.
    RebuildRollups(StoreArgs),
    /// The settings file (`--config langmart.toml`).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Run a self-hosted gateway agent next to private models: it dials the server, announces
    /// the upstreams in its configuration and relays the server's requests to them. Their
    /// URLs and keys stay here. `langmart gateway status` shows a running agent's link.
    Gateway(GatewayArgs),
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct GatewayArgs {
    #[command(subcommand)]
    command: Option<GatewayCommand>,
    /// The LangMart server's URL (`https://langmart.example`; `http://` only for local tests).
    #[arg(long, env = "LANGMART_GATEWAY_SERVER")]
    server: Option<String>,
    /// The gateway's token (shown once when the gateway was created).
    #[arg(long, env = "LANGMART_GATEWAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    files: GatewayFiles,
}

#[derive(Args, Clone)]
struct GatewayFiles {
    /// The agent's upstreams (TOML; see the README's "Self-hosted gateways").
    #[arg(long, env = "LANGMART_GATEWAY_CONFIG", default_value = "gateway.toml")]
    config: PathBuf,
    /// Where the agent writes its link state (default: next to the configuration).
    #[arg(long)]
    status_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum GatewayCommand {
    /// Print a running agent's link state and last error.
    Status(GatewayFiles),
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Directory for the SQLite database and the master key.
    #[arg(long, env = "LANGMART_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `<data-dir>/langmart.db`.
    #[arg(long, env = "LANGMART_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the settings `serve` would run with (the same flags, environment and
    /// `--config` file), as a config file holds them; secrets redacted.
    Print(Box<ServeArgs>),
}

#[derive(Args)]
struct ServeArgs {
    /// A TOML file holding any of these settings, keyed like the long flags in snake_case
    /// (`database_url = "postgres://…"`); flags and LANGMART_* variables override it.
    #[arg(long, env = "LANGMART_CONFIG")]
    config: Option<PathBuf>,
    #[arg(long, env = "LANGMART_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
    /// Directory of the built console (`pkg/`, CSS); found beside the binary when unset.
    #[arg(long, env = "LANGMART_SITE_ROOT")]
    site_root: Option<PathBuf>,
    /// Mark the session cookie Secure (set this when served over https).
    #[arg(long, env = "LANGMART_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Seconds between background tests of each connection (0 turns them off).
    #[arg(
        long,
        env = "LANGMART_HEALTH_CHECK_INTERVAL_SECS",
        default_value_t = 600
    )]
    health_check_interval_secs: u64,
    /// Least seconds between manual tests (or discoveries) of one connection by one user.
    #[arg(long, env = "LANGMART_MANUAL_TEST_INTERVAL_SECS", default_value_t = 5)]
    manual_test_interval_secs: u64,
    /// Seconds between a gateway agent's heartbeats (told to the agent; three missed end its link).
    #[arg(long, env = "LANGMART_GATEWAY_HEARTBEAT_SECS", default_value_t = 10)]
    gateway_heartbeat_secs: u64,
    /// Seconds a gateway may have no agent connected before its connections turn `error`.
    #[arg(long, env = "LANGMART_GATEWAY_GRACE_SECS", default_value_t = 30)]
    gateway_grace_secs: u64,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "LANGMART_MAX_BODY_BYTES", default_value_t = server::config::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Days a stored Responses API answer (`store: true`) is kept.
    #[arg(long, env = "LANGMART_RESPONSES_RETENTION_DAYS", default_value_t = 30)]
    responses_retention_days: u64,
    /// Let every connection reach loopback, private and other non-public addresses (a
    /// single-user install beside a local Ollama; never on an instance others can use).
    #[arg(long, env = "LANGMART_ALLOW_PRIVATE_ENDPOINTS")]
    allow_private_endpoints: bool,
    /// Who may create an account in the console: `open` (anyone), `invite` (with an
    /// admin's single-use invite link) or `closed` (only `langmart user create`).
    #[arg(long, env = "LANGMART_SIGNUP", default_value = "invite", value_parser = parse_signup)]
    signup: SignupPolicy,
    /// Behind a reverse proxy: take the client's address from the last `X-Forwarded-For`
    /// entry (log-in throttling is per address). Only with a proxy that sets it.
    #[arg(long, env = "LANGMART_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Redis shared by every replica (`redis://…`): rate limits, quotas, budgets,
    /// round-robin positions and health-check leases are counted once across them.
    #[arg(long, env = "LANGMART_REDIS_URL")]
    redis_url: Option<String>,
    /// While Redis does not answer: `open` serves on with each replica's own limits,
    /// `closed` refuses requests that need them (503 `SHARED_STATE_UNAVAILABLE`).
    #[arg(long, env = "LANGMART_REDIS_FAILURE", default_value = "open", value_parser = parse_redis_failure)]
    redis_failure: server::cluster::FailurePolicy,
    /// Prefix of every Redis key (several deployments can share one Redis).
    #[arg(long, env = "LANGMART_REDIS_PREFIX", default_value = "langmart:")]
    redis_prefix: String,
    /// Serve `/metrics` (Prometheus text) on a listener of its own, e.g. 127.0.0.1:9464.
    #[arg(long, env = "LANGMART_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Serve `/metrics` on the main listener to requests with this bearer token.
    #[arg(long, env = "LANGMART_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Export traces (OpenTelemetry spans: request, routing, attempts, streams) over
    /// OTLP/HTTP to this collector, e.g. http://127.0.0.1:4318; off when unset.
    #[arg(long, env = "LANGMART_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

fn parse_redis_failure(text: &str) -> Result<server::cluster::FailurePolicy, String> {
    server::cluster::FailurePolicy::parse(text)
        .ok_or_else(|| format!("expected `open` or `closed`, got `{text}`"))
}

/// Bounds on peers, answers, shutdown and the request log (README: Resilience).
#[derive(Args)]
struct LimitArgs {
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    #[arg(long, env = "LANGMART_HEADER_READ_TIMEOUT_SECS", default_value_t = 15)]
    header_read_timeout_secs: u64,
    /// Longest pause, in seconds, while a request body arrives (408 beyond it).
    #[arg(long, env = "LANGMART_BODY_READ_TIMEOUT_SECS", default_value_t = 30)]
    body_read_timeout_secs: u64,
    /// Open client connections at most; more wait to be accepted.
    #[arg(long, env = "LANGMART_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,
    /// `/v1` requests in progress at most (a stream counts until it ends); more get a fast
    /// 503 OVERLOADED with Retry-After.
    #[arg(
        long,
        env = "LANGMART_MAX_CONCURRENT_REQUESTS",
        default_value_t = 4_096
    )]
    max_concurrent_requests: usize,
    /// On SIGTERM, seconds in-flight requests get to finish; then open streams end with
    /// a final error event and the process exits.
    #[arg(long, env = "LANGMART_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// Largest whole answer read from a provider, in bytes (502 beyond it).
    #[arg(long, env = "LANGMART_MAX_UPSTREAM_BODY_BYTES", default_value_t = server::config::DEFAULT_MAX_UPSTREAM_BODY_BYTES)]
    max_upstream_body_bytes: usize,
    /// Largest single event in a provider's stream, in bytes (the stream ends with an
    /// error beyond it).
    #[arg(long, env = "LANGMART_MAX_UPSTREAM_EVENT_BYTES", default_value_t = server::config::DEFAULT_MAX_UPSTREAM_EVENT_BYTES)]
    max_upstream_event_bytes: usize,
    /// Milliseconds request-log rows gather before they are written: the most a crash
    /// (SIGKILL, power loss) can lose.
    #[arg(long, env = "LANGMART_LOG_FLUSH_MS", default_value_t = 200)]
    log_flush_ms: u64,
    /// Megabytes of free space under the data directory below which `/health` and the
    /// console warn that the disk is nearly full (default: 1024, or 5% of a small disk).
    #[arg(long, env = "LANGMART_MIN_FREE_DISK_MB")]
    min_free_disk_mb: Option<u64>,
    /// Days request-log rows are kept (0 keeps them all); older ones are pruned in the
    /// background.
    #[arg(long, env = "LANGMART_LOG_RETENTION_DAYS", default_value_t = 30)]
    log_retention_days: u64,
}

impl LimitArgs {
    fn apply(&self, settings: &mut Settings) {
        use std::time::Duration;
        settings.limits = server::config::ServerLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs.max(1)),
            max_connections: self.max_connections,
            max_concurrent_requests: self.max_concurrent_requests,
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        };
        settings.max_upstream_body_bytes = self.max_upstream_body_bytes;
        settings.max_upstream_event_bytes = self.max_upstream_event_bytes;
        settings.log_flush_interval = Duration::from_millis(self.log_flush_ms.max(1));
        settings.min_free_disk_bytes = self
            .min_free_disk_mb
            .map(|mb| mb.saturating_mul(1024 * 1024));
        settings.log_retention =
            Duration::from_secs(self.log_retention_days.saturating_mul(86_400));
    }
}

fn parse_signup(text: &str) -> Result<SignupPolicy, String> {
    SignupPolicy::parse(text.trim())
        .ok_or_else(|| format!("unknown policy '{text}' (open, invite, closed)"))
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (the first account is always a platform admin).
    Create {
        #[arg(long)]
        email: String,
        /// The password on the command line (visible to other users in the process list:
        /// prefer --password-stdin, or no flag at all to be asked for it).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        handle: String,
        /// Make the account a platform admin.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an API key for a user and print it (alone) on stdout.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Scopes, comma-separated: `inference` (call /v1), `manage` (call /api).
        #[arg(long, value_delimiter = ',', default_value = "inference,manage", value_parser = parse_scope)]
        scopes: Vec<KeyScope>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn parse_scope(text: &str) -> Result<KeyScope, String> {
    KeyScope::parse(text.trim())
        .ok_or_else(|| format!("unknown scope '{text}' (inference, manage)"))
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("{}", .0.public_message())]
    Api(#[from] ApiError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Gateway(String),
}

fn settings_for(store: &StoreArgs) -> Settings {
    let mut settings = Settings::new(store.data_dir.clone());
    settings.database_url = store.database_url.clone();
    settings.master_key_previous = std::env::var("LANGMART_MASTER_KEY_PREVIOUS")
        .ok()
        .filter(|k| !k.is_empty());
    settings.master_key = std::env::var("LANGMART_MASTER_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    settings
}

#[tokio::main]
async fn main() -> ExitCode {
    let typed: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv = match server::config_file::with_file(&Cli::command(), typed.clone()) {
        Ok(argv) => argv,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(&argv);
    if let Command::Config {
        command: ConfigCommand::Print(_),
    } = &cli.command
    {
        let text = server::config_file::print(&Cli::command(), &typed, &argv);
        return match std::io::stdout().write_all(text.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let otlp_endpoint = match &cli.command {
        Command::Serve(args) => args.otlp_endpoint.clone().filter(|e| !e.is_empty()),
        _ => None,
    };
    // Logs (`LANGMART_LOG`, `LANGMART_LOG_FORMAT=json`) and, when asked, traces.
    let telemetry = match server::telemetry::init(otlp_endpoint.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Gateway(args) => gateway(args).await?,
        // Answered in `main`, before anything starts.
        Command::Config { .. } => {}
        Command::Serve(args) => {
            let mut settings = settings_for(&args.store);
            settings.addr = args.addr;
            settings.site_root = args.site_root;
            settings.secure_cookies = args.secure_cookies;
            settings.max_body_bytes = args.max_body_bytes;
            settings.health_check_interval =
                std::time::Duration::from_secs(args.health_check_interval_secs);
            settings.manual_test_interval =
                std::time::Duration::from_secs(args.manual_test_interval_secs);
            settings.gateway_heartbeat =
                std::time::Duration::from_secs(args.gateway_heartbeat_secs.max(1));
            settings.gateway_grace = std::time::Duration::from_secs(args.gateway_grace_secs);
            settings.responses_retention = std::time::Duration::from_secs(
                args.responses_retention_days.saturating_mul(86_400),
            );
            settings.allow_private_endpoints = args.allow_private_endpoints;
            settings.signup = args.signup;
            settings.trust_forwarded_for = args.trust_forwarded_for;
            settings.redis_url = args.redis_url.filter(|u| !u.is_empty());
            settings.redis_failure = args.redis_failure;
            settings.redis_prefix = args.redis_prefix;
            settings.metrics_addr = args.metrics_addr;
            settings.metrics_token = args.metrics_token.filter(|t| !t.is_empty());
            args.limits.apply(&mut settings);
            if args.allow_private_endpoints {
                tracing::warn!("--allow-private-endpoints: every user's connections may reach this machine's and its network's private addresses");
            }
            tracing::info!(?settings, "starting LangMart");
            let state = server::open_state(settings).await?;
            let listener = tokio::net::TcpListener::bind(args.addr).await?;
            tracing::info!(addr = %listener.local_addr()?, "listening; console at http://{}", listener.local_addr()?);
            server::serve(state, listener, shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::RotateMasterKey(store) => {
            let state = server::open_state(settings_for(&store)).await?;
            let from_env = state.settings.master_key.is_some();
            if !from_env {
                let new_id = state.vault.rotate().map_err(StartupError::from)?;
                eprintln!(
                    "new master key {new_id} written to {}",
                    store
                        .data_dir
                        .join(server::vault::MASTER_KEY_FILE)
                        .display()
                );
            }
            let count = state.connections.reseal_all().await?;
            eprintln!(
                "re-sealed {count} credentials under master key {}",
                state.vault.key_id()
            );
        }
        Command::RebuildRollups(store) => {
            let state = server::open_state(settings_for(&store)).await?;
            let rows = server::logs::hourly::rebuild(&state.db)
                .await
                .map_err(|e| StartupError::Rollup(e.to_string()))?;
            eprintln!("counted {rows} request-log rows into the hourly rollup");
        }
        Command::Migrate(store) => {
            server::open_state(settings_for(&store)).await?;
            tracing::info!("database is migrated");
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    password,
                    password_stdin,
                    handle,
                    admin,
                    store,
                },
        } => {
            let password = read_password(password, password_stdin)?;
            let state = server::open_state(settings_for(&store)).await?;
            let user = state
                .accounts
                .create(NewAccount {
                    email,
                    password,
                    handle,
                    admin,
                })
                .await?;
            eprintln!(
                "created user {} ({}, @{}){}",
                user.id,
                user.email,
                user.handle,
                if user.is_admin.0 {
                    ", platform admin"
                } else {
                    ""
                }
            );
        }
        Command::Key {
            command:
                KeyCommand::Create {
                    email,
                    name,
                    scopes,
                    store,
                },
        } => {
            let state = server::open_state(settings_for(&store)).await?;
            let user = state.accounts.find_by_email(&email).await?;
            let request = server::auth::KeyRequest {
                name,
                scopes: Some(scopes),
                expires_at: None,
                policy: server::auth::KeyPolicy::default(),
            };
            let created = state.keys.create(&user.id, None, request).await?;
            writeln!(std::io::stdout(), "{}", created.key)?;
        }
    }
    Ok(())
}

/// The password from `--password` (with a warning), the first line of stdin
/// (`--password-stdin`, or no flag with stdin not a terminal), or a prompt that does not
/// echo.
fn read_password(flag: Option<String>, from_stdin: bool) -> Result<String, CliError> {
    use std::io::{BufRead, IsTerminal};
    if let Some(password) = flag {
        tracing::warn!("--password is visible to other users of this machine in the process list; prefer --password-stdin");
        return Ok(password);
    }
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    Ok(rpassword::prompt_password("Password: ")?)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
/// `langmart gateway` and `langmart gateway status`.
async fn gateway(args: GatewayArgs) -> Result<(), CliError> {
    use server::gateways::agent;
    let status_file = |files: &GatewayFiles| {
        files
            .status_file
            .clone()
            .unwrap_or_else(|| agent::status::default_path(&files.config))
    };
    if let Some(GatewayCommand::Status(files)) = args.command {
        let text = agent::status::describe(&status_file(&files)).map_err(CliError::Gateway)?;
        write!(std::io::stdout(), "{text}")?;
        return Ok(());
    }
    let server = args.server.ok_or_else(|| {
        CliError::Gateway("--server (or LANGMART_GATEWAY_SERVER) is required".into())
    })?;
    let server =
        url::Url::parse(&server).map_err(|e| CliError::Gateway(format!("--server: {e}")))?;
    let token = args.token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        CliError::Gateway("--token (or LANGMART_GATEWAY_TOKEN) is required".into())
    })?;
    let config = agent::config::Config::load(&args.files.config)
        .map_err(|e| CliError::Gateway(e.to_string()))?;
    tracing::info!(server = %server, upstreams = config.upstreams.len(), "starting the gateway agent");
    agent::run(
        agent::Options {
            server,
            token: token.trim().to_owned(),
            config,
            status_file: Some(status_file(&args.files)),
        },
        shutdown_signal(),
    )
    .await
    .map_err(|e| CliError::Gateway(e.to_string()))?;
    tracing::info!("gateway agent stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
