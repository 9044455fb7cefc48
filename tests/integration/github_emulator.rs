//! A stateful GitHub REST API emulator on loopback for the forge tests: every request and
//! response is checked against `../shared/conformance/github-rest/openapi-subset.json`.
//!
//! Serves only the operations of the subset, for one `owner/repo`; anything else is a 404 with
//! GitHub's error shape and is recorded as a violation. Faults (502, lost responses, secondary
//! rate limits, 403 from a token without permission, slow answers) can be injected per request.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The longest injected delay; the client under test must use a shorter timeout.
pub const MAX_DELAY: Duration = Duration::from_secs(5);
const MAX_BODY: usize = 10 * 1024 * 1024;
const DOCS: &str = "https://docs.github.com/rest";
const SECONDARY_RATE_LIMIT: &str = "You have exceeded a secondary rate limit. Please wait a few \
     minutes before you try again. If you reach out to GitHub Support for help, please include \
     the request ID 0000:0000:0000000:0000000:00000000.";
const SECONDARY_RATE_LIMIT_DOCS: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/// How the emulator is set up; `Default` is `octo-org/ml-repo` with token `ghs_emulator_token`
/// belonging to `github-actions[bot]`.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub owner: String,
    pub repo: String,
    /// The only token accepted, as `Bearer <token>` or `token <token>`.
    pub token: String,
    /// The user the token belongs to: the author of comments and statuses it creates.
    pub login: String,
    /// Faults active from the first request.
    pub faults: Vec<Fault>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            owner: "octo-org".into(),
            repo: "ml-repo".into(),
            token: "ghs_emulator_token".into(),
            login: "github-actions[bot]".into(),
            faults: Vec::new(),
        }
    }
}

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer 502 with `{"message":"Server Error"}`, doing nothing.
    BadGateway,
    /// Apply the request (a write happens), then close the connection without an answer.
    LostResponse,
    /// Answer 403 with `retry-after: <secs>` and GitHub's secondary rate limit message.
    SecondaryRateLimit { retry_after_secs: u64 },
    /// Answer 403 "Resource not accessible by integration", doing nothing.
    NotAccessible,
    /// Wait this long (at most [`MAX_DELAY`]) before handling the request normally.
    Delay(Duration),
}

/// A fault for the next `times` requests that match `method` and `path_contains` (either
/// `None` matches everything). Auth is checked after faults, as GitHub's edge answers first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub times: usize,
    pub method: Option<String>,
    pub path_contains: Option<String>,
}

impl Fault {
    /// The next `times` requests, whatever they are.
    pub fn next(kind: FaultKind, times: usize) -> Self {
        Self {
            kind,
            times,
            method: None,
            path_contains: None,
        }
    }

    /// The next `times` requests with this method whose path contains `path_contains`.
    pub fn matching(kind: FaultKind, times: usize, method: &str, path_contains: &str) -> Self {
        Self {
            kind,
            times,
            method: Some(method.to_ascii_uppercase()),
            path_contains: Some(path_contains.to_owned()),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// One request as the emulator received it; the `authorization` header is left out.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Lowercased names, in the order received, without `authorization`.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The operationId of the subset it matched, if any.
    pub operation: Option<String>,
    /// The status answered, `None` for a lost response or a dropped connection.
    pub status: Option<u16>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

struct Comment {
    issue: u64,
    value: Value,
}

struct State {
    config: EmulatorConfig,
    base_url: String,
    next_id: u64,
    comments: Vec<Comment>,
    pulls: BTreeMap<u64, Value>,
    statuses: Vec<Value>,
    check_runs: BTreeMap<u64, Value>,
    refs: BTreeMap<String, Value>,
    tags: BTreeMap<String, Value>,
    releases: Vec<Value>,
    faults: Vec<Fault>,
    requests: Vec<RecordedRequest>,
    violations: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    spec: Spec,
    shutdown: AtomicBool,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The running emulator; stops and joins every thread it started when dropped.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds `127.0.0.1:0` and serves until dropped.
    pub fn start(config: EmulatorConfig) -> Emulator {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the emulator on loopback");
        let addr = listener.local_addr().expect("the emulator's address");
        let base_url = format!("http://{addr}");
        let faults = config.faults.clone();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                config,
                base_url,
                next_id: 3_000_000_001,
                comments: Vec::new(),
                pulls: BTreeMap::new(),
                statuses: Vec::new(),
                check_runs: BTreeMap::new(),
                refs: BTreeMap::new(),
                tags: BTreeMap::new(),
                releases: Vec::new(),
                faults,
                requests: Vec::new(),
                violations: Vec::new(),
            }),
            spec: Spec::load(),
            shutdown: AtomicBool::new(false),
            workers: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept_loop(&listener, &accept_shared));
        Emulator {
            shared,
            addr,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:<port>`, to use as `GITHUB_API_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> EmulatorConfig {
        self.shared.state().config.clone()
    }

    /// Contract violations seen so far, by the client (requests) or by the emulator (responses).
    pub fn violations(&self) -> Vec<String> {
        self.shared.state().violations.clone()
    }

    pub fn assert_no_violations(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "GitHub contract violations:\n{}",
            violations.join("\n")
        );
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// How many requests had this method and a path containing `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.shared
            .state()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.contains(path_contains))
            .count()
    }

    /// Panics if `secret` is in any request's body, path, query or (non-auth) header.
    pub fn assert_no_body_contains(&self, secret: &str) {
        assert!(!secret.is_empty(), "an empty secret matches everything");
        for r in self.requests() {
            let in_headers = r.headers.iter().any(|(_, v)| v.contains(secret));
            assert!(
                !(r.body.contains(secret)
                    || r.path.contains(secret)
                    || r.query.contains(secret)
                    || in_headers),
                "the secret was sent to GitHub in {} {}",
                r.method,
                r.path
            );
        }
    }

    /// Adds a fault at runtime; faults are consumed in the order they were added.
    pub fn inject(&self, fault: Fault) {
        self.shared.state().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.state().faults.clear();
    }

    /// Adds `n` comments by `author` on `issue` (bodies `seeded comment 1..=n`), returns ids.
    pub fn seed_comments(&self, issue: u64, n: usize, author: &str) -> Vec<u64> {
        (1..=n)
            .map(|i| self.seed_comment(issue, &format!("seeded comment {i}"), author))
            .collect()
    }

    pub fn seed_comment(&self, issue: u64, body: &str, author: &str) -> u64 {
        let mut state = self.shared.state();
        let value = state.new_comment(issue, body, author);
        let id = value["id"].as_u64().expect("an id");
        state.comments.push(Comment { issue, value });
        id
    }

    /// The comments on `issue`, oldest first, as GitHub would answer them.
    pub fn comments(&self, issue: u64) -> Vec<Value> {
        self.shared
            .state()
            .comments
            .iter()
            .filter(|c| c.issue == issue)
            .map(|c| c.value.clone())
            .collect()
    }

    /// Serves the `pull_request` object of a webhook payload file; returns its number.
    pub fn load_pull_request(&self, payload: &Path) -> u64 {
        let text = std::fs::read_to_string(payload)
            .unwrap_or_else(|e| panic!("read {}: {e}", payload.display()));
        let event: Value = serde_json::from_str(&text).expect("the payload is JSON");
        let pull = event["pull_request"].clone();
        let number = pull["number"].as_u64().expect("pull_request.number");
        self.shared.state().pulls.insert(number, pull);
        number
    }

    /// Loads `github-events/pull_request/<name>.payload.json` (`opened`, `synchronize`).
    pub fn load_pull_request_fixture(&self, name: &str) -> u64 {
        self.load_pull_request(&events_dir().join(format!("pull_request/{name}.payload.json")))
    }

    pub fn statuses(&self) -> Vec<Value> {
        self.shared.state().statuses.clone()
    }

    pub fn check_runs(&self) -> Vec<Value> {
        self.shared.state().check_runs.values().cloned().collect()
    }

    /// Full ref name (`refs/tags/v1`) to the git-ref object.
    pub fn refs(&self) -> BTreeMap<String, Value> {
        self.shared.state().refs.clone()
    }

