pub mod auth;
pub mod collections;
pub mod connections;
pub mod dashboard;
pub mod empty;
pub mod logs;
pub mod playground;
pub mod settings;
