//! The agritrace trace service: a shopper scans a pig's identity code and sees its life,
//! verified; farm back-ends and gateways submit signed records; witnesses and auditors
//! follow the log.
//!
//! [`router`] builds the axum router over a [`Service`] (a store, the operator key for
//! checkpoints and bundles, the public URL). The core crate stays synchronous: every store
//! call runs on a blocking thread.
//!
//! | route | what |
//! |---|---|
//! | `GET /eartag/{15 digits}`, `/iso11784/{15 digits}`, `/01/{GTIN}/10/{lot}` | the page (HTML); JSON with `Accept: application/json` or `?linkType=gs1:traceability`; an RFC 9264 linkset with `?linkType=linkset` |
//! | `GET /qr/{page path}` | the page URL's QR code (SVG) |
//! | `GET /chart/{page path}` | the weight and steps chart (SVG) |
//! | `GET /bundle/{page path}` | the offline trace bundle |
//! | `GET /checkpoint` | the log's latest signed checkpoint (C2SP) |
//! | `GET /log/inclusion?index=I&size=N`, `/log/consistency?old=M&new=N` | proofs, one hash per line |
//! | `GET /log/records?from=P&limit=L` | records in log order, as a ledger file |
//! | `POST /records` | a ledger file of signed records, admitted only if they verify |

mod ids;
mod page;
mod phone;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use agritrace::{
    LedgerReader, LogSigner, MerkleTree, Policy, SignedRecord, Store, StoreError, SubjectId, Trace,
    TraceBundle, TraceError, TraceFailure, sync_tree, write_ledger,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

pub use ids::{BadId, from_path, path_of};
pub use page::Lang;
pub use phone::{SCRIPT, SCRIPT_PATH, WASM_PATH};

/// Largest ingestion request body: a ledger file of at most 8 MiB.
pub const MAX_INGEST_BYTES: usize = 8 * 1024 * 1024;
/// Most records served by one `/log/records` request.
pub const MAX_LOG_PAGE: usize = 10_000;
/// Traces kept by the page cache.
const CACHE_ENTRIES: usize = 4_096;
/// How long a cached trace is served before it is verified again even if the log has not
/// grown (a store changed behind the service's back shows within this time).
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// What the service serves from.
pub struct Service {
    /// A SQLite or a PostgreSQL store (or any other), chosen at run time.
    store: Box<dyn Store + Send + Sync>,
    operator: Option<LogSigner>,
    public_url: String,
    cache: Option<Mutex<HashMap<SubjectId, Cached>>>,
    log: Mutex<LogState>,
    /// The in-browser verifier (`agritrace_wasm.wasm`), when served.
    verifier: Option<Bytes>,
}

#[derive(Clone)]
struct Cached {
    log_size: u64,
    made: std::time::Instant,
    result: Arc<Verified>,
}

/// A trace and when it was verified, with its pages as rendered so far.
struct Verified {
    at: String,
    result: Result<Trace, Failure>,
    /// Rendered answers by language and JSON-or-HTML: a cached trace renders once.
    rendered: Mutex<HashMap<(Lang, bool), Rendered>>,
}

/// An answer ready to send.
#[derive(Clone)]
struct Rendered {
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
}

impl IntoResponse for Rendered {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response()
    }
}

/// A trace that did not verify, kept for the page that says so.
#[derive(Clone, Debug)]
enum Failure {
    NotFound,
    Verify(Vec<TraceFailure>),
    Damaged(String),
    Other(String),
}

#[derive(Default)]
struct LogState {
    tree: MerkleTree,
    /// The checkpoint signed for the tree's current size.
    checkpoint: Option<(u64, String)>,
}

impl Service {
    /// A service over `store`. `operator` signs checkpoints and bundles (without it those
    /// routes answer 503); `public_url` is the base of the pages' own URLs and QR codes;
    /// `cache` keeps verified traces until the log grows, for at most a minute.
    pub fn new(
        store: impl Store + Send + Sync + 'static,
        operator: Option<LogSigner>,
        public_url: &str,
        cache: bool,
    ) -> Self {
        Self {
            store: Box::new(store),
            operator,
            public_url: public_url.trim_end_matches('/').to_owned(),
            cache: cache.then(|| Mutex::new(HashMap::new())),
            log: Mutex::new(LogState::default()),
            verifier: None,
        }
    }

