//! Runner processes (`katalusis_runner.py`). The runner builds the sandbox;
//! this side only launches it with a clean environment, writes protocol
//! lines and reads its events. [`Launched`] is the one launcher, used by the
//! warm per-run [`Pool`] (`serve`) and by "Test node" (`exec`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use katalusis_crds::{ModuleSettings, TrustLevel};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

use crate::config::{SandboxMode, Settings};
use crate::executor::protocol::{fatal_message, JobIsolation, RunnerEvent};

/// How the runner is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerMode {
    /// A warm process that reads jobs until stdin closes.
    Serve,
    /// One job, then the process exits.
    Exec,
}

impl RunnerMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Serve => "serve",
            Self::Exec => "exec",
        }
    }
}

/// A started runner process with its pipes.
pub struct Launched {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: Lines<BufReader<ChildStdout>>,
    /// The sandbox launcher's `fatal` message, if it could not build the sandbox.
    fatal: mpsc::UnboundedReceiver<String>,
    trust: TrustLevel,
}

impl Launched {
    /// Starts the runner with a clean environment: server secrets (database
    /// URL, JWT key) must never reach node code, not even in trusted pools.
    /// The error is a sentence for a node's failure message.
    pub fn spawn(
        settings: &Settings,
        runner: &Path,
        mode: RunnerMode,
        trust: TrustLevel,
        modules: Option<&ModuleSettings>,
    ) -> Result<Self, String> {
        let sandbox = match settings.sandbox {
            SandboxMode::Bwrap => "bwrap",
            SandboxMode::None => "none",
        };
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
                mode.as_str(),
                "--sandbox",
                sandbox,
                "--trust",
                trust.as_str(),
            ]);
        // A restricted sandbox's standard library holds only the modules the
        // run's allow-list names (see runner/README.md).
        if let (TrustLevel::Restricted, Some(m)) = (trust, modules) {
            cmd.args(["--modules-allow", &m.allow.join(",")]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start the node runner ({}): {e}", settings.python))?;
        let stdout = child.stdout.take().ok_or("runner stdout missing")?;
        let stderr = child.stderr.take().ok_or("runner stderr missing")?;
        let stdin = child.stdin.take();
        // stderr is diagnostics only; keep the launcher's `fatal` message for the error.
        let (fatal_tx, fatal) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match fatal_message(&line) {
                    Some(m) => {
                        let _ = fatal_tx.send(m);
                    }
                    None => tracing::warn!(runner = %line, "node runner stderr"),
                }
            }
        });
        Ok(Self {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            fatal,
            trust,
        })
    }

    /// Why the runner ended without doing its work: the sandbox launcher's
    /// message if it gave one (waiting briefly for its stderr line).
    pub async fn sandbox_failure(&mut self) -> Option<String> {
        let fatal = tokio::time::timeout(Duration::from_millis(500), self.fatal.recv())
            .await
            .ok()
            .flatten()?;
        Some(format!(
            "the {} sandbox could not be started: {fatal}",
            self.trust.as_str()
        ))
    }

    /// Kills the process if it does not exit within `grace`.
    pub async fn reap(child: &mut Child, grace: Duration) {
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// Writes one protocol message to a runner's stdin.
pub async fn send_line(stdin: Option<&mut ChildStdin>, msg: &Value) -> std::io::Result<()> {
    let stdin = stdin.ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::BrokenPipe, "runner stdin closed")
    })?;
    let mut line = serde_json::to_vec(msg)?;
    line.push(b'\n');
    stdin.write_all(&line).await?;
    stdin.flush().await
}

/// What a pool reports to a run it serves.
#[derive(Debug)]
pub enum PoolEvent {
    /// An event of one of the run's jobs (its job id as the run knows it).
    Job(RunnerEvent),
    /// The runner process ended or its output became unreadable.
    Died(String),
}

/// One warm runner process (`serve`) of one trust level, started and ready,
/// not yet serving anybody (see `pools::LivePool`).
pub struct Pool {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub lines: Lines<BufReader<ChildStdout>>,
    pub isolation: JobIsolation,
}

const READY_TIMEOUT: Duration = Duration::from_secs(30);

impl Pool {
    /// Starts the runner and waits for its `ready` line. The error is a
    /// sentence for the node's failure message (for example why the sandbox
    /// could not be built).
    pub async fn start(
        settings: &Settings,
        runner: &Path,
        trust: TrustLevel,
        modules: Option<&ModuleSettings>,
    ) -> Result<Self, String> {
        let mut launched = Launched::spawn(settings, runner, RunnerMode::Serve, trust, modules)?;
        let lines = &mut launched.stdout;
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        if let Ok(RunnerEvent::Ready { isolation, .. }) = RunnerEvent::parse(&line)
                        {
                            return Some(isolation);
                        }
                    }
                    _ => return None,
                }
            }
        })
        .await;
        let isolation = match ready {
            Ok(Some(isolation)) => isolation,
            _ => {
                let _ = launched.child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(2), launched.child.wait()).await;
                return Err(match launched.sandbox_failure().await {
                    Some(m) => m,
                    None if ready.is_err() => "the node runner did not become ready in time".into(),
                    None => "the node runner exited before it was ready".into(),
                });
            }
        };
        Ok(Self {
            child: launched.child,
            stdin: launched.stdin,
            lines: launched.stdout,
            isolation,
        })
    }

    /// Whether the runner process is still alive (a spare may have died while waiting).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}
