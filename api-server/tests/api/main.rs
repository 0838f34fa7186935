//! API tests: one binary, a fresh migrated database per test (`#[sqlx::test]`),
//! the real router served on a loopback port.

mod support;

mod auth;
mod bad_input;
mod demo;
mod durability;
mod imports;
mod kubernetes;
mod library;
mod oversight;
mod rbac;
mod resources;
mod runs;
mod tasks;
mod template_test;
mod walkthrough;
mod web;