    /// Serves the in-browser verifier: `wasm` is the module built from
    /// `crates/agritrace-wasm`. Trace pages then offer "check it on this phone" (which needs
    /// the operator key, whose log key the page pins), and `/verify` is the offline
    /// verifier page.
    #[must_use]
    pub fn with_verifier(mut self, wasm: Vec<u8>) -> Self {
        self.verifier = Some(Bytes::from(wasm));
        self
    }

    /// The pins a page about `subject` carries, when the in-browser check is offered.
    fn phone_pins(&self, subject: Option<&SubjectId>) -> Option<String> {
        self.verifier.as_ref()?;
        Some(phone::pins(self.operator.as_ref()?, subject))
    }

    /// The store served.
    pub fn store(&self) -> &(dyn Store + Send + Sync) {
        &self.store
    }

    /// The trace of `id`, from the cache when the log has not grown since.
    fn trace(&self, id: &SubjectId) -> Result<Arc<Verified>, StoreError> {
        let size = self.store.len()?;
        if let Some(c) = &self.cache {
            let cache = c.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(hit) = cache
                .get(id)
                .filter(|h| h.log_size == size && h.made.elapsed() < CACHE_TTL)
            {
                return Ok(hit.result.clone());
            }
        }
        let trust = self.store.trust_history()?.trust().clone();
        let result = Arc::new(Verified {
            rendered: Mutex::new(HashMap::new()),
            at: now_utc(),
            result: agritrace::trace(&self.store, &trust, &Policy::livestock(), id).map_err(|e| {
                match e {
                    TraceError::NotFound(_) => Failure::NotFound,
                    TraceError::Verify(f) => Failure::Verify(f),
                    e @ TraceError::Damaged { .. } => Failure::Damaged(e.to_string()),
                    other => Failure::Other(other.to_string()),
                }
            }),
        });
        // A store error is not an answer about the ID: it is not kept.
        let keep = !matches!(result.result, Err(Failure::Other(_)));
        if let Some(c) = self.cache.as_ref().filter(|_| keep) {
            let mut cache = c.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(
                id.clone(),
                Cached {
                    log_size: size,
                    made: std::time::Instant::now(),
                    result: result.clone(),
                },
            );
        }
        Ok(result)
    }

    /// The tree synced to the store and a checkpoint signed for its size.
    fn head(&self) -> Result<(u64, String), Response> {
        let Some(op) = &self.operator else {
            return Err(no_operator());
        };
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let size = sync_tree(&mut log.tree, &self.store).map_err(server_error)?;
        if let Some((s, note)) = &log.checkpoint
            && *s == size
        {
            return Ok((size, note.clone()));
        }
        let root = log.tree.root(size).map_err(server_error)?;
        let note = op.sign(size, root).map_err(server_error)?;
        log.checkpoint = Some((size, note.clone()));
        Ok((size, note))
    }
}

/// The router: pages, QR codes, charts, bundles, the log, and ingestion.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/lookup", get(lookup))
        .route("/eartag/{digits}", get(page_route))
        .route("/iso11784/{digits}", get(page_route))
        .route("/01/{gtin}/10/{lot}", get(page_route))
        .route("/qr/{*path}", get(qr))
        .route("/chart/{*path}", get(chart))
        .route("/bundle/{*path}", get(bundle))
        .route("/checkpoint", get(checkpoint))
        .route("/log/inclusion", get(inclusion))
        .route("/log/consistency", get(consistency))
        .route("/log/records", get(log_records))
        .route("/records", axum::routing::post(ingest))
        .route("/verify", get(verifier_page))
        .route(phone::SCRIPT_PATH, get(script))
        .route(phone::WASM_PATH, get(wasm))
        .layer(DefaultBodyLimit::max(MAX_INGEST_BYTES))
        .fallback(not_found)
        .with_state(service)
}

type Shared = State<Arc<Service>>;

/// Now, as `2026-11-30 01:26 UTC`.
fn now_utc() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let t = agritrace::Timestamp::from_millis(ms).to_string();
    // 2026-11-30T01:26:07.123Z → 2026-11-30 01:26 UTC
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => t,
    }
}

