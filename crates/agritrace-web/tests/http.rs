//! Every route of the trace service, through the router: status codes, content types, the
//! linkset's shape, bundles and log proofs that verify, and ingestion of good, duplicate,
//! untrusted, malformed and oversized submissions (each refused with its reason, the store
//! unchanged).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::sync::{Arc, OnceLock};

use agritrace::demo::DemoConfig;
use agritrace::tlog::verify_inclusion;
use agritrace::{
    Chain, Event, LedgerReader, LogPolicy, MerkleTree, Policy, Signer, Store as _, SubjectId,
    Timestamp, TreeHash, verify_bundle, write_ledger,
};
use agritrace_web::{MAX_INGEST_BYTES, Service, router};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt as _;

const PIG: &str = "/eartag/161083000001001";
const PACK: &str = "/01/06901234561111/10/QJ1001-B-P1";

fn demo() -> DemoConfig {
    DemoConfig {
        pigs: 4,
        ..DemoConfig::new(2026)
    }
}

/// A service over a fresh in-memory demo store.
fn service() -> Arc<Service> {
    let cfg = demo();
    let store = cfg.create_store(None).unwrap();
    for batch in cfg.generate().records.chunks(1_000) {
        store.append_batch(batch).unwrap();
    }
    Arc::new(Service::new(
        store,
        Some(cfg.operator().unwrap()),
        "https://trace.example.cn",
        true,
    ))
}

fn shared() -> Arc<Service> {
    static S: OnceLock<Arc<Service>> = OnceLock::new();
    S.get_or_init(service).clone()
}