    /// Tag object sha to the git-tag object.
    pub fn tags(&self) -> BTreeMap<String, Value> {
        self.shared.state().tags.clone()
    }

    pub fn releases(&self) -> Vec<Value> {
        self.shared.state().releases.clone()
    }

    /// Creates a ref directly, e.g. `refs/heads/main`, as if it had been pushed.
    pub fn seed_ref(&self, full_ref: &str, sha: &str) {
        let mut state = self.shared.state();
        let value = state.git_ref(full_ref, sha, "commit");
        state.refs.insert(full_ref.to_owned(), value);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept; it sees the flag and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let workers = std::mem::take(&mut *self.shared.workers.lock().expect("workers"));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/github-events")
}

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance/github-rest/openapi-subset.json")
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI subset as JSON Schema validators.

struct Route {
    method: String,
    template: String,
    segments: Vec<Segment>,
    operation: Value,
    literals: usize,
}

enum Segment {
    Literal(String),
    Param { name: String, multi: bool },
}

struct Spec {
    /// The document with `OpenAPI` 3.0's `nullable` rewritten into JSON Schema.
    doc: Value,
    routes: Vec<Route>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl Spec {
    fn load() -> Spec {
        let path = spec_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut doc: Value = serde_json::from_str(&text).expect("the subset is JSON");
        openapi_to_json_schema(&mut doc);
        let mut routes = Vec::new();
        for (template, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                if !["get", "post", "patch", "put", "delete"].contains(&method.as_str()) {
                    continue;
                }
                let params = operation["parameters"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let multi = |name: &str| {
                    params.iter().any(|p| {
                        let p = resolve(&doc, p);
                        p["name"] == name && p["x-multi-segment"] == true
                    })
                };
                let segments: Vec<Segment> = template
                    .trim_start_matches('/')
                    .split('/')
                    .map(
                        |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some(name) => Segment::Param {
                                name: name.to_owned(),
                                multi: multi(name),
                            },
                            None => Segment::Literal(s.to_owned()),
                        },
                    )
                    .collect();
                let literals = segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count();
                routes.push(Route {
                    method: method.to_ascii_uppercase(),
                    template: template.clone(),
                    segments,
                    operation: operation.clone(),
                    literals,
                });
            }
        }
        Spec {
            doc,
            routes,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The route for `method path`, with raw (still percent-encoded) path parameters.
    fn route(&self, method: &str, path: &str) -> Option<(&Route, Vec<(String, String)>)> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(&Route, Vec<(String, String)>)> = None;
        for route in self.routes.iter().filter(|r| r.method == method) {
            let Some(params) = match_segments(&route.segments, &parts) else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|(b, _)| route.literals > b.literals)
            {
                best = Some((route, params));
            }
        }
        best
    }

    /// Schema errors of `instance` against `schema` (a schema of the document).
    fn check(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = {
            let mut cache = self.validators.lock().expect("validators");
            let entry = cache.entry(key.to_owned()).or_insert_with(|| {
                let wrapper = json!({
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "components": { "schemas": self.doc["components"]["schemas"] },
                    "allOf": [schema],
                });
                Arc::new(
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft7)
                        .should_validate_formats(true)
                        .should_ignore_unknown_formats(true)
                        .build(&wrapper)
                        .unwrap_or_else(|e| panic!("compile the schema for {key}: {e}")),
                )
            });
            Arc::clone(entry)
        };
        validator
            .iter_errors(instance)
            .map(|e| format!("{e} at `{}`", e.instance_path()))
            .collect()
    }

    /// The response schema for `status`, `Ok(None)` when documented without a body, `Err` when
    /// the status is not documented for the operation.
    fn response_schema(&self, operation: &Value, status: u16) -> Result<Option<Value>, ()> {
        let Some(response) = operation["responses"].get(status.to_string()) else {
            return Err(());
        };
        let response = resolve(&self.doc, response);
        Ok(response["content"]["application/json"]
            .get("schema")
            .cloned())
    }
}

fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut i = 0;
    for (n, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Literal(lit) => {
                if parts.get(i) != Some(&lit.as_str()) {
                    return None;
                }
                i += 1;
            }
            Segment::Param { name, multi } => {
                let rest_literals = segments.len() - n - 1;
                let take = if *multi {
                    parts.len().checked_sub(i + rest_literals)?
                } else {
                    1
                };
                if take == 0 || i + take > parts.len() {
                    return None;
                }
                let value = parts[i..i + take].join("/");
                if value.is_empty() {
                    return None;
                }
                params.push((name.clone(), value));
                i += take;
            }
        }
    }
    (i == parts.len()).then_some(params)
}

/// Follows `$ref`s to `#/components/...` until a non-reference.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(pointer) = value.get("$ref").and_then(Value::as_str) {
        value = doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolved $ref {pointer}"));
    }
    value
}

/// Rewrites `OpenAPI` 3.0 schema objects into JSON Schema draft 7: `type: T, nullable: true`
/// becomes `type: [T, "null"]` (and `null` joins an `enum`); a `oneOf` with more than one
/// nullable branch becomes `anyOf`, since `null` would otherwise match several branches.
fn openapi_to_json_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(branches)) = map.get("oneOf") {
                let nullable = branches.iter().filter(|b| b["nullable"] == true).count();
                if nullable > 1 {
                    let branches = map.remove("oneOf").expect("oneOf");
                    map.insert("anyOf".into(), branches);
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(options)) = map.get_mut("enum") {
                    if !options.contains(&Value::Null) {
                        options.push(Value::Null);
                    }
                }
                map.remove("nullable");
            }
            for (key, child) in map.iter_mut() {
                if key != "example" && key != "examples" {
                    openapi_to_json_schema(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(openapi_to_json_schema),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 over std::net.

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let conn_shared = Arc::clone(shared);
        let worker = thread::spawn(move || serve_connection(stream, &conn_shared));
        let mut workers = shared.workers.lock().expect("workers");
        workers.retain(|w| !w.is_finished());
        workers.push(worker);
    }
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Conn<'a> {
    stream: TcpStream,
    buf: Vec<u8>,
    shutdown: &'a AtomicBool,
}

impl Conn<'_> {
    /// Reads more bytes; `false` at end of stream or shutdown.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.shutdown.load(Ordering::SeqCst) {
                return false;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return self.buf.len() <= MAX_BODY;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    fn take_line(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn take_bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        if n > MAX_BODY {
            return None;
        }
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    fn read_request(&mut self) -> Option<Request> {
        let mut line = self.take_line()?;
        while line.is_empty() {
            line = self.take_line()?;
        }
        let mut words = line.split(' ');
        let method = words.next()?.to_owned();
        let target = words.next()?.to_owned();
        let mut headers = Vec::new();
        loop {
            let line = self.take_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let body = if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                let size_line = self.take_line()?;
                let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
                if size == 0 {
                    while !self.take_line()?.is_empty() {}
                    break;
                }
                body.extend(self.take_bytes(size)?);
                self.take_line()?;
            }
            body
        } else {
            let length = get("content-length").map_or(Some(0), |v| v.parse().ok())?;
            self.take_bytes(length)?
        };
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (target, String::new()),
        };
        Some(Request {
            method,
            path,
            query,
            headers,
            body,
        })
    }
}

fn serve_connection(stream: TcpStream, shared: &Arc<Shared>) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        shutdown: &shared.shutdown,
    };
    while let Some(request) = conn.read_request() {
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let Some(reply) = handle(shared, &request) else {
            let _ = conn.stream.shutdown(Shutdown::Both);
            return;
        };
        if conn.stream.write_all(&reply.to_bytes(close)).is_err() || close {
            let _ = conn.stream.flush();
            return;
        }
    }
}

struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply::json(
            status,
            json!({ "message": message, "documentation_url": DOCS, "status": status.to_string() }),
        )
    }

    fn not_found() -> Reply {
        Reply::error(404, "Not Found")
    }

    fn validation(message: &str, resource: &str, field: &str, code: &str) -> Reply {
        Reply::json(
            422,
            json!({
                "message": message,
                "errors": [{ "resource": resource, "code": code, "field": field }],
                "documentation_url": DOCS,
                "status": "422",
            }),
        )
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn to_bytes(&self, close: bool) -> Vec<u8> {
        let body = self
            .body
            .as_ref()
            .map(|b| serde_json::to_vec(b).expect("serialize"))
            .unwrap_or_default();
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        if self.body.is_some() {
            head.push_str("content-type: application/json; charset=utf-8\r\n");
        }
        let _ = write!(
            head,
            "content-length: {}\r\nx-github-api-version-selected: 2022-11-28\r\n\
             x-ratelimit-limit: 5000\r\nx-ratelimit-remaining: 4999\r\n\
             x-ratelimit-used: 1\r\nx-ratelimit-resource: core\r\n",
            body.len()
        );
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        if close {
            head.push_str("connection: close\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend(body);
        bytes
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        502 => "Bad Gateway",
        _ => "Unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// Handling: record, faults, auth, contract checks, then the operation.

/// `None` means: drop the connection without an answer.
fn handle(shared: &Shared, request: &Request) -> Option<Reply> {
    let routed = shared.spec.route(&request.method, &request.path);
    let index = {
        let mut state = shared.state();
        state.requests.push(RecordedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request
                .headers
                .iter()
                .filter(|(n, _)| n != "authorization")
                .cloned()
                .collect(),
            body: String::from_utf8_lossy(&request.body).into_owned(),
            operation: routed
                .as_ref()
                .and_then(|(r, _)| r.operation["operationId"].as_str().map(str::to_owned)),
            status: None,
        });
        state.requests.len() - 1
    };
    let fault = {
        let mut state = shared.state();
        state
            .faults
            .iter_mut()
            .find(|f| f.matches(&request.method, &request.path))
            .map(|f| {
                f.times -= 1;
                f.kind.clone()
            })
    };
    let reply = match fault {
        Some(FaultKind::BadGateway) => Some(Reply::json(502, json!({ "message": "Server Error" }))),
        Some(FaultKind::NotAccessible) => Some(Reply::error(
            403,
            "Resource not accessible by integration",
        )),
        Some(FaultKind::SecondaryRateLimit { retry_after_secs }) => Some(
            Reply::json(
                403,
                json!({ "message": SECONDARY_RATE_LIMIT, "documentation_url": SECONDARY_RATE_LIMIT_DOCS }),
            )
            .with_header("retry-after", retry_after_secs.to_string()),
        ),
        Some(FaultKind::Delay(delay)) => {
            let until = Instant::now() + delay.min(MAX_DELAY);
            while Instant::now() < until {
                if shared.shutdown.load(Ordering::SeqCst) {
                    return None;
                }
                thread::sleep(Duration::from_millis(10));
            }
            None
        }
        Some(FaultKind::LostResponse) | None => None,
    };
    let reply = reply.unwrap_or_else(|| answer(shared, request, routed.as_ref()));
    let operation = routed.as_ref().map(|(r, _)| &r.operation);
    check_response(shared, request, operation, &reply);
    let mut state = shared.state();
    if fault == Some(FaultKind::LostResponse) {
        return None;
    }
    state.requests[index].status = Some(reply.status);
    Some(reply)
}

fn authorized(config: &EmulatorConfig, request: &Request) -> Result<(), Reply> {
    let Some(value) = request.header("authorization") else {
        return Err(Reply::error(401, "Requires authentication"));
    };
    let token = value.split_once(' ').and_then(|(scheme, token)| {
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
            .then_some(token.trim())
    });
    if token == Some(config.token.as_str()) {
        Ok(())
    } else {
        Err(Reply::error(401, "Bad credentials"))
    }
}

fn answer(
    shared: &Shared,
    request: &Request,
    routed: Option<&(&Route, Vec<(String, String)>)>,
) -> Reply {
    let Some((route, raw_params)) = routed else {
        shared.state().violations.push(format!(
            "{} {}: no operation of the subset matches",
            request.method, request.path
        ));
        return Reply::not_found();
    };
    let config = shared.state().config.clone();
    if let Err(reply) = authorized(&config, request) {
        return reply;
    }
    let params: HashMap<String, String> = raw_params
        .iter()
        .map(|(k, v)| (k.clone(), percent_decode(v)))
        .collect();
    let query = parse_query(&request.query);
    let op_id = route.operation["operationId"].as_str().unwrap_or_default();
    let mut violations = check_parameters(shared, route, raw_params, &query, request);
    let body =
        match check_request_body(shared, route, request) {
            Ok(body) => body,
            Err(rejected) => {
                let (reply, message) = *rejected;
                violations.push(message);
                let mut state = shared.state();
                state.violations.extend(violations.into_iter().map(|v| {
                    format!("{} {} ({op_id}) request: {v}", request.method, request.path)
                }));
                return reply;
            }
        };
    let mut state = shared.state();
    state.violations.extend(
        violations
            .into_iter()
            .map(|v| format!("{} {} ({op_id}) request: {v}", request.method, request.path)),
    );
    if !params["owner"].eq_ignore_ascii_case(&config.owner)
        || !params["repo"].eq_ignore_ascii_case(&config.repo)
    {
        return Reply::not_found();
    }
    state.dispatch(op_id, &params, &body, request, &query)
}

impl State {
    /// Runs an operation of the subset whose request passed auth and the contract checks.
    fn dispatch(
        &mut self,
        op_id: &str,
        params: &HashMap<String, String>,
        body: &Value,
        request: &Request,
        query: &[(String, String)],
    ) -> Reply {
        let state = self;
        let int = |name: &str| params.get(name).and_then(|v| v.parse::<u64>().ok());
        match op_id {
            "issues/list-comments" => match int("issue_number") {
                Some(issue) => state.list_comments(issue, request, query),
                None => Reply::not_found(),
            },
            "issues/create-comment" => match int("issue_number") {
                Some(issue) => state.create_comment(issue, body),
                None => Reply::not_found(),
            },
            "issues/get-comment" => int("comment_id").map_or_else(Reply::not_found, |id| {
                state
                    .comments
                    .iter()
                    .find(|c| c.value["id"] == id)
                    .map_or_else(Reply::not_found, |c| Reply::json(200, c.value.clone()))
            }),
            "issues/update-comment" => {
                int("comment_id").map_or_else(Reply::not_found, |id| state.update_comment(id, body))
            }
            "issues/delete-comment" => int("comment_id").map_or_else(Reply::not_found, |id| {
                let before = state.comments.len();
                state.comments.retain(|c| c.value["id"] != id);
                if state.comments.len() == before {
                    Reply::not_found()
                } else {
                    Reply {
                        status: 204,
                        body: None,
                        headers: Vec::new(),
                    }
                }
            }),
            "pulls/get" => int("pull_number")
                .and_then(|n| state.pulls.get(&n).cloned())
                .map_or_else(Reply::not_found, |p| Reply::json(200, p)),
            "repos/create-commit-status" => state.create_status(&params["sha"], body),
            "checks/create" => state.create_check_run(body),
            "checks/get" => int("check_run_id")
                .and_then(|id| state.check_runs.get(&id).cloned())
                .map_or_else(Reply::not_found, |c| Reply::json(200, c)),
            "checks/update" => int("check_run_id")
                .map_or_else(Reply::not_found, |id| state.update_check_run(id, body)),
            "git/create-ref" => state.create_ref(body),
            "git/get-ref" => state
                .refs
                .get(&format!("refs/{}", params["ref"]))
                .cloned()
                .map_or_else(Reply::not_found, |r| Reply::json(200, r)),
            "git/update-ref" => state.update_ref(&params["ref"], body),
            "git/create-tag" => state.create_tag(body),
            "repos/list-releases" => state.list_releases(request, query),
            "repos/create-release" => state.create_release(body),
            "repos/update-release" => {
                int("release_id").map_or_else(Reply::not_found, |id| state.update_release(id, body))
            }
            "repos/get-release-by-tag" => state
                .releases
                .iter()
                .find(|r| r["tag_name"] == params["tag"].as_str() && r["draft"] == false)
                .cloned()
                .map_or_else(Reply::not_found, |r| Reply::json(200, r)),
            other => panic!("the emulator has no handler for {other}"),
        }
    }
}

fn check_parameters(
    shared: &Shared,
    route: &Route,
    raw_params: &[(String, String)],
    query: &[(String, String)],
    request: &Request,
) -> Vec<String> {
    let doc = &shared.spec.doc;
    let op_id = route.operation["operationId"].as_str().unwrap_or_default();
    let mut violations = Vec::new();
    for param in route.operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let param = resolve(doc, param);
        let name = param["name"].as_str().unwrap_or_default();
        let location = param["in"].as_str().unwrap_or_default();
        let value = match location {
            "path" => raw_params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            "query" => query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            "header" => request.header(name).map(str::to_owned),
            _ => None,
        };
        let Some(value) = value else {
            if param["required"] == true {
                violations.push(format!("required {location} parameter `{name}` is missing"));
            }
            continue;
        };
        if param["x-multi-segment"] == true && value.to_ascii_lowercase().contains("%2f") {
            violations.push(format!(
                "path parameter `{name}` is multi-segment: send `/`, not `%2F` ({value})"
            ));
        }
        let schema = &param["schema"];
        let decoded = percent_decode(&value);
        let instance = match schema["type"].as_str() {
            Some("integer") => decoded
                .parse::<i64>()
                .map_or_else(|_| Value::String(decoded.clone()), Value::from),
            Some("boolean") => match decoded.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(decoded.clone()),
            },
            _ => Value::String(decoded.clone()),
        };
        for error in shared
            .spec
            .check(&format!("{op_id} param {name}"), schema, &instance)
        {
            violations.push(format!("{location} parameter `{name}`: {error}"));
        }
    }
    violations
}

/// The JSON body (`Null` when the operation takes none), or the reply GitHub would give and
/// the violation to record.
fn check_request_body(
    shared: &Shared,
    route: &Route,
    request: &Request,
) -> Result<Value, Box<(Reply, String)>> {
    let op_id = route.operation["operationId"].as_str().unwrap_or_default();
    let Some(spec_body) = route.operation.get("requestBody") else {
        if !request.body.is_empty() {
            return Err(Box::new((
                Reply::error(400, "Problems parsing JSON"),
                "the operation takes no request body, but one was sent".into(),
            )));
        }
        return Ok(Value::Null);
    };
    let spec_body = resolve(&shared.spec.doc, spec_body);
    if request.body.is_empty() {
        if spec_body["required"] == true {
            return Err(Box::new((
                Reply::error(400, "Problems parsing JSON"),
                "the request body is required but empty".into(),
            )));
        }
        return Ok(Value::Object(Map::new()));
    }
    if let Some(content_type) = request.header("content-type") {
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            return Err(Box::new((
                Reply::error(400, "Problems parsing JSON"),
                format!("content-type is `{content_type}`, not `application/json`"),
            )));
        }
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return Err(Box::new((
            Reply::error(400, "Problems parsing JSON"),
            "the request body is not JSON".into(),
        )));
    };
    let schema = &spec_body["content"]["application/json"]["schema"];
    let errors = shared
        .spec
        .check(&format!("{op_id} request"), schema, &body);
    if let Some(first) = errors.first() {
        return Err(Box::new((
            Reply::validation(&format!("Invalid request.\n\n{first}"), "", "", "invalid"),
            format!("body does not match the schema: {}", errors.join("; ")),
        )));
    }
    Ok(body)
}

