//! `agritrace serve`: the trace service over the store.

use std::net::SocketAddr;
use std::sync::Arc;

use agritrace_web::{Service, router};
use clap::Args;

use crate::output::{note, open_store};
use crate::{Failure, Global, Outcome};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The public base URL of the pages (for their QR codes and links) [default: the
    /// listen address].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Trace every request afresh (no page cache).
    #[arg(long)]
    no_cache: bool,
    /// Build the demo cooperative into the store first, when there is no store yet.
    #[arg(long)]
    demo: bool,
    /// The in-browser verifier module (build it with `cargo build -p agritrace-wasm
    /// --target wasm32-unknown-unknown --profile wasm`): pages then offer "check it on this
    /// phone", and /verify serves the offline verifier.
    #[arg(long, value_name = "FILE", env = "AGRITRACE_WASM")]
    wasm: Option<std::path::PathBuf>,
}

/// Largest verifier module accepted (the built one is about 400 KiB).
const MAX_WASM_LEN: u64 = 16 * 1024 * 1024;

/// Reads the verifier module, refusing what is not one.
fn read_wasm(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read as _;
    let fail = |why: String| Failure::error(format!("verifier module {}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_WASM_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_WASM_LEN {
        return Err(fail(format!("larger than {MAX_WASM_LEN} bytes")));
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(fail("not a WebAssembly module".into()));
    }
    Ok(bytes)
}

pub fn serve(g: &Global, a: &ServeArgs) -> Result<Outcome, Failure> {
    if a.demo && !crate::output::store_exists(&g.store) {
        crate::ledger::demo(g, &crate::ledger::DemoArgs::default())?;
    }
    let store = open_store(&g.store)?;
    // The operator key signs checkpoints and bundles; without it those routes say so.
    let key = g.operator_key_path();
    let operator = if key.exists() {
        Some(crate::trust::operator(g, &store)?)
    } else {
        note(
            g.quiet,
            format!(
                "note: no operator key at {}: checkpoints and bundles are not served",
                key.display()
            ),
        );
        None
    };
    let public = a
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", a.listen));
    let wasm = a.wasm.as_deref().map(read_wasm).transpose()?;
    if wasm.is_some() && operator.is_none() {
        note(
            g.quiet,
            "note: pages offer the in-browser check only with the operator key (they pin its log key)",
        );
    }
    let mut service = Service::new(store, operator, &public, !a.no_cache);
    if let Some(wasm) = wasm {
        service = service.with_verifier(wasm);
    }
    let service = Arc::new(service);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the server: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .map_err(|e| Failure::error(format!("cannot listen on {}: {e}", a.listen)))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Failure::error(format!("cannot listen on {}: {e}", a.listen)))?;
        note(
            g.quiet,
            format!(
                "serving {} on http://{bound} (pages at {public}/eartag/…)",
                g.store.display()
            ),
        );
        axum::serve(listener, router(service))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Failure::error(format!("server: {e}")))
    })?;
    Ok(Outcome::Done)
}
