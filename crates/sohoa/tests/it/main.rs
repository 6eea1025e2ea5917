//! Integration tests: the real server on a random port with a fresh database, driven over
//! HTTP, and the real binary for the CLI. The whole suite runs on SQLite by default and on
//! PostgreSQL when SOHOA_TEST_DATABASE_URL points at a server (see .ci/run).
//!
//! One test binary with modules (one link step instead of one per file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod account_pages;
mod agencies;
mod applications;
mod architecture;
mod audit;
mod backup;
mod browser;
mod cli;
mod cluster;
mod counter;
mod dashboards;
mod errors;
mod feedback;
mod identity;
mod import;
mod jobs;
mod me;
mod moves;
mod oidc;
mod openapi;
mod operations;
mod pages;
mod personal_reads;
mod personas;
mod procedures;
mod rails;
mod registry;
mod replicas;
mod sealed;
mod sharing;
mod signatures;
mod tls;
mod units;
