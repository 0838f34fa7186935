//! Server-Sent Events: one run's event log (replayed, then live) and the
//! dashboard feed of run status changes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use super::dto::{DashboardQuery, EventsQuery};
use super::scoped;
use crate::auth::{ClientScope, CurrentUser, RequireRole, Role, Staff};
use crate::error::ApiError;
use crate::executor::events::kind;
use crate::executor::stream::{self, StreamFilter, StreamedEvent};
use crate::http::extract::{Path, Query};
use crate::state::AppState;

/// Live events of one run as Server-Sent Events: `node` (status changes),
/// `log`, `progress` and `run` (status, ends the stream once final). Each
/// event's id is its sequence number; reconnect with `Last-Event-ID` to
/// continue without gaps.
#[utoipa::path(get, path = "/api/runs/{id}/events", tag = "runs", security(("bearer" = [])),
    params(("id" = u64, Path), EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = Object), (status = 404)))]
pub async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let row = scoped(&state, &user, id).await?;
    let filter = StreamFilter {
        show_logs: user.role != Role::Client || row.logs_visible_to_client,
        only_node_logs: None,
    };
    let last = last_event_id(&headers, q.last_event_id);
    Ok(sse(&state, &row, last, filter))
}

pub(super) fn last_event_id(headers: &HeaderMap, fallback: Option<u64>) -> u64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(fallback)
        .unwrap_or(0)
}

/// A run's event log as Server-Sent Events (see `executor::stream`); each
/// event's id is its sequence number.
pub(super) fn sse(
    state: &AppState,
    row: &crate::db::runs::Row,
    last: u64,
    filter: StreamFilter,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = stream::follow(
        &state.executor,
        state.db.clone(),
        row.run_id,
        row.client_id,
        row.status.is_terminal(),
        last,
        filter,
    );
    let events = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e: StreamedEvent| {
            let event = Event::default()
                .id(e.seq.to_string())
                .event(e.kind)
                .data(e.data);
            (Ok(event), rx)
        })
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// A dashboard feed of the runs the caller may see starting, changing status
/// and finishing (`run` events with `runId` and `clientId`).
#[utoipa::path(get, path = "/api/events", tag = "runs", security(("bearer" = [])),
    params(DashboardQuery),
    responses((status = 200, content_type = "text/event-stream", body = Object)))]
pub async fn dashboard(
    State(state): State<AppState>,
    RequireRole(user, ..): RequireRole<Staff>,
    Query(q): Query<DashboardQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let scope = ClientScope::of(&user);
    let mut live = state.executor.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(256);
    let db = state.db.clone();
    let feed = async move {
        let mut allowed: HashMap<u64, bool> = HashMap::new();
        loop {
            let ev = match live.recv().await {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if ev.kind != kind::RUN {
                continue;
            }
            let ok = match allowed.get(&ev.client_id) {
                Some(ok) => *ok,
                None => {
                    let ok = scope.allows(&db, ev.client_id).await.unwrap_or(false);
                    allowed.insert(ev.client_id, ok);
                    ok
                }
            };
            if !ok {
                continue;
            }
            let mut data = ev.data.clone();
            data["runId"] = json!(ev.run_id);
            data["clientId"] = json!(ev.client_id);
            let event = Event::default().event(kind::RUN).data(data.to_string());
            if tx.send(event).await.is_err() {
                return;
            }
        }
    };
    let stopped = state.executor.stopped();
    tokio::spawn(async move {
        let bounded = async move {
            match q.close_after_seconds {
                Some(s) => {
                    let _ = tokio::time::timeout(Duration::from_secs(s), feed).await;
                }
                None => feed.await,
            }
        };
        tokio::select! {
            _ = bounded => {}
            _ = stopped => {}
        }
    });
    let stream =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