struct Got {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Got {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

async fn send(s: &Arc<Service>, req: Request<Body>) -> Got {
    let resp = router(s.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap()
        .to_vec();
    Got {
        status,
        content_type,
        body,
    }
}

async fn get(s: &Arc<Service>, uri: &str) -> Got {
    send(s, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get_with(s: &Arc<Service>, uri: &str, name: &str, value: &str) -> Got {
    send(
        s,
        Request::get(uri)
            .header(name, value)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post(s: &Arc<Service>, body: Vec<u8>) -> Got {
    send(
        s,
        Request::post("/records")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn pages_in_both_languages_and_the_digital_link_forms() {
    let s = shared();
    let zh = get(&s, PIG).await;
    assert_eq!(zh.status, StatusCode::OK);
    assert_eq!(zh.content_type, "text/html; charset=utf-8");
    for part in [
        "已验证",
        "Bamei",
        "15,000",
        "/chart/eartag/161083000001001",
        "/bundle/eartag/161083000001001",
        "<svg",
    ] {
        assert!(zh.text().contains(part), "{part} missing");
    }
    let en = get_with(&s, PIG, "accept-language", "en-GB,en;q=0.9").await;
    assert!(en.text().contains("VERIFIED") && en.text().contains("Daily goal"));
    assert!(
        get(&s, &format!("{PIG}?lang=en"))
            .await
            .text()
            .contains("Exercise and weight")
    );
    // A pack, by its GS1 Digital Link, traced back to its pig; GTIN-13 padded to 14.
    for uri in [PACK, "/01/6901234561111/10/QJ1001-B-P1"] {
        let pack = get(&s, &format!("{uri}?lang=en")).await;
        assert_eq!(pack.status, StatusCode::OK, "{uri}");
        assert!(pack.text().contains("From the animal"), "{uri}");
    }
    // Malformed and unknown IDs.
    let bad = get(&s, "/eartag/16108300000100?lang=en").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text().contains("ear tag must be 15 digits"),
        "{}",
        bad.text()
    );
    assert_eq!(
        get(&s, "/01/123/10/x").await.status,
        StatusCode::BAD_REQUEST
    );
    let unknown = get(&s, "/eartag/161083000009999?lang=en").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.text().contains("No records for this code"));
    assert_eq!(get(&s, "/nowhere").await.status, StatusCode::NOT_FOUND);
    // The search form redirects to the canonical page.
    let found = get(&s, "/lookup?id=161083000001001").await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&s, "/lookup?id=1610").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(get(&s, "/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn json_linkset_qr_chart_and_bundle() {
    let s = shared();
    for got in [
        get_with(&s, PIG, "accept", "application/json").await,
        get(&s, &format!("{PIG}?linkType=gs1:traceability")).await,
    ] {
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.content_type, "application/json");
        let j = got.json();
        assert_eq!(j["verification"]["verdict"], "verified");
        assert_eq!(j["animal"]["id"], "eartag:161083000001001");
    }
    let ls = get(&s, &format!("{PACK}?linkType=linkset")).await;
    assert_eq!(ls.content_type, "application/linkset+json");
    let j = ls.json();
    let set = &j["linkset"][0];
    assert_eq!(set["anchor"], format!("https://trace.example.cn{PACK}"));
    for rel in [
        "https://gs1.org/voc/defaultLink",
        "https://gs1.org/voc/pip",
        "https://gs1.org/voc/traceability",
    ] {
        assert!(set[rel][0]["href"].is_string(), "{rel}");
    }
    let qr = get(&s, &format!("/qr{PIG}")).await;
    assert_eq!(
        (qr.status, qr.content_type.as_str()),
        (StatusCode::OK, "image/svg+xml")
    );
    assert!(qr.text().contains("<svg"));
    let chart = get(&s, &format!("/chart{PIG}")).await;
    assert!(chart.text().contains("15,000 steps"));
    assert_eq!(
        get(&s, "/qr/eartag/1").await.status,
        StatusCode::BAD_REQUEST
    );

    let bundle = get(&s, &format!("/bundle{PACK}")).await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert_eq!(bundle.content_type, "application/octet-stream");
    let op = demo().operator().unwrap();
    let policy = LogPolicy::new(op.origin(), op.verifier().clone());
    let v = verify_bundle(&bundle.body, &policy, &Policy::livestock()).unwrap();
    assert_eq!(v.subject().to_string(), "lot:06901234561111/QJ1001-B-P1");
    assert_eq!(
        get(&s, "/bundle/eartag/161083000009999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_log_for_witnesses_and_auditors() {
    let s = shared();
    let cp = get(&s, "/checkpoint").await;
    assert_eq!(cp.content_type, "text/plain; charset=utf-8");
    let op = demo().operator().unwrap();
    let verified = LogPolicy::new(op.origin(), op.verifier().clone())
        .verify(&cp.text())
        .unwrap();
    let size = verified.size();
    // Rebuild the tree from the served records and check a served inclusion proof.
    let records = get(&s, &format!("/log/records?from=0&limit={size}")).await;
    let mut tree = MerkleTree::new();
    for r in LedgerReader::new(&records.body[..]).unwrap() {
        tree.push(TreeHash::of_signed(&r.unwrap()));
    }
    assert_eq!(tree.len(), size.min(10_000));
    let index = 7;
    let proof: Vec<TreeHash> = get(&s, &format!("/log/inclusion?index={index}&size={size}"))
        .await
        .text()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    verify_inclusion(
        &tree.leaf(index).unwrap(),
        index,
        size,
        &proof,
        verified.root(),
    )
    .unwrap();
    let c = get(&s, &format!("/log/consistency?old=5&new={size}")).await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(
        get(&s, &format!("/log/inclusion?index={size}&size={size}"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&s, "/log/inclusion?index=x").await.status,
        StatusCode::BAD_REQUEST
    );
}

/// A new pig's chain, signed by the demo's farm or `signer`.
fn new_pig(signer: Option<&Signer>, serial: u32) -> Vec<agritrace::SignedRecord> {
    let cfg = demo();
    let keys = cfg.keys();
    let template = cfg.pig_records(&keys, 0);
    let first = agritrace::RecordBody::decode(template[0].body()).unwrap();
    let farm = signer.unwrap_or(&keys.farms[0]);
    let id: SubjectId = format!("eartag:1610830{serial:08}").parse().unwrap();
    let mut chain = Chain::new(id);
    let Event::Registration(reg) = first.event().clone() else {
        panic!("the demo's first record registers")
    };
    let t = Timestamp::from_millis(1_767_225_600_000);
    vec![
        chain.append(farm, t, Event::Registration(reg)).unwrap(),
        chain
            .append(
                farm,
                t.saturating_add_millis(1),
                Event::Weighing { grams: 1_500 },
            )
            .unwrap(),
    ]
}

fn ledger(records: &[agritrace::SignedRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    write_ledger(&mut out, records).unwrap();
    out
}

#[tokio::test]
async fn ingestion_admits_only_what_verifies() {
    let s = service();
    let before = s.store().len().unwrap();
    let good = new_pig(None, 90_001);
    let ok = post(&s, ledger(&good)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let j = ok.json();
    assert_eq!(j["appended"], 2);
    assert_eq!(j["first_position"], before);
    // The same again: nothing appended, each record's position given.
    let again = post(&s, ledger(&good)).await.json();
    assert_eq!(again["appended"], 0);
    assert_eq!(again["already_stored"][1]["position"], before + 1);
    let after_good = s.store().len().unwrap();
    // Untrusted, malformed, oversized: refused with a reason, the store unchanged.
    let stranger = Signer::from_seed([0x5a; 32]);
    let untrusted = post(&s, ledger(&new_pig(Some(&stranger), 90_002))).await;
    assert_eq!(untrusted.status, StatusCode::UNPROCESSABLE_ENTITY);
    let j = untrusted.json();
    assert_eq!(j["index"], 0);
    assert!(j["reason"].as_str().unwrap().contains("not trusted"), "{j}");
    let garbage = post(&s, b"not a ledger".to_vec()).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(
        garbage.json()["error"]
            .as_str()
            .unwrap()
            .contains("not a ledger file")
    );
    let mut truncated = ledger(&new_pig(None, 90_003));
    truncated.truncate(truncated.len() - 3);
    assert_eq!(post(&s, truncated).await.status, StatusCode::BAD_REQUEST);
    let huge = post(&s, vec![0u8; MAX_INGEST_BYTES + 1]).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(s.store().len().unwrap(), after_good);
    // The page of the new pig is served at once (the cache follows the log).
    assert_eq!(
        get(&s, "/eartag/161083000090001").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_the_operator_key_checkpoints_and_bundles_say_so() {
    let cfg = demo();
    let store = cfg.create_store(None).unwrap();
    store
        .append_batch(&cfg.pigs_records(&cfg.keys(), 0..1))
        .unwrap();
    let s = Arc::new(Service::new(store, None, "http://localhost:8080", false));
    for uri in [
        "/checkpoint",
        "/bundle/eartag/161083000001001",
        "/log/inclusion?index=0&size=1",
    ] {
        let got = get(&s, uri).await;
        assert_eq!(got.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(got.text().contains("without the operator key"), "{uri}");
    }
    // Records are still served, as a ledger file.
    let records = get(&s, "/log/records?from=0&limit=5").await;
    assert_eq!(records.content_type, "application/octet-stream");
    assert_eq!(LedgerReader::new(&records.body[..]).unwrap().count(), 5);
    // Pages work without the cache too; a chart of an unknown ID is a 404.
    assert_eq!(get(&s, PIG).await.status, StatusCode::OK);
    assert_eq!(
        get(&s, "/chart/eartag/161083000009999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_in_browser_check_is_offered_only_with_the_verifier_and_the_log_key() {
    // Without the module: no section, no script, and the module and /verify say so.
    let plain = shared();
    let page = get(&plain, &format!("{PIG}?lang=en")).await.text();
    assert!(!page.contains("phone-check") && !page.contains("<script"));
    assert_eq!(
        get(&plain, agritrace_web::WASM_PATH).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&plain, "/verify").await.status, StatusCode::NOT_FOUND);

    // With it (any bytes serve here; the browser tests load the real module).
    let cfg = demo();
    let store = cfg.create_store(None).unwrap();
    store
        .append_batch(&cfg.pigs_records(&cfg.keys(), 0..1))
        .unwrap();
    let log = cfg.operator().unwrap();
    let vkey = log.verifier().vkey();
    let module = b"\0asm\x01\0\0\0".to_vec();
    let s = Arc::new(
        Service::new(store, Some(log), "https://trace.example.cn", true)
            .with_verifier(module.clone()),
    );
    let page = get(&s, &format!("{PIG}?lang=en")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for want in [
        "id=\"phone-check\"",
        "Check it on this phone",
        "href=\"#check\"",
        "type=\"file\"",
        "data-bundle=\"/bundle/eartag/161083000001001\"",
        "src=\"/static/agritrace-verify.js\"",
        "&quot;subject&quot;:&quot;eartag:161083000001001&quot;",
    ] {
        assert!(html.contains(want), "page lacks {want}");
    }
    assert!(html.contains(&vkey), "the page does not pin the log key");
    let wasm = get(&s, agritrace_web::WASM_PATH).await;
    assert_eq!(
        (wasm.status, wasm.content_type.as_str(), wasm.body),
        (StatusCode::OK, "application/wasm", module)
    );
    let script = get(&s, agritrace_web::SCRIPT_PATH).await;
    assert!(script.content_type.starts_with("text/javascript"));
    assert_eq!(script.text(), agritrace_web::SCRIPT);
    // The offline page carries the module inline and the key, and no subject.
    let offline = get(&s, "/verify?lang=zh").await;
    assert_eq!(offline.status, StatusCode::OK);
    let html = offline.text();
    assert!(html.contains("AGFzbQEAAAA="), "the module is not inline");
    assert!(html.contains(&vkey) && !html.contains("&quot;subject&quot;"));
    assert!(html.contains("溯源包验证器"));
}
