//! Everything a request handler may need, cloned cheaply into each handler.

use std::sync::Arc;

use crate::auth::{Accounts, ApiKeys};
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
}

impl AppState {
    pub fn new(settings: Settings, db: Db, vault: Vault) -> Self {
        let keys = ApiKeys::new(db.clone());
        let accounts = Accounts::new(db.clone(), keys.clone());
        let orgs = Orgs::new(db.clone(), accounts.clone());
        Self {
            settings: Arc::new(settings),
            db,
            vault: Arc::new(vault),
            keys,
            accounts,
            orgs,
        }
    }
}
