//! Runtime settings, from flags and their `LANGMART_*` environment equivalents.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

/// Default request body limit: larger bodies get 413 `PAYLOAD_TOO_LARGE`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` means the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Where the built console lives (`pkg/`, CSS, `public/`); found next to the binary when unset.
    pub site_root: Option<PathBuf>,
    /// Marks the session cookie `Secure`; set when LangMart is served over https.
    pub secure_cookies: bool,
    /// Base64 of 32 bytes; when unset, `<data_dir>/master.key` is used (and created).
    pub master_key: Option<String>,
    /// Older keys (comma-separated base64) still accepted for opening, with `master_key`.
    pub master_key_previous: Option<String>,
    pub max_body_bytes: usize,
    /// How often each connection is tested in the background; zero turns it off.
    pub health_check_interval: Duration,
    /// Least time between manual tests of one connection by one user (zero: no limit).
    pub manual_test_interval: Duration,
    /// How often a gateway agent must send a heartbeat (it is dropped after three missed).
    pub gateway_heartbeat: Duration,
    /// How long a gateway may have no agent before its connections turn `error`.
    pub gateway_grace: Duration,
    /// How long stored Responses API answers are kept.
    pub responses_retention: Duration,
    /// Every connection may reach loopback, private and other non-public addresses (for a
    /// single-user install beside a local Ollama, and for tests against local mocks).
    pub allow_private_endpoints: bool,
    /// Who may create an account in the console.
    pub signup: app::dto::SignupPolicy,
    /// The client address is the last `X-Forwarded-For` entry (behind a reverse proxy
    /// that appends it), not the peer's.
    pub trust_forwarded_for: bool,
    /// What one peer may hold of the server, and how long shutdown waits.
    pub limits: ServerLimits,
    /// Largest whole answer read from a provider; a bigger one is refused (502).
    pub max_upstream_body_bytes: usize,
    /// Largest single server-sent event accepted from a provider's stream.
    pub max_upstream_event_bytes: usize,
    /// How long request-log rows gather before they are written: the most a crash
    /// (SIGKILL, power loss) can lose.
    pub log_flush_interval: Duration,
    /// Free space under the data directory below which the disk is reported as nearly
    /// full; `None`: 1 GiB, or 5% of a disk smaller than 20 GiB.
    pub min_free_disk_bytes: Option<u64>,
    /// Request-log rows older than this are pruned in the background (zero keeps all).
    pub log_retention: Duration,
    /// Redis shared by every replica (rate windows, quotas, budgets, round robin, leases);
    /// `None`: this process keeps them in memory.
    pub redis_url: Option<String>,
    /// What replicas do while Redis does not answer.
    pub redis_failure: crate::cluster::FailurePolicy,
    /// Prefix of every Redis key, so deployments can share one Redis.
    pub redis_prefix: String,
    /// A listener of its own for `/metrics` (operators' network only).
    pub metrics_addr: Option<SocketAddr>,
    /// `/metrics` on the main listener for this bearer token.
    pub metrics_token: Option<String>,
}