fn lang(q: &HashMap<String, String>, headers: &HeaderMap) -> Lang {
    Lang::choose(
        q.get("lang").map(String::as_str),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn html(status: StatusCode, m: &maud::Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        m.0.clone(),
    )
        .into_response()
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn server_error(e: impl std::fmt::Display) -> Response {
    text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
}

fn no_operator() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "this service was started without the operator key, so it signs no checkpoints or bundles\n"
            .to_owned(),
    )
}

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(server_error)?
}

async fn index(Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    html(StatusCode::OK, &page::index(lang(&q, &headers)))
}

async fn not_found(Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let l = lang(&q, &headers);
    html(
        StatusCode::NOT_FOUND,
        &page::problem(l, "找不到该页面", "No such page", "/"),
    )
}

async fn lookup(Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let l = lang(&q, &headers);
    let typed = q.get("id").map_or("", String::as_str);
    match SubjectId::parse_typed(typed) {
        Ok(id) => Redirect::to(&path_of(&id)).into_response(),
        Err(e) => html(
            StatusCode::BAD_REQUEST,
            &page::problem(
                l,
                "溯源码格式不正确",
                "Not a valid identity code",
                &e.to_string(),
            ),
        ),
    }
}

async fn page_route(
    State(s): Shared,
    uri: axum::http::Uri,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let l = lang(&q, &headers);
    // The path as sent, decoded once: the lot may hold an encoded `/`.
    let raw = uri.path();
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let id = match from_path(&decoded) {
        Ok(id) => id,
        Err(e) => {
            return html(
                StatusCode::BAD_REQUEST,
                &page::problem(l, "溯源码格式不正确", "Not a valid identity code", &e.0),
            );
        }
    };
    let url = format!("{}{}", s.public_url, path_of(&id));
    let link_type = q.get("linkType").map(String::as_str);
    if link_type == Some("linkset") {
        return linkset(&s, &id);
    }
    let wants_json = link_type == Some("gs1:traceability")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
    let svc = s.clone();
    blocking(move || {
        let verified = svc.trace(&id).map_err(server_error)?;
        let mut done = verified
            .rendered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let r = done.entry((l, wants_json)).or_insert_with(|| {
            let phone = svc.phone_pins(Some(&id));
            render(l, wants_json, &verified, &id, &url, phone.as_deref())
        });
        Ok(r.clone())
    })
    .await
    .map_or_else(|e| e, IntoResponse::into_response)
}

