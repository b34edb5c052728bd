//! People and their credentials: accounts and passwords, the handle namespace, LangMart
//! API keys, and console sessions.

mod accounts;
mod error;
mod handles;
mod keys;
mod passwords;
mod signup;
mod throttle;

pub use accounts::{normalize_email, AccountError, Accounts, Admission, NewAccount};
pub use error::AuthError;
pub use handles::{normalize_handle, HandleError, RESERVED_HANDLES};
pub use keys::{
    digest as digest_key, ApiKeys, KeyChange, KeyPolicy, KeyRequest, Principal, Scopes, KEY_PREFIX,
};
pub use passwords::in_flight_limit as password_checks_at_once;
pub use signup::{Signup, SignupRequest, DEFAULT_INVITE_DAYS};
