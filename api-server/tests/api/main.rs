//! API tests: one binary, a fresh migrated database per test (`#[sqlx::test]`),
//! the real router served on a loopback port.

mod support;
mod runs;
