//! One warm runner process (`katalusis_runner.py serve`) for one run and one
//! trust level. The runner builds the sandbox; this side only spawns it,
//! writes job lines and forwards the events it prints.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use katalusis_crds::TrustLevel;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use super::snapshot::trust_str;
use crate::config::{SandboxMode, Settings};

/// What a pool reports to the run that owns it.
#[derive(Debug)]
pub enum PoolEvent {
    /// A `log`, `progress` or `finished` event of a job (the parsed line).
    Job(Value),
    /// The runner process ended or its output became unreadable.
    Died(String),
}

pub struct Pool {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Option<mpsc::UnboundedReceiver<PoolEvent>>,
}

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The runner invocation (`serve` for a warm pool, `exec` for one job) with
/// piped stdio and a clean environment. The runner builds the sandbox itself.
pub(super) fn runner_command(
    settings: &Settings,
    runner: &Path,
    subcommand: &str,
    trust: TrustLevel,
) -> Command {
    let sandbox = match settings.sandbox {
        SandboxMode::Bwrap => "bwrap",
        SandboxMode::None => "none",
    };
    // The runner gets a clean environment: server secrets (database URL,
    // JWT key) must never reach node code, not even in trusted pools.
    let mut cmd = Command::new(&settings.python);
    cmd.env_clear();
    for var in [
        "PATH",
        "LANG",
        "LC_ALL",
        "TZ",
        "HOME",
        "PYENV_ROOT",
        "PYENV_VERSION",
    ] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.env("KATALUSIS_RUNNER_BWRAP", &settings.bwrap_path)
        .arg(runner)
        .args([
            subcommand,
            "--sandbox",
            sandbox,
            "--trust",
            trust_str(trust),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

impl Pool {
    /// Starts the runner and waits for its `ready` line. The error is a
    /// sentence for the node's failure message (for example why the sandbox
    /// could not be built).
    pub async fn start(
        settings: &Settings,
        runner: &Path,
        trust: TrustLevel,
    ) -> Result<Self, String> {
        let (events, events_rx) = mpsc::unbounded_channel();
        let mut child = runner_command(settings, runner, "serve", trust)
            .spawn()
            .map_err(|e| format!("could not start the node runner ({}): {e}", settings.python))?;
        let stdout = child.stdout.take().ok_or("runner stdout missing")?;
        let stderr = child.stderr.take().ok_or("runner stderr missing")?;
        let stdin = child.stdin.take();

        // stderr is diagnostics only; keep the launcher's `fatal` message for the error.
        let (fatal_tx, mut fatal_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) if v["type"] == "fatal" => {
                        let _ = fatal_tx.send(v["message"].as_str().unwrap_or(&line).to_string());
                    }
                    _ => tracing::warn!(runner = %line, "node runner stderr"),
                }
            }
        });

        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        if serde_json::from_str::<Value>(&line).is_ok_and(|v| v["type"] == "ready")
                        {
                            return true;
                        }
                    }
                    _ => return false,
                }
            }
        })
        .await;
        if ready != Ok(true) {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            // Give the stderr reader a moment to deliver the fatal line.
            let fatal = tokio::time::timeout(Duration::from_millis(500), fatal_rx.recv())
                .await
                .ok()
                .flatten();
            return Err(match fatal {
                Some(m) => format!("the {} sandbox could not be started: {m}", trust_str(trust)),
                None if ready.is_err() => "the node runner did not become ready in time".into(),
                None => "the node runner exited before it was ready".into(),
            });
        }

        tokio::spawn(async move {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => match serde_json::from_str::<Value>(&line) {
                        Ok(v) => {
                            if events.send(PoolEvent::Job(v)).is_err() {
                                return;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "unreadable runner line"),
                    },
                    Ok(None) => {
                        let _ = events.send(PoolEvent::Died("the node runner exited".into()));
                        return;
                    }
                    Err(e) => {
                        let _ = events.send(PoolEvent::Died(format!(
                            "reading the node runner failed: {e}"
                        )));
                        return;
                    }
                }
            }
        });
        Ok(Self {
            child,
            stdin,
            events: Some(events_rx),
        })
    }

    /// Hands the pool's events to the run that adopted it, tagged with its trust level.
    pub fn attach(
        &mut self,
        trust: TrustLevel,
        to: mpsc::UnboundedSender<(TrustLevel, PoolEvent)>,
    ) {
        if let Some(mut rx) = self.events.take() {
            tokio::spawn(async move {
                while let Some(ev) = rx.recv().await {
                    if to.send((trust, ev)).is_err() {
                        return;
                    }
                }
            });
        }
    }

    /// Whether the runner process is still alive (a spare may have died while waiting).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Writes one protocol message.
    pub async fn send(&mut self, msg: &Value) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "runner stdin closed")
        })?;
        let mut line = serde_json::to_vec(msg)?;
        line.push(b'\n');
        stdin.write_all(&line).await?;
        stdin.flush().await
    }

    /// Closes stdin (the runner kills leftover jobs and exits), then waits
    /// briefly and kills it if it lingers.
    pub async fn stop(mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
    }
}
