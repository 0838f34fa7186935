//! The Katalusis operator: reconciles `Run` resources into one resource-limited
//! Pod per workflow node, using the shared run planner from `katalusis-crds`.
//!
//! - [`config`]: the process settings, read once from the environment;
//! - [`pods`]: deterministic Pod names and the Pod spec builder (pure);
//! - [`reconcile`]: observed Run and Pods → Pods to create/delete, next status (pure);
//! - [`controller`]: the kube-runtime `Controller` that applies those plans;
//! - [`backoff`]: exponential backoff of failed reconciles, per Run;
//! - [`leader`]: leader election on a `Lease`;
//! - [`metrics`]: `/metrics` and `/healthz`.

pub mod backoff;
pub mod config;
pub mod controller;
pub mod crdgen;
pub mod leader;
pub mod metrics;
pub mod pods;
pub mod reconcile;

#[cfg(any(test, feature = "fake-api"))]
pub mod fake_api;
#[cfg(test)]
mod testdata;
