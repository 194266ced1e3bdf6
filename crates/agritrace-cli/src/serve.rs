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
}

pub fn serve(g: &Global, a: &ServeArgs) -> Result<Outcome, Failure> {
    if a.demo && !g.store.exists() {
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
    let service = Arc::new(Service::new(store, operator, &public, !a.no_cache));
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