/// Server-side bounds on slow or numerous peers (see the README's Resilience section).
#[derive(Clone, Debug)]
pub struct ServerLimits {
    /// A request's headers must arrive within this; it also ends a keep-alive connection
    /// that stays idle this long (hyper has one timer for both).
    pub header_read_timeout: Duration,
    /// Longest pause while a request body arrives.
    pub body_read_timeout: Duration,
    /// Open connections at most; further ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// `/v1` requests in progress at most (streams count until they end); more get a fast
    /// 503 `OVERLOADED` with `Retry-After`.
    pub max_concurrent_requests: usize,
    /// On SIGTERM, how long in-flight requests may take to finish before the rest are
    /// ended (streams with a final error event).
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(15),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_concurrent_requests: 4_096,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Default cap on a provider's whole answer.
pub const DEFAULT_MAX_UPSTREAM_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Default cap on one server-sent event from a provider.
pub const DEFAULT_MAX_UPSTREAM_EVENT_BYTES: usize = 4 * 1024 * 1024;

impl Settings {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir,
            database_url: None,
            site_root: None,
            secure_cookies: false,
            master_key: None,
            master_key_previous: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            health_check_interval: Duration::from_secs(600),
            manual_test_interval: Duration::from_secs(5),
            gateway_heartbeat: Duration::from_secs(10),
            gateway_grace: Duration::from_secs(30),
            responses_retention: Duration::from_secs(30 * 86_400),
            allow_private_endpoints: false,
            signup: app::dto::SignupPolicy::Invite,
            trust_forwarded_for: false,
            limits: ServerLimits::default(),
            max_upstream_body_bytes: DEFAULT_MAX_UPSTREAM_BODY_BYTES,
            max_upstream_event_bytes: DEFAULT_MAX_UPSTREAM_EVENT_BYTES,
            log_flush_interval: Duration::from_millis(200),
            min_free_disk_bytes: None,
            log_retention: Duration::from_secs(30 * 86_400),
            redis_url: None,
            redis_failure: crate::cluster::FailurePolicy::Open,
            redis_prefix: "langmart:".to_owned(),
            metrics_addr: None,
            metrics_token: None,
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("langmart.db").display()
            )
        })
    }

    /// The console's static files: the flag, else `<exe dir>/../site` (where the build script
    /// puts it), else `target/site` under the working directory.
    pub fn resolved_site_root(&self) -> PathBuf {
        if let Some(root) = &self.site_root {
            return root.clone();
        }
        let beside_binary = std::env::current_exe().ok().and_then(|exe| {
            exe.parent()
                .and_then(|dir| dir.parent())
                .map(|p| p.join("site"))
        });
        match beside_binary {
            Some(dir) if dir.join("pkg").is_dir() => dir,
            _ => PathBuf::from("target/site"),
        }
    }
}

/// Hides the password in a database URL so settings can be logged: the user-info password
/// and any query parameter that carries one (`?password=`, `sslpassword=`, …).
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &base[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme_end + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_param(name) => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret", "token", "key"]
        .iter()
        .any(|word| name.contains(word))
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url()))
            .field("site_root", &self.site_root)
            .field("secure_cookies", &self.secure_cookies)
            .field("master_key", &self.master_key.as_ref().map(|_| "***"))
            .field(
                "master_key_previous",
                &self.master_key_previous.as_ref().map(|_| "***"),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("health_check_interval", &self.health_check_interval)
            .field("manual_test_interval", &self.manual_test_interval)
            .field("gateway_heartbeat", &self.gateway_heartbeat)
            .field("gateway_grace", &self.gateway_grace)
            .field("responses_retention", &self.responses_retention)
            .field("allow_private_endpoints", &self.allow_private_endpoints)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("signup", &self.signup)
            .field("limits", &self.limits)
            .field("max_upstream_body_bytes", &self.max_upstream_body_bytes)
            .field("max_upstream_event_bytes", &self.max_upstream_event_bytes)
            .field("log_flush_interval", &self.log_flush_interval)
            .field("min_free_disk_bytes", &self.min_free_disk_bytes)
            .field("log_retention", &self.log_retention)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_failure", &self.redis_failure)
            .field("redis_prefix", &self.redis_prefix)
            .field("metrics_addr", &self.metrics_addr)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_but_keeps_user_and_host() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/langmart"),
            "postgres://app:***@db:5432/langmart"
        );
        assert_eq!(redact_url("sqlite://./data/x.db"), "sqlite://./data/x.db");
        assert_eq!(
            redact_url("postgres://db/langmart?user=app&password=s3cret&sslpassword=k3y"),
            "postgres://db/langmart?user=app&password=***&sslpassword=***"
        );
        assert_eq!(
            redact_url("sqlite:///data/x.db?mode=rwc"),
            "sqlite:///data/x.db?mode=rwc"
        );
    }

    #[test]
    fn debug_never_shows_the_master_key() {
        let mut s = Settings::new(PathBuf::from("/tmp/x"));
        s.master_key = Some("c2VjcmV0LWtleS1tYXRlcmlhbA==".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("c2VjcmV0"));
    }
}
