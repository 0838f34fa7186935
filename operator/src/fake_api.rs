//! An in-memory Kubernetes API server for tests, served to `kube::Client`
//! through a tower service: create, get, list (with label selectors),
//! replace (with resourceVersion conflicts), merge and apply patches (status
//! subresource included), delete (with owner-reference cascade) and watch
//! streams that resume from a resourceVersion. Any resource path works, so
//! Runs, Pods, Events, Leases and ConfigMaps share one store.
//!
//! Test code only: the one thing the operator tests fake is the Kubernetes API.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A request the fake answered, for assertions.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Change {
    rv: u64,
    collection: String,
    namespace: String,
    kind: &'static str,
    object: Value,
}

#[derive(Default)]
struct State {
    rv: u64,
    uid: u64,
    /// (collection, namespace, name) -> object
    objects: BTreeMap<(String, String, String), Value>,
    log: Vec<Change>,
    seen: Vec<Seen>,
}

/// The fake API server. Clone freely; clones share the store.
#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    changes: broadcast::Sender<Change>,
    /// While true every request answers 503 and open watches end, as when
    /// the API server is unreachable.
    offline: Arc<watch::Sender<bool>>,
}

/// A parsed resource path.
#[derive(Debug, Clone)]
struct Target {
    /// `group/version/plural` (`/v1/pods` for the core group).
    collection: String,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (gv, rest) = match *parts.first()? {
        "api" => (format!("/{}", parts.get(1)?), &parts[2..]),
        "apis" => (format!("{}/{}", parts.get(1)?, parts.get(2)?), &parts[3..]),
        _ => return None,
    };
    let (namespace, rest) = if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        (Some(rest[1].to_owned()), &rest[2..])
    } else {
        (None, rest)
    };
    Some(Target {
        collection: format!("{gv}/{}", rest.first()?),
        namespace,
        name: rest.get(1).map(|s| (*s).to_owned()),
        subresource: rest.get(2).map(|s| (*s).to_owned()),
    })
}

fn query_params(query: Option<&str>) -> BTreeMap<String, String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn labels_match(object: &Value, selector: Option<&String>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    let labels = &object["metadata"]["labels"];
    selector.split(',').all(|term| match term.split_once('=') {
        Some((k, v)) => labels[k.trim()].as_str() == Some(v.trim_start_matches('=')),
        None => !labels[term.trim()].is_null(),
    })
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    })
}

fn json_response(code: u16, value: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())).boxed_unsync())
        .expect("valid response")
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// A 409 when a write names a resourceVersion that is no longer current
/// (optimistic concurrency, as the API server does for PUT and PATCH).
fn stale_write(body: &Value, current: &Value) -> Option<Response<Body>> {
    let sent = body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    let stored = current["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    (!sent.is_empty() && sent != stored).then(|| {
        json_response(
            409,
            &status_body(409, "Conflict", "the object has been modified"),
        )
    })
}

/// Records `manager` as the newest writer in `metadata.managedFields` (one
/// entry per manager and subresource, as the API server keeps them; the
/// fake orders writes by `seq` in the entry's time).
fn record_manager(object: &mut Value, manager: &str, operation: &str, on_status: bool, seq: u64) {
    let subresource = if on_status { "status" } else { "" };
    let mut entries: Vec<Value> = object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| {
            !(e["manager"] == manager
                && e["subresource"].as_str().unwrap_or_default() == subresource)
        })
        .collect();
    // Seconds resolution, like the real API server; later writes sort later.
    let time = Timestamp::from_second(1_700_000_000 + i64::try_from(seq).unwrap_or(0))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let mut entry = json!({"manager": manager, "operation": operation, "time": time,
                           "apiVersion": object["apiVersion"].clone(), "fieldsType": "FieldsV1"});
    if on_status {
        entry["subresource"] = json!("status");
    }
    entries.push(entry);
    object["metadata"]["managedFields"] = Value::Array(entries);
}

