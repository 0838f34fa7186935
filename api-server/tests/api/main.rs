//! API tests: one binary, a fresh migrated database per test (`#[sqlx::test]`),
//! the real router served on a loopback port.

mod support;

mod ai;
mod ai_chat;
mod ai_rules;
mod ai_settings;
mod analytics;
mod auth;
mod bad_input;
mod connections;
mod connectors_e2e;
mod contract;
mod demo;
mod durability;
mod flow;
mod flow_people;
mod gallery;
mod imports;
mod kubernetes;
mod library;
mod lists;
mod oversight;
mod query;
mod query_node;
mod rbac;
mod replicas;
mod resources;
mod retention;
mod run_store;
mod runs;
mod sessions;
mod tasks;
mod template_test;
mod tls;
mod triggers;
mod vault;
mod walkthrough;
mod web;
mod workflows_as_code;