fn check_response(shared: &Shared, request: &Request, operation: Option<&Value>, reply: &Reply) {
    let op_id = operation
        .and_then(|o| o["operationId"].as_str())
        .unwrap_or("no operation");
    let documented = operation.map(|o| shared.spec.response_schema(o, reply.status));
    let schema = match documented {
        Some(Ok(schema)) => schema,
        // Statuses GitHub answers on any endpoint (auth, permissions, limits, edge errors).
        Some(Err(())) | None
            if [400, 401, 403, 404, 422, 500, 502, 503].contains(&reply.status) =>
        {
            let name = if reply.status == 422 {
                "validation-error"
            } else {
                "basic-error"
            };
            Some(json!({ "$ref": format!("#/components/schemas/{name}") }))
        }
        Some(Err(())) | None => {
            shared.state().violations.push(format!(
                "{} {} ({op_id}) response: status {} is not documented",
                request.method, request.path, reply.status
            ));
            return;
        }
    };
    let errors = match (&schema, &reply.body) {
        (Some(schema), Some(body)) => {
            shared
                .spec
                .check(&format!("{op_id} response {}", reply.status), schema, body)
        }
        (Some(_), None) => vec!["the documented JSON body is missing".into()],
        (None, Some(_)) => vec!["a body was sent where none is documented".into()],
        (None, None) => Vec::new(),
    };
    if !errors.is_empty() {
        shared.state().violations.push(format!(
            "{} {} ({op_id}) response {}: {}",
            request.method,
            request.path,
            reply.status,
            errors.join("; ")
        ));
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k, true), decode(v, true)),
            None => (decode(pair, true), String::new()),
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    decode(text, false)
}

