//! `burnrate serve --listen ADDR`: the HTTP API over an existing store.
//!
//! It prints `listening on http://ADDR` (the bound address, so `--listen 127.0.0.1:0`
//! tells which port the OS chose) on stdout once it accepts connections, and stops
//! gracefully on Ctrl-C or SIGTERM: it stops accepting, lets requests in flight finish, and
//! exits 0.
//!
//! The store is opened read-only, so `burnrate ingest` or `run` can write beside the
//! server; each answer reads the latest commit.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use burnrate::stores::EmbeddedReader;
use burnrate_api::{AppState, router};
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 lets the OS choose one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = super::listen_addr)]
    listen: SocketAddr,
    /// Worker threads of the async runtime (store reads run on a separate blocking pool).
    #[arg(value_parser = super::at_least_one, long, value_name = "N", default_value_t = 2)]
    workers: usize,
}

pub fn run(args: ServeArgs, data_dir: &Path) -> Result<std::process::ExitCode> {
    let store = EmbeddedReader::open_existing(data_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args.listen, AppState::new(Arc::new(store))))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Takes the API's address before any work starts (`run` and `demo`), so a busy port is
/// reported at once rather than after ingesting everything.
pub fn bind(listen: SocketAddr) -> Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!(
            "cannot listen on {listen}; pass --listen with a free address (port 0 lets the \
             OS choose one), or --no-serve"
        )
    })?;
    listener
        .set_nonblocking(true)
        .context("setting up the API's socket")?;
    Ok(listener)
}

/// Serves the API on a background thread (for `run` and `demo`, whose main thread runs
/// the pipeline) on a socket from [`bind`]. Returns once it accepts connections, with the
/// bound address; the server lives until the process ends.
pub fn spawn_background(listener: std::net::TcpListener, state: AppState) -> Result<SocketAddr> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("burnrate-api".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow::anyhow!("starting the async runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::anyhow!("cannot serve the API: {e}")));
                        return;
                    }
                };
                let bound = listener.local_addr();
                let _ = ready_tx.send(bound.map_err(anyhow::Error::from));
                if let Err(e) = axum::serve(listener, router(state)).await {
                    eprintln!("error: the API stopped: {e}");
                }
            });
        })
        .context("starting the API thread")?;
    ready_rx
        .recv()
        .context("the API thread ended before listening")?
}

async fn serve(listen: SocketAddr, state: AppState) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen}; pass --listen with a free address (port 0 lets \
                 the OS choose one)"
            )
        })?;
    let bound = listener.local_addr().context("reading the bound address")?;
    println!("listening on http://{bound}");
    std::io::stdout().flush().context("writing to stdout")?;
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    eprintln!("stopped");
    Ok(())
}

/// A flag set on the first Ctrl-C or SIGTERM, for the watch loops of `run` and `demo`:
/// they finish the delivery in hand, close the store, and exit. Listens on its own thread.
pub fn stop_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let set = flag.clone();
    let listener = std::thread::Builder::new()
        .name("burnrate-signals".into())
        .spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(shutdown_signal());
                set.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
    // Without the listener, a signal keeps its default action: the process stops, which
    // the store survives too.
    drop(listener);
    flag
}

/// Resolves on Ctrl-C or SIGTERM. If a handler cannot be installed, that signal is simply
/// not awaited (the process then dies by the signal's default action, which is still a stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
