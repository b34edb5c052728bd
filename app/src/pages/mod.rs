pub mod auth;
pub mod empty;
pub mod settings;