/// Percent-decoding; `+` is a space only in a query.
fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && bytes[i] == b'+' {
            b' '
        } else {
            bytes[i]
        });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The resources.

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn api(&self) -> String {
        format!(
            "{}/repos/{}/{}",
            self.base_url, self.config.owner, self.config.repo
        )
    }

    fn html(&self) -> String {
        format!(
            "https://github.com/{}/{}",
            self.config.owner, self.config.repo
        )
    }

    fn new_comment(&mut self, issue: u64, body: &str, author: &str) -> Value {
        let id = self.id();
        let now = now_iso();
        let association = if author == self.config.login {
            "NONE"
        } else {
            "MEMBER"
        };
        json!({
            "id": id,
            "node_id": node_id("IC_", id),
            "url": format!("{}/issues/comments/{id}", self.api()),
            "html_url": format!("{}/pull/{issue}#issuecomment-{id}", self.html()),
            "body": body,
            "user": user(author),
            "created_at": now,
            "updated_at": now,
            "issue_url": format!("{}/issues/{issue}", self.api()),
            "author_association": association,
            "reactions": {
                "url": format!("{}/issues/comments/{id}/reactions", self.api()),
                "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
            },
            "performed_via_github_app": null,
        })
    }

    fn list_comments(&self, issue: u64, request: &Request, query: &[(String, String)]) -> Reply {
        let items: Vec<Value> = self
            .comments
            .iter()
            .filter(|c| c.issue == issue)
            .map(|c| c.value.clone())
            .collect();
        self.paginate(&items, request, query)
    }

    /// One page of `items`, with a `Link` header formatted as GitHub does:
    /// `<url>; rel="prev", <url>; rel="next", <url>; rel="last", <url>; rel="first"`.
    fn paginate(&self, items: &[Value], request: &Request, query: &[(String, String)]) -> Reply {
        let get = |name: &str| {
            query
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let per_page = match get("per_page") {
            None | Some(0) => 30,
            Some(n) => n.min(100),
        };
        let page = get("page").unwrap_or(1).max(1);
        let last = items.len().div_ceil(per_page).max(1);
        let start = (page - 1).saturating_mul(per_page).min(items.len());
        let end = (start + per_page).min(items.len());
        let reply = Reply::json(200, Value::Array(items[start..end].to_vec()));
        if last == 1 && page == 1 {
            return reply;
        }
        let url = |n: usize| {
            let mut params: Vec<String> = query
                .iter()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            params.push(format!("page={n}"));
            format!("<{}{}?{}>", self.base_url, request.path, params.join("&"))
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", url((page - 1).min(last))));
        }
        if page < last {
            links.push(format!("{}; rel=\"next\"", url(page + 1)));
            links.push(format!("{}; rel=\"last\"", url(last)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"first\"", url(1)));
        }
        reply.with_header("link", links.join(", "))
    }

    fn create_comment(&mut self, issue: u64, body: &Value) -> Reply {
        let text = body["body"].as_str().unwrap_or_default().to_owned();
        let login = self.config.login.clone();
        let value = self.new_comment(issue, &text, &login);
        let location = value["url"].as_str().unwrap_or_default().to_owned();
        self.comments.push(Comment {
            issue,
            value: value.clone(),
        });
        Reply::json(201, value).with_header("location", location)
    }

    fn update_comment(&mut self, id: u64, body: &Value) -> Reply {
        let Some(comment) = self.comments.iter_mut().find(|c| c.value["id"] == id) else {
            return Reply::not_found();
        };
        comment.value["body"] = body["body"].clone();
        comment.value["updated_at"] = Value::String(now_iso());
        Reply::json(200, comment.value.clone())
    }

    fn create_status(&mut self, sha: &str, body: &Value) -> Reply {
        let id = self.id();
        let now = now_iso();
        let value = json!({
            "url": format!("{}/statuses/{sha}", self.api()),
            "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
            "id": id,
            "node_id": node_id("SC_", id),
            "state": body["state"],
            "description": body.get("description").cloned().unwrap_or(Value::Null),
            "target_url": body.get("target_url").cloned().unwrap_or(Value::Null),
            "context": body.get("context").cloned().unwrap_or_else(|| json!("default")),
            "created_at": now,
            "updated_at": now,
            "creator": user(&self.config.login),
        });
        self.statuses.push(value.clone());
        let location = value["url"].as_str().unwrap_or_default().to_owned();
        Reply::json(201, value).with_header("location", location)
    }

    fn create_check_run(&mut self, body: &Value) -> Reply {
        let id = self.id();
        let now = now_iso();
        let value = json!({
            "id": id,
            "head_sha": body["head_sha"],
            "node_id": node_id("CR_", id),
            "external_id": body.get("external_id").cloned().unwrap_or_else(|| json!("")),
            "url": format!("{}/check-runs/{id}", self.api()),
            "html_url": format!("{}/runs/{id}", self.html()),
            "details_url": body.get("details_url").cloned().unwrap_or(Value::Null),
            "status": "queued",
            "conclusion": null,
            "started_at": body.get("started_at").cloned().unwrap_or_else(|| json!(now)),
            "completed_at": null,
            "output": {
                "title": null, "summary": null, "text": null, "annotations_count": 0,
                "annotations_url": format!("{}/check-runs/{id}/annotations", self.api()),
            },
            "name": body["name"],
            "check_suite": { "id": id + 1 },
            "app": app(),
            "pull_requests": [],
        });
        self.check_runs.insert(id, value);
        match self.apply_check_run(id, body) {
            Ok(value) => {
                let location = value["url"].as_str().unwrap_or_default().to_owned();
                Reply::json(201, value).with_header("location", location)
            }
            Err(reply) => {
                self.check_runs.remove(&id);
                reply
            }
        }
    }

    fn update_check_run(&mut self, id: u64, body: &Value) -> Reply {
        if !self.check_runs.contains_key(&id) {
            return Reply::not_found();
        }
        match self.apply_check_run(id, body) {
            Ok(value) => Reply::json(200, value),
            Err(reply) => reply,
        }
    }

    fn apply_check_run(&mut self, id: u64, body: &Value) -> Result<Value, Reply> {
        let mut run = self.check_runs[&id].clone();
        for key in ["name", "details_url", "external_id", "started_at", "status"] {
            if let Some(v) = body.get(key) {
                run[key] = v.clone();
            }
        }
        if let Some(conclusion) = body.get("conclusion") {
            run["conclusion"] = conclusion.clone();
            run["status"] = json!("completed");
        }
        if let Some(output) = body.get("output") {
            for key in ["title", "summary", "text"] {
                if let Some(v) = output.get(key) {
                    run["output"][key] = v.clone();
                }
            }
            let annotations = output["annotations"].as_array().map_or(0, Vec::len);
            run["output"]["annotations_count"] = json!(annotations);
        }
        if run["status"] == "completed" {
            if run["conclusion"].is_null() {
                return Err(Reply::validation(
                    "Invalid request.\n\nconclusion is required when status is completed",
                    "CheckRun",
                    "conclusion",
                    "missing_field",
                ));
            }
            run["completed_at"] = body
                .get("completed_at")
                .cloned()
                .unwrap_or_else(|| json!(now_iso()));
        }
        self.check_runs.insert(id, run.clone());
        Ok(run)
    }

    fn git_ref(&self, full_ref: &str, sha: &str, kind: &str) -> Value {
        let plural = if kind == "tag" { "tags" } else { "commits" };
        json!({
            "ref": full_ref,
            "node_id": node_id("REF_", fnv(full_ref)),
            "url": format!("{}/git/{full_ref}", self.api()),
            "object": {
                "type": kind,
                "sha": sha,
                "url": format!("{}/git/{plural}/{sha}", self.api()),
            },
        })
    }

    fn object_kind(&self, sha: &str) -> &'static str {
        if self.tags.contains_key(sha) {
            "tag"
        } else {
            "commit"
        }
    }

    fn create_ref(&mut self, body: &Value) -> Reply {
        let full_ref = body["ref"].as_str().unwrap_or_default();
        let sha = body["sha"].as_str().unwrap_or_default();
        if !full_ref.starts_with("refs/") || full_ref.matches('/').count() < 2 {
            return Reply::validation("Reference name is invalid", "Reference", "ref", "invalid");
        }
        if self.refs.contains_key(full_ref) {
            return Reply::validation(
                "Reference already exists",
                "Reference",
                "ref",
                "already_exists",
            );
        }
        let value = self.git_ref(full_ref, sha, self.object_kind(sha));
        self.refs.insert(full_ref.to_owned(), value.clone());
        let location = value["url"].as_str().unwrap_or_default().to_owned();
        Reply::json(201, value).with_header("location", location)
    }

    fn update_ref(&mut self, short_ref: &str, body: &Value) -> Reply {
        let full_ref = format!("refs/{short_ref}");
        if !self.refs.contains_key(&full_ref) {
            return Reply::validation("Reference does not exist", "Reference", "ref", "invalid");
        }
        let sha = body["sha"].as_str().unwrap_or_default();
        let value = self.git_ref(&full_ref, sha, self.object_kind(sha));
        self.refs.insert(full_ref, value.clone());
        Reply::json(200, value)
    }

    fn create_tag(&mut self, body: &Value) -> Reply {
        let sha = hex40(&body.to_string());
        let tagger = body.get("tagger").cloned().map_or_else(
            || json!({ "name": "github-actions[bot]", "email": "41898282+github-actions[bot]@users.noreply.github.com", "date": now_iso() }),
            |mut t| {
                if t.get("date").is_none() {
                    t["date"] = json!(now_iso());
                }
                t
            },
        );
        let object_sha = body["object"].as_str().unwrap_or_default();
        let kind = body["type"].as_str().unwrap_or("commit");
        let value = json!({
            "node_id": node_id("TAG_", fnv(&sha)),
            "tag": body["tag"],
            "sha": sha,
            "url": format!("{}/git/tags/{sha}", self.api()),
            "message": body["message"],
            "tagger": tagger,
            "object": {
                "type": kind,
                "sha": object_sha,
                "url": format!("{}/git/{kind}s/{object_sha}", self.api()),
            },
            "verification": {
                "verified": false, "reason": "unsigned", "signature": null,
                "payload": null, "verified_at": null,
            },
        });
        self.tags.insert(sha, value.clone());
        let location = value["url"].as_str().unwrap_or_default().to_owned();
        Reply::json(201, value).with_header("location", location)
    }

    fn list_releases(&self, request: &Request, query: &[(String, String)]) -> Reply {
        let mut items = self.releases.clone();
        items.reverse();
        self.paginate(&items, request, query)
    }

    fn create_release(&mut self, body: &Value) -> Reply {
        let tag = body["tag_name"].as_str().unwrap_or_default().to_owned();
        if self.releases.iter().any(|r| r["tag_name"] == tag.as_str()) {
            return Reply::validation("Validation Failed", "Release", "tag_name", "already_exists");
        }
        let id = self.id();
        let now = now_iso();
        let api = self.api();
        let html = self.html();
        let mut value = json!({
            "url": format!("{api}/releases/{id}"),
            "html_url": format!("{html}/releases/tag/{tag}"),
            "assets_url": format!("{api}/releases/{id}/assets"),
            "upload_url": format!("https://uploads.github.com/repos/{}/{}/releases/{id}/assets{{?name,label}}", self.config.owner, self.config.repo),
            "tarball_url": format!("{api}/tarball/{tag}"),
            "zipball_url": format!("{api}/zipball/{tag}"),
            "id": id,
            "node_id": node_id("RE_", id),
            "tag_name": tag,
            "target_commitish": body.get("target_commitish").cloned().unwrap_or_else(|| json!("main")),
            "name": body.get("name").cloned().unwrap_or_else(|| json!(tag)),
            "body": body.get("body").cloned().unwrap_or(Value::Null),
            "draft": body.get("draft").cloned().unwrap_or(json!(false)),
            "prerelease": body.get("prerelease").cloned().unwrap_or(json!(false)),
            "immutable": false,
            "created_at": now,
            "published_at": null,
            "author": user(&self.config.login),
            "assets": [],
        });
        if value["draft"] == false {
            value["published_at"] = json!(now);
        }
        self.releases.push(value.clone());
        let location = value["url"].as_str().unwrap_or_default().to_owned();
        Reply::json(201, value).with_header("location", location)
    }

    fn update_release(&mut self, id: u64, body: &Value) -> Reply {
        let api = self.api();
        let html = self.html();
        let Some(release) = self.releases.iter_mut().find(|r| r["id"] == id) else {
            return Reply::not_found();
        };
        for key in [
            "tag_name",
            "target_commitish",
            "name",
            "body",
            "draft",
            "prerelease",
        ] {
            if let Some(v) = body.get(key) {
                release[key] = v.clone();
            }
        }
        let tag = release["tag_name"].as_str().unwrap_or_default().to_owned();
        release["html_url"] = json!(format!("{html}/releases/tag/{tag}"));
        release["tarball_url"] = json!(format!("{api}/tarball/{tag}"));
        release["zipball_url"] = json!(format!("{api}/zipball/{tag}"));
        if release["draft"] == false && release["published_at"].is_null() {
            release["published_at"] = json!(now_iso());
        }
        Reply::json(200, release.clone())
    }
}

