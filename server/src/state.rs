//! Everything a request handler may need, cloned cheaply into each handler.

use std::sync::Arc;

use crate::auth::{Accounts, ApiKeys};
use crate::catalog::Connections;
use crate::config::Settings;
use crate::db::Db;
use crate::orgs::Orgs;
use crate::vault::Vault;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub vault: Arc<Vault>,
    pub keys: ApiKeys,
    pub accounts: Accounts,
    pub orgs: Orgs,
    pub connections: Connections,
    /// One pooled client (rustls, keep-alive) for every provider call.
    pub http: reqwest::Client,
}

impl AppState {
    pub fn new(settings: Settings, db: Db, vault: Vault, http: reqwest::Client) -> Self {
        let keys = ApiKeys::new(db.clone());
        let accounts = Accounts::new(db.clone(), keys.clone());
        let orgs = Orgs::new(db.clone(), accounts.clone());
        let vault = Arc::new(vault);
        let connections = Connections::new(db.clone(), vault.clone(), http.clone());
        Self {
            settings: Arc::new(settings),
            db,
            vault,
            keys,
            accounts,
            orgs,
            connections,
            http,
        }
    }
}
