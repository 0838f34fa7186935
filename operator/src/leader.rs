//! Leader election on a `coordination.k8s.io/v1` Lease, so two operator
//! replicas never reconcile at the same time.
//!
//! The holder renews the Lease every `renew_every`; another replica takes it
//! over only once `renewTime + leaseDurationSeconds` has passed. Every write
//! carries the `resourceVersion` it read, so of two replicas racing for an
//! expired Lease exactly one wins (the other gets 409 Conflict).

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::PostParams;
use kube::{Api, Client};

use crate::metrics::Metrics;

/// Where the Lease lives and who we are.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// Lease name.
    pub name: String,
    /// Lease namespace (the operator's).
    pub namespace: String,
    /// This replica's identity (its Pod name).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
}

/// Outcome of one acquisition attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// We hold the Lease (newly acquired or renewed).
    Held,
    /// Someone else holds a valid Lease, or won the race.
    Taken,
}

fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 409)
}

/// Tries once to acquire or renew the Lease at time `now`.
pub async fn try_acquire(
    api: &Api<Lease>,
    settings: &LeaseSettings,
    now: Timestamp,
) -> Result<LeaseOutcome, kube::Error> {
    let duration_secs = i32::try_from(settings.lease_duration.as_secs()).unwrap_or(i32::MAX);
    match api.get_opt(&settings.name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(settings.name.clone()),
                    namespace: Some(settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(settings.identity.clone()),
                    lease_duration_seconds: Some(duration_secs),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(LeaseOutcome::Held),
                Err(e) if is_conflict(&e) => Ok(LeaseOutcome::Taken),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            let ours = spec.holder_identity.as_deref() == Some(settings.identity.as_str());
            if !ours {
                let valid_for = i64::from(spec.lease_duration_seconds.unwrap_or(duration_secs));
                let expired = spec
                    .renew_time
                    .as_ref()
                    .is_none_or(|renewed| renewed.0 + SignedDuration::from_secs(valid_for) < now);
                if !expired {
                    return Ok(LeaseOutcome::Taken);
                }
                spec.holder_identity = Some(settings.identity.clone());
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.renew_time = Some(MicroTime(now));
            spec.lease_duration_seconds = Some(duration_secs);
            match api
                .replace(&settings.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(LeaseOutcome::Held),
                Err(e) if is_conflict(&e) => Ok(LeaseOutcome::Taken),
                Err(e) => Err(e),
            }
        }
    }
}

/// Waits until this replica holds the Lease, then runs `work` while renewing
/// it. Returns an error when the Lease is lost (or cannot be renewed for a
/// whole lease duration), after stopping `work`: the caller should exit so
/// that at most one replica ever reconciles.
pub async fn run_as_leader<F>(
    client: Client,
    settings: LeaseSettings,
    metrics: std::sync::Arc<Metrics>,
    work: F,
) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let api: Api<Lease> = Api::namespaced(client, &settings.namespace);
    loop {
        match try_acquire(&api, &settings, Timestamp::now()).await {
            Ok(LeaseOutcome::Held) => break,
            Ok(LeaseOutcome::Taken) => {}
            Err(e) => tracing::warn!(error = %e, "leader election: cannot read the Lease"),
        }
        tokio::time::sleep(settings.renew_every).await;
    }
    tracing::info!(identity = %settings.identity, lease = %settings.name, "acquired leadership");
    metrics.set_leader(true);
    let mut work = tokio::spawn(work);
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            result = &mut work => {
                metrics.set_leader(false);
                return result.map_err(anyhow::Error::from)?;
            }
            () = tokio::time::sleep(settings.renew_every) => {}
        }
        match try_acquire(&api, &settings, Timestamp::now()).await {
            Ok(LeaseOutcome::Held) => last_renewed = tokio::time::Instant::now(),
            Ok(LeaseOutcome::Taken) => {
                work.abort();
                metrics.set_leader(false);
                anyhow::bail!("lost the leader Lease to another replica");
            }
            Err(e) => {
                tracing::warn!(error = %e, "leader election: renewal failed");
                // Stop one renewal period before another replica may take over.
                if last_renewed.elapsed() + settings.renew_every >= settings.lease_duration {
                    work.abort();
                    metrics.set_leader(false);
                    anyhow::bail!("could not renew the leader Lease for a whole lease duration");
                }
            }
        }
    }
}