fn user(login: &str) -> Value {
    let bot = login.ends_with("[bot]");
    let id = if login == "github-actions[bot]" {
        41_898_282
    } else {
        fnv(login) % 100_000_000
    };
    let escaped = login.replace('[', "%5B").replace(']', "%5D");
    let url = format!("https://api.github.com/users/{escaped}");
    // A bot's page is its app's, as GitHub answers for `github-actions[bot]`.
    let html_url = match login.strip_suffix("[bot]") {
        Some(app) => format!("https://github.com/apps/{app}"),
        None => format!("https://github.com/{escaped}"),
    };
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(if bot { "BOT_" } else { "U_" }, id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": url,
        "html_url": html_url,
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": if bot { "Bot" } else { "User" },
        "site_admin": false,
        "user_view_type": "public",
    })
}

fn app() -> Value {
    json!({
        "id": 15368,
        "slug": "github-actions",
        "node_id": "MDM6QXBwMTUzNjg=",
        "owner": {
            "login": "github", "id": 9_919, "node_id": "MDEyOk9yZ2FuaXphdGlvbjk5MTk=",
            "url": "https://api.github.com/users/github",
            "repos_url": "https://api.github.com/users/github/repos",
            "events_url": "https://api.github.com/users/github/events{/privacy}",
            "avatar_url": "https://avatars.githubusercontent.com/u/9919?v=4",
            "gravatar_id": "", "html_url": "https://github.com/github",
            "followers_url": "https://api.github.com/users/github/followers",
            "following_url": "https://api.github.com/users/github/following{/other_user}",
            "gists_url": "https://api.github.com/users/github/gists{/gist_id}",
            "starred_url": "https://api.github.com/users/github/starred{/owner}{/repo}",
            "subscriptions_url": "https://api.github.com/users/github/subscriptions",
            "organizations_url": "https://api.github.com/users/github/orgs",
            "received_events_url": "https://api.github.com/users/github/received_events",
            "type": "Organization", "site_admin": false,
        },
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions",
        "html_url": "https://github.com/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2019-12-10T19:04:12Z",
        "permissions": { "checks": "write", "contents": "write", "pull_requests": "write", "statuses": "write" },
        "events": [],
    })
}

