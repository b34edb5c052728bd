//! Everything a request handler may need. Handlers and extractors clone the state for
//! every request, so it is one `Arc` (one reference count) over the services.

use std::{ops::Deref, sync::Arc};

use crate::aliases::Aliases;
use crate::auth::{Accounts, ApiKeys, Signup};
use crate::catalog::Connections;
use crate::changes::Changes;
use crate::collections::Collections;
use crate::config::Settings;
use crate::db::Db;
use crate::limits::Limiter;
use crate::logs::RequestLog;
use crate::orgs::Orgs;
use crate::routing::catalog::RoutingCatalog;
use crate::vault::Vault;

#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub vault: Arc<Vault>,
    pub keys: ApiKeys,
    pub accounts: Accounts,
    pub signup: Signup,
    pub orgs: Orgs,
    pub connections: Connections,
    /// Self-hosted gateways and their connected agents.
    pub gateways: crate::gateways::Gateways,
    /// The outbound policy and its pooled clients (rustls, keep-alive): every provider
    /// call goes through it.
    pub outbound: Arc<crate::outbound::Outbound>,
    pub changes: Changes,
    /// Connection failures and recoveries for the people who look after them.
    pub notifications: crate::notify::Notifications,
    /// Who keeps their calls' bodies, and reading them back.
    pub body_capture: crate::logs::bodies::BodyCapture,
    pub routing: RoutingCatalog,
    pub collections: Collections,
    pub aliases: Aliases,
    pub limiter: Arc<Limiter>,
    /// Each API key's own rpm/tpm limits (keyed by key id).
    pub key_limiter: Arc<Limiter>,
    /// Keys' spend budgets: reservations and settled spend per period.
    pub budgets: Arc<crate::budgets::Budgets>,
    pub request_log: RequestLog,
    /// `/v1` requests in progress, against `--max-concurrent-requests`.
    pub admission: Arc<crate::admission::Admission>,
    /// Fires when the shutdown grace is over: open streams end with an error event.
    pub ending: crate::listen::Ending,
    /// `/metrics`: counters fed by the log writer, gauges read when scraped.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Redis, when replicas share limits, budgets and positions (`--redis-url`).
    pub shared: Option<Arc<crate::cluster::Shared>>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: Db,
        vault: Vault,
        outbound: crate::outbound::Outbound,
        shared: Option<Arc<crate::cluster::Shared>>,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        let outbound = Arc::new(outbound);
        let changes = Changes::default();
        let notifications = crate::notify::Notifications::new(db.clone(), outbound.clone());
        let body_capture = crate::logs::bodies::BodyCapture::new(db.clone(), changes.clone());
        let keys = ApiKeys::new(db.clone(), changes.clone());
        let accounts = Accounts::new(db.clone(), keys.clone(), changes.clone());
        let orgs = Orgs::new(db.clone(), accounts.clone(), changes.clone());
        let signup = Signup::new(db.clone(), accounts.clone(), settings.signup);
        let vault = Arc::new(vault);
        let connections = Connections::new(
            db.clone(),
            vault.clone(),
            outbound.clone(),
            changes.clone(),
            notifications.clone(),
            settings.manual_test_interval,
        );
        let limiter = Arc::new(Limiter::shared(shared.clone(), "conn"));
        let budgets = Arc::new(crate::budgets::Budgets::new(
            db.clone(),
            changes.clone(),
            shared.clone(),
        ));
        let routing = RoutingCatalog::new(
            db.clone(),
            vault.clone(),
            changes.clone(),
            limiter.clone(),
            outbound.relays().clone(),
        );
        let gateways = crate::gateways::Gateways::new(
            db.clone(),
            outbound.relays().clone(),
            connections.clone(),
            settings.gateway_heartbeat,
            settings.gateway_grace,
        );
        let metrics = Arc::new(metrics);
        let request_log =
            RequestLog::start(db.clone(), settings.log_flush_interval, metrics.clone());
        let collections = Collections::new(db.clone(), routing.clone(), changes.clone());
        let aliases = Aliases::new(db.clone(), routing.clone(), changes.clone());
        let admission = crate::admission::Admission::new(settings.limits.max_concurrent_requests);
        Self(Arc::new(Services {
            settings: Arc::new(settings),
            db,
            vault,
            keys,
            accounts,
            signup,
            orgs,
            connections,
            gateways,
            notifications,
            body_capture,
            outbound,
            changes,
            routing,
            collections,
            aliases,
            limiter,
            key_limiter: Arc::new(Limiter::shared(shared.clone(), "key")),
            budgets,
            request_log,
            admission,
            ending: crate::listen::Ending::default(),
            metrics,
            shared,
        }))
    }
}
