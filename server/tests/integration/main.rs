//! Integration tests: the real server on 127.0.0.1:0 (see `common::spawn_app`). One test
//! binary for all of them keeps linking time and disk use down.

mod common;

mod access_matrix;
mod accounts;
mod agents;
mod binary;
mod bodies;
mod bounded;
mod budgets;
mod canary;
mod chat_mock;
mod cli;
mod cluster;
mod collections;
mod connections;
mod crash;
mod dashboard;
mod faults;
mod fn_inputs;
mod gateways;
mod gateways_netns;
mod http;
mod inference;
mod key_policies;
mod keys;
mod log_queries;
mod login_hardening;
mod messages;
mod metrics;
mod mocks;
mod native;
mod native_mock;
mod notifications;
mod openapi;
mod orgs;
mod outbound;
mod responses;
mod server_limits;
mod signup;
mod stream_timeouts;
mod traces;
mod trust;