/// The answer for a trace: its page or its JSON, or what went wrong.
fn render(
    l: Lang,
    json: bool,
    v: &Verified,
    id: &SubjectId,
    url: &str,
    phone: Option<&str>,
) -> Rendered {
    let page = |status, m: maud::Markup| Rendered {
        status,
        content_type: "text/html; charset=utf-8",
        body: Bytes::from(m.into_string()),
    };
    let data = |status, v: serde_json::Value| Rendered {
        status,
        content_type: "application/json",
        body: Bytes::from(v.to_string()),
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match (&v.result, json) {
        (Ok(t), true) => data(StatusCode::OK, json!(t)),
        (Ok(t), false) => {
            let qr = qr_svg(url).unwrap_or_default();
            page(
                StatusCode::OK,
                page::trace(l, t, &v.at, id, url, &qr, phone),
            )
        }
        (Err(Failure::NotFound), true) => data(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no records for {id}")}),
        ),
        (Err(Failure::NotFound), false) => page(
            StatusCode::NOT_FOUND,
            page::problem(
                l,
                "没有这个溯源码的记录",
                "No records for this code",
                &id.to_string(),
            ),
        ),
        (Err(Failure::Verify(f)), true) => data(
            unprocessable,
            json!({"verdict": "not verified", "failures": f.iter().map(ToString::to_string).collect::<Vec<_>>()}),
        ),
        (Err(Failure::Verify(f)), false) => page(unprocessable, page::not_verified(l, id, f, url)),
        (Err(Failure::Damaged(what)), true) => data(
            unprocessable,
            json!({"verdict": "not verified", "damage": what}),
        ),
        (Err(Failure::Damaged(what)), false) => {
            page(unprocessable, page::damaged(l, id, what, url))
        }
        (Err(Failure::Other(e)), _) => Rendered {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            content_type: "text/plain; charset=utf-8",
            body: Bytes::from(format!("{e}\n")),
        },
    }
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// An RFC 9264 linkset in the GS1 resolver's conventions.
fn linkset(s: &Service, id: &SubjectId) -> Response {
    let path = path_of(id);
    let anchor = format!("{}{path}", s.public_url);
    let body = json!({
        "linkset": [{
            "anchor": anchor,
            "https://gs1.org/voc/defaultLink": [{"href": anchor, "type": "text/html", "hreflang": ["zh", "en"]}],
            "https://gs1.org/voc/pip": [{"href": anchor, "title": "Traceability page", "type": "text/html", "hreflang": ["zh", "en"]}],
            "https://gs1.org/voc/traceability": [{"href": format!("{anchor}?linkType=gs1:traceability"), "title": "The verified trace", "type": "application/json"}],
            "https://agritrace.dev/voc/traceBundle": [{"href": format!("{}/bundle{path}", s.public_url), "title": "Offline trace bundle", "type": "application/octet-stream"}],
        }]
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/linkset+json")],
        body.to_string(),
    )
        .into_response()
}

fn qr_svg(url: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

fn id_from_wildcard(path: &str) -> Result<SubjectId, Response> {
    from_path(path).map_err(|e| text(StatusCode::BAD_REQUEST, format!("{}\n", e.0)))
}

async fn qr(State(s): Shared, Path(path): Path<String>) -> Response {
    let id = match id_from_wildcard(&path) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let url = format!("{}{}", s.public_url, path_of(&id));
    match qr_svg(&url) {
        Some(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        None => server_error("the URL is too long for a QR code"),
    }
}

async fn chart(State(s): Shared, Path(path): Path<String>) -> Response {
    let id = match id_from_wildcard(&path) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let svc = s.clone();
    let result = match blocking(move || svc.trace(&id).map_err(server_error)).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match &result.result {
        Ok(t) => match t.svg() {
            Some(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
            None => text(StatusCode::NOT_FOUND, "no animal to chart\n".into()),
        },
        Err(Failure::NotFound) => text(StatusCode::NOT_FOUND, "no records\n".into()),
        Err(_) => text(StatusCode::UNPROCESSABLE_ENTITY, "not verified\n".into()),
    }
}

async fn bundle(State(s): Shared, Path(path): Path<String>) -> Response {
    let id = match id_from_wildcard(&path) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let svc = s.clone();
    let made = blocking(move || {
        let (_, note) = svc.head()?;
        let Some(op) = &svc.operator else {
            return Err(no_operator());
        };
        let trust = svc
            .store
            .trust_history()
            .map_err(server_error)?
            .trust()
            .clone();
        let log = svc.log.lock().unwrap_or_else(PoisonError::into_inner);
        match TraceBundle::export(&svc.store, &log.tree, &note, op, &trust, &id) {
            Ok(b) => b.to_bytes().map_err(server_error),
            Err(agritrace::BundleError::Trace(e)) if matches!(*e, TraceError::NotFound(_)) => Err(
                text(StatusCode::NOT_FOUND, format!("no records for {id}\n")),
            ),
            Err(e) => Err(server_error(e)),
        }
    })
    .await;
    match made {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"trace.bundle\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(r) => r,
    }
}

/// The in-browser check's script.
async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        Bytes::from_static(phone::SCRIPT.as_bytes()),
    )
}

/// A static asset, cacheable for an hour.
fn asset(content_type: &'static str, body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The verifier module, when served.
async fn wasm(State(s): Shared) -> Response {
    match &s.verifier {
        Some(bytes) => asset("application/wasm", bytes.clone()),
        None => text(
            StatusCode::NOT_FOUND,
            "this service does not serve the in-browser verifier\n".into(),
        ),
    }
}

/// The offline verifier: module, script and pins in one page.
async fn verifier_page(
    State(s): Shared,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let l = lang(&q, &headers);
    match (&s.verifier, s.phone_pins(None)) {
        (Some(wasm), Some(pins)) => html(StatusCode::OK, &phone::verifier_page(l, &pins, wasm)),
        _ => html(
            StatusCode::NOT_FOUND,
            &page::problem(
                l,
                "本服务未提供本机验证器",
                "This service does not serve the in-browser verifier",
                "agritrace serve --wasm FILE",
            ),
        ),
    }
}

async fn checkpoint(State(s): Shared) -> Response {
    match blocking(move || s.head()).await {
        Ok((_, note)) => text(StatusCode::OK, note),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: u64,
    size: u64,
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

fn hash_lines(hashes: &[agritrace::TreeHash]) -> String {
    hashes.iter().fold(String::new(), |mut out, h| {
        out.push_str(&h.to_string());
        out.push('\n');
        out
    })
}

/// A proof from the log's tree, one hash per line; 400 for sizes the tree cannot prove.
async fn proof(
    s: Arc<Service>,
    make: impl FnOnce(&MerkleTree) -> Result<Vec<agritrace::TreeHash>, agritrace::tlog::ProofError>
    + Send
    + 'static,
) -> Response {
    let r = blocking(move || {
        s.head()?;
        let log = s.log.lock().unwrap_or_else(PoisonError::into_inner);
        make(&log.tree)
            .map(|p| hash_lines(&p))
            .map_err(|e| text(StatusCode::BAD_REQUEST, format!("{e}\n")))
    })
    .await;
    r.map_or_else(|e| e, |body| text(StatusCode::OK, body))
}

async fn inclusion(State(s): Shared, Query(q): Query<InclusionQuery>) -> Response {
    proof(s, move |t| t.inclusion_proof(q.index, q.size)).await
}

async fn consistency(State(s): Shared, Query(q): Query<ConsistencyQuery>) -> Response {
    proof(s, move |t| t.consistency_proof(q.old, q.new)).await
}

#[derive(Deserialize)]
struct RecordsQuery {
    from: u64,
    limit: Option<usize>,
}

async fn log_records(State(s): Shared, Query(q): Query<RecordsQuery>) -> Response {
    let limit = q.limit.unwrap_or(1_000).clamp(1, MAX_LOG_PAGE);
    let r = blocking(move || {
        let page = s.store.read_log(q.from, limit).map_err(server_error)?;
        let mut out = Vec::new();
        write_ledger(&mut out, page.iter().map(|(_, r)| r)).map_err(server_error)?;
        Ok(out)
    })
    .await;
    match r {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        Err(e) => e,
    }
}

/// `POST /records`: a ledger file. All or nothing: every record not yet stored must be
/// admitted (it verifies and extends its chain), or none is; records already stored are
/// answered with their positions (a retry is safe). The answer comes after the commit.
async fn ingest(State(s): Shared, body: Bytes) -> Response {
    let records: Vec<SignedRecord> =
        match LedgerReader::new(&body[..]).and_then(Iterator::collect::<Result<Vec<_>, _>>) {
            Ok(r) => r,
            Err(e) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": format!("not a ledger file: {e}")}),
                );
            }
        };
    let r = blocking(move || {
        // Each record's ID is hashed once here (the store hashes it again when admitting).
        let mut fresh = Vec::with_capacity(records.len());
        let mut fresh_ids = Vec::with_capacity(records.len());
        let mut index_of = Vec::with_capacity(records.len());
        let mut stored = Vec::new();
        for (i, r) in records.into_iter().enumerate() {
            let id = r.id();
            if let Some((pos, _)) = s.store.get(&id).map_err(server_error)? {
                stored.push(json!({"index": i, "record": id.to_string(), "position": pos}));
            } else {
                fresh.push(r);
                fresh_ids.push(id);
                index_of.push(i);
            }
        }
        match s.store.append_batch(&fresh) {
            Ok(first) => Ok(json_response(
                StatusCode::OK,
                &json!({
                    "appended": fresh.len(),
                    "first_position": first,
                    "records": fresh_ids.iter().zip(first..).map(|(id, position)| json!({"record": id.to_string(), "position": position})).collect::<Vec<_>>(),
                    "already_stored": stored,
                }),
            )),
            Err(StoreError::Refused {
                index,
                subject,
                record,
                conflict,
            }) => Ok(json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({
                    "error": "refused; nothing of this request was appended",
                    "index": index_of.get(index).copied().unwrap_or(index),
                    "subject": subject.map(|s| s.to_string()),
                    "record": record.to_string(),
                    "reason": conflict.to_string(),
                }),
            )),
            Err(e) => Err(server_error(e)),
        }
    })
    .await;
    r.unwrap_or_else(|e| e)
}
