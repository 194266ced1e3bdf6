//! "Check it on this phone": the page's in-browser verification. The crate's own verifier,
//! compiled to WebAssembly (`crates/agritrace-wasm`), fetches the trace bundle and checks
//! it on the shopper's device against the log key the page pins, so the shopper's verdict
//! does not rest on this server's. The page works without it; the script only adds the
//! check. `/verify` is the same verifier as one self-contained page, to save and use
//! offline with a saved bundle.

use agritrace::{LogSigner, SubjectId};
use base64::Engine as _;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::json;

use crate::page::Lang;

/// The loader and page wiring, shared with the browser tests.
pub const SCRIPT: &str = include_str!("../../agritrace-wasm/js/agritrace-verify.js");

/// Where the page finds the script and the module.
pub const SCRIPT_PATH: &str = "/static/agritrace-verify.js";
/// Where the page finds the module.
pub const WASM_PATH: &str = "/static/agritrace.wasm";

pub(crate) const STYLE: &str = r"
a.button{display:inline-block;margin:.3rem 0;padding:.55rem 1rem;border-radius:.5rem;background:#233127;color:#fff;text-decoration:none;font-weight:600}
.phone-verdict{margin-top:.5rem;padding:.5rem .7rem;border-radius:.5rem}
.phone-verdict:empty{display:none}
.phone-verdict.ok{background:#e3f4e6;border:2px solid #2f8a45}
.phone-verdict.bad{background:#fbe4e1;border:2px solid #b3261e}
.phone-title{display:block;margin-bottom:.3rem}
input[type=file]{max-width:100%}
";

/// The keys a page pins, as the module reads them: the log's origin and note key, no
/// witnesses (this service's checkpoints are signed by the log alone), and the subject
/// the page is about, when there is one.
pub fn pins(log: &LogSigner, subject: Option<&SubjectId>) -> String {
    let mut pins = json!({
        "origin": log.origin(),
        "log": log.verifier().vkey(),
        "witnesses": [],
        "quorum": 0,
    });
    if let Some(s) = subject {
        pins["subject"] = json!(s.to_string());
    }
    pins.to_string()
}

/// The section on a trace page, next to the server's verdict: a link that runs the check
/// on this device, and a file input for a saved bundle.
pub fn section(lang: Lang, pins: &str, bundle: &str) -> Markup {
    html! {
        section #phone-check data-wasm=(WASM_PATH) data-bundle=(bundle) data-pins=(pins)
            data-lang=(lang.short()) {
            h2 { (lang.t("在本机验证", "Check it on this phone")) }
            p.small {
                (lang.t(
                    "上面的结论是服务器给出的。点下面的按钮，您的手机会下载溯源包，用本页固定的日志公钥自己验证每一条记录。",
                    "The verdict above is the server's. The button makes your phone fetch the trace bundle and check every record itself, against the log key this page pins."))
            }
            a.button href="#check" { (lang.t("在本机验证", "Check it on this phone")) }
            p.small {
                label {
                    (lang.t("或选择已保存的溯源包：", "Or a saved trace bundle: "))
                    input type="file" accept=".bundle,application/octet-stream";
                }
            }
            div.phone-verdict aria-live="polite" {}
            p.small {
                a href="/verify" { (lang.t("离线验证器（可保存本页）", "Offline verifier (save that page)")) }
            }
        }
    }
}

/// `/verify`: the module, the script and the pins in one page, so a saved copy checks
/// saved bundles with no network at all.
pub fn verifier_page(lang: Lang, pins: &str, wasm: &[u8]) -> Markup {
    let wasm = base64::engine::general_purpose::STANDARD.encode(wasm);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (lang.t("溯源包验证器 — agritrace", "Trace bundle verifier — agritrace")) }
                style { (PreEscaped(crate::page::STYLE)) (PreEscaped(STYLE)) }
            }
            body {
                header { strong { (lang.t("溯源包验证器", "Trace bundle verifier")) } }
                main {
                    section #phone-check data-wasm="#agritrace-wasm" data-pins=(pins)
                        data-lang=(lang.short()) {
                        h2 { (lang.t("在本机离线验证", "Verify on this device, offline")) }
                        p.small {
                            (lang.t(
                                "本页自带验证程序和日志公钥。保存本页后，无需网络即可验证已保存的溯源包。",
                                "This page carries the verifier and the log's key. Save it, and it checks saved trace bundles with no network."))
                        }
                        p.small { (lang.t("日志公钥：", "Log key: ")) code { (log_key(pins)) } }
                        p {
                            label {
                                (lang.t("选择溯源包：", "Choose a trace bundle: "))
                                input type="file" accept=".bundle,application/octet-stream";
                            }
                        }
                        div.phone-verdict aria-live="polite" {}
                    }
                }
                script #agritrace-wasm type="application/octet-stream" { (wasm) }
                script { (PreEscaped(SCRIPT.replace("</", "<\\/"))) }
            }
        }
    }
}

fn log_key(pins: &str) -> String {
    serde_json::from_str::<serde_json::Value>(pins)
        .ok()
        .and_then(|v| v["log"].as_str().map(str::to_owned))
        .unwrap_or_default()
}