/// Collections whose objects have a status subresource.
fn has_status_subresource(collection: &str) -> bool {
    collection.ends_with("/runs") || collection.ends_with("/workflows") || collection == "/v1/pods"
}

impl Default for FakeApi {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeApi {
    pub fn new() -> Self {
        let (changes, _) = broadcast::channel(4096);
        Self {
            state: Arc::new(Mutex::new(State::default())),
            changes,
            offline: Arc::new(watch::channel(false).0),
        }
    }

    /// Makes the fake unreachable (every request answers 503, watches end)
    /// or reachable again.
    pub fn set_offline(&self, offline: bool) {
        self.offline.send_replace(offline);
    }

    /// A `kube::Client` talking to this fake.
    pub fn client(&self) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |req: Request<kube::client::Body>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.handle(req).await) }
        });
        kube::Client::new(service, "default")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests answered so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Every stored object of a collection (e.g. `/v1/pods`), in name order.
    pub fn objects(&self, collection: &str) -> Vec<Value> {
        self.lock()
            .objects
            .iter()
            .filter(|((c, _, _), _)| c == collection)
            .map(|(_, v)| v.clone())
            .collect()
    }

    async fn handle(&self, req: Request<kube::client::Body>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let query = query_params(parts.uri.query());
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let response = match parse_path(&path) {
            _ if *self.offline.borrow() => json_response(
                503,
                &status_body(503, "ServiceUnavailable", "the API server is unreachable"),
            ),
            None => json_response(404, &status_body(404, "NotFound", "unknown path")),
            Some(target) => {
                if parts.method == Method::GET
                    && query.get("watch").map(String::as_str) == Some("true")
                {
                    self.watch(target, &query)
                } else {
                    let body: Value = if body.is_empty() {
                        Value::Null
                    } else if content_type.contains("yaml") || content_type.contains("json") {
                        serde_json::from_slice(&body).unwrap_or(Value::Null)
                    } else {
                        Value::Null
                    };
                    self.handle_sync(&parts.method, &target, &query, &content_type, body)
                }
            }
        };
        self.lock().seen.push(Seen {
            method: parts.method,
            path,
            status: response.status().as_u16(),
        });
        response
    }

    fn record(
        &self,
        state: &mut State,
        collection: &str,
        namespace: &str,
        kind: &'static str,
        object: Value,
    ) {
        let change = Change {
            rv: state.rv,
            collection: collection.to_owned(),
            namespace: namespace.to_owned(),
            kind,
            object,
        };
        state.log.push(change.clone());
        let _ = self.changes.send(change);
    }

    fn handle_sync(
        &self,
        method: &Method,
        target: &Target,
        query: &BTreeMap<String, String>,
        content_type: &str,
        body: Value,
    ) -> Response<Body> {
        let mut state = self.lock();
        let ns = target.namespace.clone().unwrap_or_default();
        match (method.as_str(), &target.name) {
            ("GET", None) => {
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|((c, n, _), _)| {
                        *c == target.collection && (target.namespace.is_none() || *n == ns)
                    })
                    .map(|(_, v)| v)
                    .filter(|v| labels_match(v, query.get("labelSelector")))
                    .cloned()
                    .collect();
                json_response(
                    200,
                    &json!({
                        "apiVersion": "v1", "kind": "List",
                        "metadata": {"resourceVersion": state.rv.to_string()},
                        "items": items
                    }),
                )
            }
            ("GET", Some(name)) => {
                match state
                    .objects
                    .get(&(target.collection.clone(), ns, name.clone()))
                {
                    Some(v) => json_response(200, v),
                    None => json_response(
                        404,
                        &status_body(404, "NotFound", &format!("{name} not found")),
                    ),
                }
            }
            ("POST", None) => {
                let mut object = body;
                let Some(name) = object["metadata"]["name"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        object["metadata"]["generateName"]
                            .as_str()
                            .map(|p| format!("{p}{}", state.uid + 1))
                    })
                else {
                    return json_response(
                        422,
                        &status_body(422, "Invalid", "metadata.name is required"),
                    );
                };
                let key = (target.collection.clone(), ns.clone(), name.clone());
                if state.objects.contains_key(&key) {
                    return json_response(
                        409,
                        &status_body(409, "AlreadyExists", &format!("{name} already exists")),
                    );
                }
                state.rv += 1;
                state.uid += 1;
                let meta = &mut object["metadata"];
                meta["name"] = json!(name);
                meta["namespace"] = json!(ns);
                meta["uid"] = json!(format!("uid-{}", state.uid));
                meta["resourceVersion"] = json!(state.rv.to_string());
                meta["generation"] = json!(1);
                meta["creationTimestamp"] =
                    json!(Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
                if let Some(m) = query.get("fieldManager") {
                    if meta["managedFields"].is_null() {
                        let rv = state.rv;
                        record_manager(&mut object, m, "Update", false, rv);
                    }
                }
                if has_status_subresource(&target.collection) && target.collection != "/v1/pods" {
                    if let Some(o) = object.as_object_mut() {
                        o.remove("status");
                    }
                }
                state.objects.insert(key, object.clone());
                self.record(&mut state, &target.collection, &ns, "ADDED", object.clone());
                json_response(201, &object)
            }
            ("PUT", Some(name)) => {
                let key = (target.collection.clone(), ns.clone(), name.clone());
                let Some(current) = state.objects.get(&key).cloned() else {
                    return json_response(
                        404,
                        &status_body(404, "NotFound", &format!("{name} not found")),
                    );
                };
                let mut object = body;
                if let Some(conflict) = stale_write(&object, &current) {
                    return conflict;
                }
                self.store_update(
                    &mut state,
                    &target.collection,
                    &ns,
                    &key,
                    &current,
                    &mut object,
                );
                json_response(200, &object)
            }
            ("PATCH", Some(name)) => {
                let key = (target.collection.clone(), ns.clone(), name.clone());
                let on_status = target.subresource.as_deref() == Some("status");
                let is_apply = content_type.contains("apply-patch");
                let manager = query.get("fieldManager").cloned();
                let Some(current) = state.objects.get(&key).cloned() else {
                    if is_apply && !on_status {
                        // Server-side apply creates what does not exist yet.
                        drop(state);
                        let mut body = body;
                        body["metadata"]["name"] = json!(name);
                        if let Some(m) = manager {
                            record_manager(&mut body, &m, "Apply", false, 0);
                        }
                        return self.handle_sync(
                            &Method::POST,
                            &Target {
                                name: None,
                                ..target.clone()
                            },
                            query,
                            "application/json",
                            body,
                        );
                    }
                    return json_response(
                        404,
                        &status_body(404, "NotFound", &format!("{name} not found")),
                    );
                };
                if let Some(conflict) = stale_write(&body, &current) {
                    return conflict;
                }
                let mut object = current.clone();
                if let Some(m) = manager {
                    let operation = if is_apply { "Apply" } else { "Update" };
                    record_manager(&mut object, &m, operation, on_status, state.rv + 1);
                }
                let mut body = body;
                if let Some(meta) = body["metadata"].as_object_mut() {
                    meta.remove("resourceVersion");
                    meta.remove("managedFields");
                }
                if !(is_apply || content_type.contains("merge-patch")) {
                    return json_response(
                        415,
                        &status_body(415, "UnsupportedMediaType", content_type),
                    );
                }
                if on_status {
                    if is_apply {
                        // One field manager owns the whole status: apply replaces it.
                        object["status"] = body["status"].clone();
                    } else {
                        merge(&mut object["status"], &body["status"]);
                    }
                } else {
                    let mut patch = body;
                    if has_status_subresource(&target.collection) {
                        if let Some(p) = patch.as_object_mut() {
                            p.remove("status");
                        }
                    }
                    merge(&mut object, &patch);
                }
                self.store_update(
                    &mut state,
                    &target.collection,
                    &ns,
                    &key,
                    &current,
                    &mut object,
                );
                json_response(200, &object)
            }
            ("DELETE", Some(name)) => {
                let key = (target.collection.clone(), ns.clone(), name.clone());
                match state.objects.remove(&key) {
                    None => json_response(
                        404,
                        &status_body(404, "NotFound", &format!("{name} not found")),
                    ),
                    Some(object) => {
                        state.rv += 1;
                        self.record(
                            &mut state,
                            &target.collection,
                            &ns,
                            "DELETED",
                            object.clone(),
                        );
                        self.cascade(
                            &mut state,
                            object["metadata"]["uid"].as_str().unwrap_or_default(),
                        );
                        json_response(200, &object)
                    }
                }
            }
            _ => json_response(405, &status_body(405, "MethodNotAllowed", method.as_str())),
        }
    }

    fn store_update(
        &self,
        state: &mut State,
        collection: &str,
        ns: &str,
        key: &(String, String, String),
        current: &Value,
        object: &mut Value,
    ) {
        state.rv += 1;
        for field in ["uid", "creationTimestamp", "name", "namespace"] {
            object["metadata"][field] = current["metadata"][field].clone();
        }
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
        let spec_changed = object.get("spec") != current.get("spec");
        object["metadata"]["generation"] = json!(generation + i64::from(spec_changed));
        object["metadata"]["resourceVersion"] = json!(state.rv.to_string());
        state.objects.insert(key.clone(), object.clone());
        self.record(state, collection, ns, "MODIFIED", object.clone());
    }

    /// Deletes objects owned by `uid` (background cascade, like the garbage collector).
    fn cascade(&self, state: &mut State, uid: &str) {
        if uid.is_empty() {
            return;
        }
        let owned: Vec<_> = state
            .objects
            .iter()
            .filter(|(_, v)| {
                v["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in owned {
            if let Some(object) = state.objects.remove(&key) {
                state.rv += 1;
                self.record(state, &key.0, &key.1, "DELETED", object.clone());
                self.cascade(
                    state,
                    object["metadata"]["uid"].as_str().unwrap_or_default(),
                );
            }
        }
    }

    fn watch(&self, target: Target, query: &BTreeMap<String, String>) -> Response<Body> {
        let since: u64 = query
            .get("resourceVersion")
            .and_then(|rv| rv.parse().ok())
            .unwrap_or(0);
        let selector = query.get("labelSelector").cloned();
        let receiver = self.changes.subscribe();
        let backlog: Vec<Change> = self
            .lock()
            .log
            .iter()
            .filter(|c| c.rv > since)
            .cloned()
            .collect();
        let matches = move |c: &Change| {
            c.collection == target.collection
                && target
                    .namespace
                    .as_ref()
                    .is_none_or(|ns| *ns == c.namespace)
                && labels_match(&c.object, selector.as_ref())
        };
        let last_backlog = backlog.last().map_or(since, |c| c.rv);
        let matches_live = matches.clone();
        let backlog = futures::stream::iter(backlog.into_iter().filter(move |c| matches(c)));
        let live = futures::stream::unfold(receiver, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(change) => return Some((change, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .filter(move |c| {
            let keep = c.rv > last_backlog && matches_live(c);
            async move { keep }
        });
        let mut offline = self.offline.subscribe();
        let live = live.take_until(async move {
            let _ = offline.wait_for(|o| *o).await;
        });
        let frames = backlog.chain(live).map(|c| {
            let line = format!("{}\n", json!({"type": c.kind, "object": c.object}));
            Ok::<_, Infallible>(http_body::Frame::data(Bytes::from(line)))
        });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(BodyExt::boxed_unsync(StreamBody::new(frames)))
            .expect("valid response")
    }
}
