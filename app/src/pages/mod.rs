pub mod auth;
pub mod connections;
pub mod empty;
pub mod logs;
pub mod settings;
