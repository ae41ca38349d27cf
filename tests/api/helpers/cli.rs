//! The `nod` binary, run in another process as a person or an operator would: no configuration
//! from this process's environment, stdin written and closed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::NamedTempFile;

use super::TestApp;

/// `nod` in `dir` (a fresh directory: its `data/` is the default), with `NOD_CONFIG` unset and
/// a quiet log; the caller adds the rest.
pub fn nod_in(dir: &Path) -> Command {
    let mut command = nod_command();
    command.current_dir(dir);
    command
}

/// Runs `nod ARGS` in `dir`, feeding it `stdin`; what it printed and how it ended.
pub fn run_nod(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = nod_in(dir);
    command.args(args);
    run(command, stdin)
}

/// `nod`, with `NOD_CONFIG` unset and a quiet log.
fn nod_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nod"));
    command.env_remove("NOD_CONFIG").env("RUST_LOG", "warn");
    command
}

/// The JSON a successful command printed.
pub fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "nod failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

/// `nod` with a configuration naming a running app's data directory and database.
pub struct Operator {
    config: NamedTempFile,
}

impl Operator {
    pub fn of(app: &TestApp) -> Self {
        let config = NamedTempFile::new().expect("config file");
        let settings = &app.state.settings;
        std::fs::write(
            config.path(),
            format!(
                "[server]\ndata_dir = {:?}\n[database]\nurl = {:?}\n",
                settings.server.data_dir.display().to_string(),
                settings.database.url.expose(),
            ),
        )
        .expect("config written");
        Operator { config }
    }

    /// Runs `nod ARGS --config …`, feeding it `stdin`; what it printed and how it ended.
    pub fn output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = nod_command();
        command.args(args).arg("--config").arg(self.config.path());
        run(command, stdin)
    }

    /// Runs `nod ARGS --json`, feeding `stdin`; expects success and returns the JSON printed.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let output = self.output(&[args, &["--json"]].concat(), stdin);
        assert!(
            output.status.success(),
            "nod {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("stdout is JSON")
    }
}

/// Runs `command`, writing `stdin` (if any) and closing it.
fn run(mut command: Command, stdin: Option<&str>) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nod");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("stdin written");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("nod ends")
}
