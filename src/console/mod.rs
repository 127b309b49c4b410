//! `dialer serve`: the campaign console. A JSON API and a live web UI for campaigns, SSE
//! streams of call-state changes, Prometheus metrics, and trace playback, in one actix-web
//! server whose pages are embedded in the binary.
//!
//! - [`manager`]: the campaigns: create, start, pause, resume, stop, pacing changes, samples;
//! - [`state_file`]: `--state FILE`: the campaigns kept in SQLite across restarts;
//! - [`api`]: the HTTP routes, SSE and the request log;
//! - [`auth`]: the admin token, sessions, CSRF;
//! - [`metrics`]: `/metrics` in Prometheus text format;
//! - [`playback`]: recorded traces shown as a running campaign;
//! - [`leads_csv`]: lead lists uploaded as CSV;
//! - [`demo`]: `--demo`: an embedded fake PortaSwitch and a running demo campaign;
//! - [`assets`]: the embedded pages, script and styles.
//!
//! The console carries an admin's orders to the engine and shows what the engine reports; it
//! decides nothing about calls or pacing, and a simulation never touches it.

pub mod api;
pub mod assets;
pub mod auth;
pub mod demo;
pub mod leads_csv;
pub mod manager;
pub mod metrics;
pub mod playback;
pub mod state_file;

use crate::portaswitch::client::Secret;
use actix_web::{App, HttpServer, web};
use manager::{CampaignManager, ManagerSettings};
use state_file::{StateFile, StateFileError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How the console is set up.
#[derive(Clone, Debug)]
pub struct ConsoleSettings {
    pub listen: SocketAddr,
    pub token: Secret,
    /// Mark the session cookie `Secure` (behind HTTPS).
    pub cookie_secure: bool,
    /// Start the embedded fake switch and a demo campaign.
    pub demo: bool,
    pub manager: ManagerSettings,
    /// Keep the campaigns in this SQLite file, and load those it holds at start; without it
    /// they live in memory and a restart forgets them.
    pub state_file: Option<PathBuf>,
    /// HTTP worker threads.
    pub workers: usize,
}

impl ConsoleSettings {
    pub fn new(listen: SocketAddr, token: Secret) -> ConsoleSettings {
        ConsoleSettings {
            listen,
            token,
            cookie_secure: false,
            demo: false,
            manager: ManagerSettings::default(),
            state_file: None,
            workers: 2,
        }
    }
}

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the demo: {0}")]
    Demo(String),
    #[error("cannot start the console runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    State(#[from] StateFileError),
}

impl ConsoleError {
    /// Whether an argument or a file given to the console is at fault (a state file that is
    /// unreadable, corrupt or of another kind), rather than the machine.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ConsoleError::State(_))
    }
}

/// A running console.
pub struct Console {
    pub address: SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
    pub manager: Arc<CampaignManager>,
    pub demo: Option<demo::Demo>,
}

/// Starts the console on the current actix System.
pub fn start(settings: ConsoleSettings) -> Result<Console, ConsoleError> {
    let manager = match &settings.state_file {
        Some(path) => {
            CampaignManager::with_state_file(settings.manager.clone(), StateFile::open(path)?)?
        }
        None => CampaignManager::new(settings.manager.clone()),
    };
    let manager = Arc::new(manager);
    let demo = if settings.demo {
        Some(demo::start(&manager).map_err(ConsoleError::Demo)?)
    } else {
        None
    };
    let state = web::Data::new(api::ConsoleState {
        manager: manager.clone(),
        token: settings.token.clone(),
        sessions: auth::Sessions::default(),
        cookie_secure: settings.cookie_secure,
        demo_template: demo.as_ref().map(|d| d.template.clone()),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(api::BODY_LIMIT))
            .app_data(web::JsonConfig::default().limit(api::BODY_LIMIT))
            .wrap(actix_web::middleware::from_fn(api::log_and_harden))
            .configure(api::configure)
    })
    .workers(settings.workers.max(1))
    .disable_signals()
    .shutdown_timeout(2)
    .bind(settings.listen)
    .map_err(|source| ConsoleError::Listen {
        address: settings.listen.to_string(),
        source,
    })?;
    let address = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| ConsoleError::Listen {
            address: settings.listen.to_string(),
            source: std::io::Error::other("bound no address"),
        })?;
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok(Console {
        address,
        handle,
        manager,
        demo,
    })
}

/// Runs the console until Ctrl-C (or SIGTERM); `on_ready` hears the console once it listens.
pub fn serve(
    settings: ConsoleSettings,
    on_ready: impl FnOnce(&Console) -> std::io::Result<()>,
) -> Result<(), ConsoleError> {
    let system = actix::System::new();
    let result = system.block_on(async move {
        let console = start(settings)?;
        on_ready(&console).map_err(ConsoleError::Runtime)?;
        wait_for_signal().await;
        tracing::warn!("stopping the console: ending every campaign now");
        console.handle.stop(true).await;
        let manager = console.manager.clone();
        // Joining campaign threads blocks; do it off the runtime.
        let _ = tokio::task::spawn_blocking(move || manager.shutdown()).await;
        drop(console.demo);
        Ok(())
    });
    drop(system);
    result
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = actix_rt::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = actix_rt::signal::ctrl_c().await;
}

/// A console on its own thread and System, for tests.
pub struct ConsoleThread {
    pub address: SocketAddr,
    pub manager: Arc<CampaignManager>,
    server: crate::runtime::ServerThread,
    demo: Option<demo::Demo>,
}

impl ConsoleThread {
    pub fn spawn(settings: ConsoleSettings) -> Result<ConsoleThread, ConsoleError> {
        let (console, server) = crate::runtime::ServerThread::spawn(
            move || start(settings),
            |console: &Console| console.handle.clone(),
        )
        .ok_or_else(|| ConsoleError::Demo("the console thread died".into()))??;
        Ok(ConsoleThread {
            address: console.address,
            manager: console.manager,
            server,
            demo: console.demo,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The demo's fake switch, in `--demo`.
    pub fn demo(&self) -> Option<&demo::Demo> {
        self.demo.as_ref()
    }
}

impl Drop for ConsoleThread {
    fn drop(&mut self) {
        self.manager.shutdown();
        self.server.stop();
        self.demo.take();
    }
}