fn node_id(prefix: &str, id: u64) -> String {
    format!("{prefix}kwDO{id:X}")
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hex40(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(20).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_iso() -> String {
    mlops_ci::results::utc_timestamp(SystemTime::now())
}

// ---------------------------------------------------------------------------------------------
// Tests of the emulator itself, with a minimal blocking HTTP client.

#[cfg(test)]
mod tests {
    use super::*;

    struct Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Response {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn json(&self) -> Value {
            serde_json::from_str(&self.body).expect("a JSON body")
        }
    }

    /// One request on a fresh connection (`connection: close`), read to the end.
    fn call_with(
        emu: &Emulator,
        method: &str,
        target: &str,
        auth: Option<&str>,
        body: Option<&Value>,
        timeout: Duration,
    ) -> io::Result<Response> {
        let mut stream = TcpStream::connect(emu.addr)?;
        stream.set_read_timeout(Some(timeout))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nhost: {}\r\nuser-agent: emulator-test\r\n\
             accept: application/vnd.github+json\r\nconnection: close\r\n",
            emu.addr
        );
        if let Some(auth) = auth {
            let _ = write!(head, "authorization: {auth}\r\n");
        }
        if !body.is_empty() {
            let _ = write!(
                head,
                "content-type: application/json\r\ncontent-length: {}\r\n",
                body.len()
            );
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8(raw).expect("utf-8");
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no response"));
        };
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Ok(Response {
            status,
            headers,
            body: body.to_owned(),
        })
    }

    fn call(emu: &Emulator, method: &str, target: &str, body: Option<&Value>) -> Response {
        let auth = format!("Bearer {}", emu.config().token);
        call_with(
            emu,
            method,
            target,
            Some(&auth),
            body,
            Duration::from_secs(10),
        )
        .expect("an answer")
    }

    fn repo_path(emu: &Emulator, rest: &str) -> String {
        let config = emu.config();
        format!("/repos/{}/{}/{rest}", config.owner, config.repo)
    }

    fn start() -> Emulator {
        Emulator::start(EmulatorConfig::default())
    }

    #[test]
    fn comments_paginate_across_pages_with_github_link_headers() {
        let emu = start();
        for i in 0..150 {
            let r = call(
                &emu,
                "POST",
                &repo_path(&emu, "issues/7/comments"),
                Some(&json!({ "body": format!("comment {i}") })),
            );
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let first = call(
            &emu,
            "GET",
            &repo_path(&emu, "issues/7/comments?per_page=100"),
            None,
        );
        assert_eq!(first.status, 200);
        assert_eq!(first.json().as_array().unwrap().len(), 100);
        let base = format!("{}{}", emu.base_url(), repo_path(&emu, "issues/7/comments"));
        assert_eq!(
            first.header("link").unwrap(),
            format!(
                "<{base}?per_page=100&page=2>; rel=\"next\", <{base}?per_page=100&page=2>; rel=\"last\""
            )
        );
        let second = call(
            &emu,
            "GET",
            &repo_path(&emu, "issues/7/comments?per_page=100&page=2"),
            None,
        );
        let items = second.json();
        assert_eq!(items.as_array().unwrap().len(), 50);
        assert_eq!(items[49]["body"], "comment 149");
        assert_eq!(
            second.header("link").unwrap(),
            format!(
                "<{base}?per_page=100&page=1>; rel=\"prev\", <{base}?per_page=100&page=1>; rel=\"first\""
            )
        );
        // The default page size is 30, so 5 pages; the middle one links all four ways.
        let middle = call(
            &emu,
            "GET",
            &repo_path(&emu, "issues/7/comments?page=3"),
            None,
        );
        assert_eq!(
            middle.header("link").unwrap(),
            format!(
                "<{base}?page=2>; rel=\"prev\", <{base}?page=4>; rel=\"next\", <{base}?page=5>; rel=\"last\", <{base}?page=1>; rel=\"first\""
            )
        );
        // per_page is capped at 100.
        let capped = call(
            &emu,
            "GET",
            &repo_path(&emu, "issues/7/comments?per_page=500"),
            None,
        );
        assert_eq!(capped.json().as_array().unwrap().len(), 100);
        // A single page has no Link header; another issue has no comments.
        let other = call(&emu, "GET", &repo_path(&emu, "issues/8/comments"), None);
        assert_eq!(other.json(), json!([]));
        assert!(other.header("link").is_none());
        assert_eq!(emu.count("POST", "/issues/7/comments"), 150);
        assert!(
            first.json()[0]["user"]["login"] == "github-actions[bot]",
            "the author is the token's user"
        );
        emu.assert_no_violations();
    }

    #[test]
    fn comments_get_update_delete_and_seeded_authors() {
        let emu = start();
        let seeded = emu.seed_comments(12, 3, "octocat");
        let created = call(
            &emu,
            "POST",
            &repo_path(&emu, "issues/12/comments"),
            Some(&json!({ "body": "<!-- mlops-ci -->\nfirst" })),
        );
        assert_eq!(created.status, 201);
        let id = created.json()["id"].as_u64().unwrap();
        assert!(
            created
                .header("location")
                .unwrap()
                .ends_with(&format!("/issues/comments/{id}"))
        );
        let listed = call(&emu, "GET", &repo_path(&emu, "issues/12/comments"), None).json();
        let authors: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["user"]["login"].as_str().unwrap())
            .collect();
        assert_eq!(
            authors,
            ["octocat", "octocat", "octocat", "github-actions[bot]"]
        );
        assert_eq!(listed[3]["user"]["type"], "Bot");

        let updated = call(
            &emu,
            "PATCH",
            &repo_path(&emu, &format!("issues/comments/{id}")),
            Some(&json!({ "body": "<!-- mlops-ci -->\nsecond" })),
        );
        assert_eq!(updated.status, 200);
        let got = call(
            &emu,
            "GET",
            &repo_path(&emu, &format!("issues/comments/{id}")),
            None,
        );
        assert_eq!(got.json()["body"], "<!-- mlops-ci -->\nsecond");

        let deleted = call(
            &emu,
            "DELETE",
            &repo_path(&emu, &format!("issues/comments/{}", seeded[0])),
            None,
        );
        assert_eq!(deleted.status, 204);
        assert!(deleted.body.is_empty());
        assert_eq!(emu.comments(12).len(), 3);
        let gone = call(
            &emu,
            "GET",
            &repo_path(&emu, &format!("issues/comments/{}", seeded[0])),
            None,
        );
        assert_eq!(gone.status, 404);
        assert_eq!(gone.json()["message"], "Not Found");
        emu.assert_no_violations();
    }

    #[test]
    fn auth_is_required_and_checked() {
        let emu = Emulator::start(EmulatorConfig {
            token: "s3cret-token".into(),
            ..EmulatorConfig::default()
        });
        let path = repo_path(&emu, "issues/1/comments");
        let timeout = Duration::from_secs(10);
        let missing = call_with(&emu, "GET", &path, None, None, timeout).unwrap();
        assert_eq!(missing.status, 401);
        assert_eq!(missing.json()["message"], "Requires authentication");
        let wrong = call_with(&emu, "GET", &path, Some("Bearer nope"), None, timeout).unwrap();
        assert_eq!(wrong.status, 401);
        assert_eq!(wrong.json()["message"], "Bad credentials");
        let basic = call_with(
            &emu,
            "GET",
            &path,
            Some("Basic s3cret-token"),
            None,
            timeout,
        )
        .unwrap();
        assert_eq!(basic.status, 401);
        for auth in ["Bearer s3cret-token", "token s3cret-token"] {
            let ok = call_with(&emu, "GET", &path, Some(auth), None, timeout).unwrap();
            assert_eq!(ok.status, 200, "{auth}");
        }
        assert!(
            emu.requests()
                .iter()
                .all(|r| r.header("authorization").is_none()),
            "the token is not recorded"
        );
        emu.assert_no_body_contains("s3cret-token");
        emu.assert_no_violations();
    }

    #[test]
    fn unknown_operations_and_repositories_answer_404() {
        let emu = start();
        let other_repo = call(&emu, "GET", "/repos/someone/else/issues/1/comments", None);
        assert_eq!(other_repo.status, 404);
        emu.assert_no_violations();
        let unknown = call(&emu, "GET", &repo_path(&emu, "issues/1"), None);
        assert_eq!(unknown.status, 404);
        assert_eq!(
            unknown.json(),
            json!({ "message": "Not Found", "documentation_url": DOCS, "status": "404" })
        );
        let violations = emu.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].contains("no operation of the subset matches"));
    }

    #[test]
    fn an_invalid_request_body_is_a_violation() {
        let emu = start();
        let r = call(
            &emu,
            "POST",
            &repo_path(&emu, "issues/3/comments"),
            Some(&json!({ "text": "no body field" })),
        );
        assert_eq!(r.status, 422);
        assert!(emu.comments(3).is_empty(), "nothing was written");
        let violations = emu.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0].contains("issues/create-comment"),
            "{violations:?}"
        );
        assert!(violations[0].contains("body"), "{violations:?}");

        let emu = start();
        let r = call(
            &emu,
            "POST",
            &repo_path(&emu, "statuses/abc123"),
            Some(&json!({ "state": "passed" })),
        );
        assert_eq!(r.status, 422);
        assert_eq!(emu.violations().len(), 1);

        let emu = start();
        let r = call(
            &emu,
            "GET",
            &repo_path(&emu, "issues/comments/not-a-number"),
            None,
        );
        assert_eq!(r.status, 404);
        let violations = emu.violations();
        assert!(violations[0].contains("comment_id"), "{violations:?}");
    }

    #[test]
    fn statuses_and_check_runs_validate() {
        let emu = start();
        let sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
        let status = call(
            &emu,
            "POST",
            &repo_path(&emu, &format!("statuses/{sha}")),
            Some(
                &json!({ "state": "success", "context": "mlops-ci", "description": "2 gates passed" }),
            ),
        );
        assert_eq!(status.status, 201, "{}", status.body);
        assert_eq!(emu.statuses()[0]["creator"]["login"], "github-actions[bot]");

        let run = call(
            &emu,
            "POST",
            &repo_path(&emu, "check-runs"),
            Some(&json!({ "name": "mlops-ci", "head_sha": sha, "status": "in_progress" })),
        );
        assert_eq!(run.status, 201, "{}", run.body);
        let id = run.json()["id"].as_u64().unwrap();
        let done = call(
            &emu,
            "PATCH",
            &repo_path(&emu, &format!("check-runs/{id}")),
            Some(
                &json!({ "conclusion": "success", "output": { "title": "ok", "summary": "all gates passed" } }),
            ),
        );
        assert_eq!(done.status, 200, "{}", done.body);
        let got = call(
            &emu,
            "GET",
            &repo_path(&emu, &format!("check-runs/{id}")),
            None,
        )
        .json();
        assert_eq!(got["status"], "completed");
        assert_eq!(got["output"]["summary"], "all gates passed");
        let bad = call(
            &emu,
            "POST",
            &repo_path(&emu, "check-runs"),
            Some(&json!({ "name": "x", "head_sha": sha, "status": "completed" })),
        );
        assert_eq!(bad.status, 422, "completed needs a conclusion");
        assert_eq!(emu.check_runs().len(), 1);

        emu.assert_no_violations();
    }

    #[test]
    fn refs_tags_and_releases_validate() {
        let emu = start();
        let sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
        let tag = call(
            &emu,
            "POST",
            &repo_path(&emu, "git/tags"),
            Some(
                &json!({ "tag": "model-v1", "message": "model v1", "object": sha, "type": "commit" }),
            ),
        );
        assert_eq!(tag.status, 201, "{}", tag.body);
        let tag_sha = tag.json()["sha"].as_str().unwrap().to_owned();
        let created = call(
            &emu,
            "POST",
            &repo_path(&emu, "git/refs"),
            Some(&json!({ "ref": "refs/tags/model-v1", "sha": tag_sha })),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.json()["object"]["type"], "tag");
        let again = call(
            &emu,
            "POST",
            &repo_path(&emu, "git/refs"),
            Some(&json!({ "ref": "refs/tags/model-v1", "sha": tag_sha })),
        );
        assert_eq!(again.status, 422);
        let got = call(&emu, "GET", &repo_path(&emu, "git/ref/tags/model-v1"), None);
        assert_eq!(got.status, 200);
        assert_eq!(got.json()["ref"], "refs/tags/model-v1");
        let moved = call(
            &emu,
            "PATCH",
            &repo_path(&emu, "git/refs/tags/model-v1"),
            Some(&json!({ "sha": sha, "force": true })),
        );
        assert_eq!(moved.status, 200, "{}", moved.body);
        let missing = call(&emu, "GET", &repo_path(&emu, "git/ref/heads/nope"), None);
        assert_eq!(missing.status, 404);

        let release = call(
            &emu,
            "POST",
            &repo_path(&emu, "releases"),
            Some(
                &json!({ "tag_name": "model-v1", "name": "Model v1", "body": "notes", "draft": true }),
            ),
        );
        assert_eq!(release.status, 201, "{}", release.body);
        let release_id = release.json()["id"].as_u64().unwrap();
        let hidden = call(
            &emu,
            "GET",
            &repo_path(&emu, "releases/tags/model-v1"),
            None,
        );
        assert_eq!(hidden.status, 404, "a draft is not found by tag");
        let published = call(
            &emu,
            "PATCH",
            &repo_path(&emu, &format!("releases/{release_id}")),
            Some(&json!({ "draft": false })),
        );
        assert_eq!(published.status, 200, "{}", published.body);
        let by_tag = call(
            &emu,
            "GET",
            &repo_path(&emu, "releases/tags/model-v1"),
            None,
        );
        assert_eq!(by_tag.status, 200);
        assert_eq!(by_tag.json()["name"], "Model v1");
        let list = call(&emu, "GET", &repo_path(&emu, "releases"), None);
        assert_eq!(list.json().as_array().unwrap().len(), 1);
        emu.assert_no_violations();
    }

    #[test]
    fn pull_requests_come_from_real_payloads() {
        let emu = start();
        let number = emu.load_pull_request_fixture("opened");
        let pull = call(
            &emu,
            "GET",
            &repo_path(&emu, &format!("pulls/{number}")),
            None,
        );
        assert_eq!(pull.status, 200);
        assert_eq!(pull.json()["number"], number);
        assert!(pull.json()["head"]["sha"].is_string());
        let missing = call(&emu, "GET", &repo_path(&emu, "pulls/999"), None);
        assert_eq!(missing.status, 404);
        emu.assert_no_violations();
    }

    #[test]
    fn fault_bad_gateway_for_matching_requests_only() {
        let emu = start();
        emu.inject(Fault::matching(
            FaultKind::BadGateway,
            2,
            "POST",
            "/comments",
        ));
        let path = repo_path(&emu, "issues/1/comments");
        let get = call(&emu, "GET", &path, None);
        assert_eq!(get.status, 200, "a GET does not match");
        let body = json!({ "body": "x" });
        assert_eq!(call(&emu, "POST", &path, Some(&body)).status, 502);
        assert_eq!(call(&emu, "POST", &path, Some(&body)).status, 502);
        assert!(emu.comments(1).is_empty(), "a 502 writes nothing");
        assert_eq!(call(&emu, "POST", &path, Some(&body)).status, 201);
        assert_eq!(emu.count("POST", "/issues/1/comments"), 3);
        emu.assert_no_violations();
    }

    #[test]
    fn fault_lost_response_applies_the_write() {
        let emu = start();
        emu.inject(Fault::next(FaultKind::LostResponse, 1));
        let auth = format!("token {}", emu.config().token);
        let result = call_with(
            &emu,
            "POST",
            &repo_path(&emu, "issues/5/comments"),
            Some(&auth),
            Some(&json!({ "body": "sent once" })),
            Duration::from_secs(10),
        );
        assert!(result.is_err(), "no answer arrives");
        assert_eq!(emu.comments(5).len(), 1, "but the comment was written");
        assert_eq!(emu.requests()[0].status, None);
        emu.assert_no_violations();
    }

    #[test]
    fn fault_secondary_rate_limit_and_not_accessible() {
        let emu = Emulator::start(EmulatorConfig {
            faults: vec![
                Fault::next(
                    FaultKind::SecondaryRateLimit {
                        retry_after_secs: 7,
                    },
                    1,
                ),
                Fault::next(FaultKind::NotAccessible, 1),
            ],
            ..EmulatorConfig::default()
        });
        let path = repo_path(&emu, "check-runs");
        let body =
            json!({ "name": "mlops-ci", "head_sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e" });
        let limited = call(&emu, "POST", &path, Some(&body));
        assert_eq!(limited.status, 403);
        assert_eq!(limited.header("retry-after"), Some("7"));
        assert!(
            limited.json()["message"]
                .as_str()
                .unwrap()
                .starts_with("You have exceeded a secondary rate limit")
        );
        let denied = call(&emu, "POST", &path, Some(&body));
        assert_eq!(denied.status, 403);
        assert_eq!(
            denied.json()["message"],
            "Resource not accessible by integration"
        );
        assert!(emu.check_runs().is_empty());
        assert_eq!(call(&emu, "POST", &path, Some(&body)).status, 201);
        emu.assert_no_violations();
    }

    #[test]
    fn fault_delay_outlasts_a_short_client_timeout() {
        let emu = start();
        emu.inject(Fault::next(FaultKind::Delay(Duration::from_secs(2)), 1));
        let auth = format!("Bearer {}", emu.config().token);
        let started = Instant::now();
        let result = call_with(
            &emu,
            "GET",
            &repo_path(&emu, "releases"),
            Some(&auth),
            None,
            Duration::from_millis(300),
        );
        let err = result.err().expect("the client times out");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // The emulator stops promptly even with the delayed request in flight.
        let stopping = Instant::now();
        drop(emu);
        assert!(stopping.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn response_schemas_catch_drift_and_accept_nullable() {
        let spec = Spec::load();
        let comment = json!({ "$ref": "#/components/schemas/issue-comment" });
        let emu = start();
        emu.seed_comment(1, "hello", "octocat");
        let mut value = emu.comments(1).remove(0);
        assert!(spec.check("t", &comment, &value).is_empty());
        value["performed_via_github_app"] = Value::Null;
        value["user"] = Value::Null;
        assert!(
            spec.check("t", &comment, &value).is_empty(),
            "nullable fields"
        );
        value["created_at"] = json!("yesterday");
        value.as_object_mut().unwrap().remove("node_id");
        let errors = spec.check("t", &comment, &value);
        assert_eq!(errors.len(), 2, "{errors:?}");
        let error = json!({ "$ref": "#/components/schemas/validation-error" });
        let mut invalid = json!({ "message": "m", "documentation_url": DOCS,
            "errors": [{ "code": "invalid", "value": null }] });
        assert!(
            spec.check("e", &error, &invalid).is_empty(),
            "null in a oneOf"
        );
        invalid["errors"][0]["value"] = json!(1.5);
        assert_eq!(spec.check("e", &error, &invalid).len(), 1);
    }

    #[test]
    fn keep_alive_connections_serve_several_requests() {
        let emu = start();
        let mut stream = TcpStream::connect(emu.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let token = emu.config().token;
        let path = repo_path(&emu, "issues/2/comments");
        for _ in 0..2 {
            write!(
                stream,
                "GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n"
            )
            .unwrap();
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap();
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
            assert!(text.ends_with("\r\n\r\n[]"), "{text}");
        }
        assert_eq!(emu.requests().len(), 2);
        emu.assert_no_violations();
    }
}
