//! The real `langmart` binary as an operator runs it: `serve` in a child process on
//! 127.0.0.1:0 (its address read from its log), an account and key made with the CLI,
//! SIGTERM and SIGKILL sent as a supervisor would.

#![expect(
    clippy::expect_used,
    reason = "a binary that cannot start must fail the test"
)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

fn langmart() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_langmart"));
    cmd.env_remove("LANGMART_DATABASE_URL")
        .env_remove("LANGMART_MASTER_KEY")
        .env("LANGMART_LOG", "info,sqlx=warn");
    cmd
}

/// A `langmart serve` child process on its own data directory.
pub struct Binary {
    child: Child,
    pub base: String,
}

impl Binary {
    /// Makes an account and an API key with the CLI (what `serve` will find), returning
    /// the key.
    pub fn account(data: &Path, email: &str) -> String {
        let handle = email.split('@').next().unwrap_or("someone");
        let mut child = langmart()
            .args([
                "user",
                "create",
                "--password-stdin",
                "--email",
                email,
                "--handle",
                handle,
            ])
            .arg("--data-dir")
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run langmart user create");
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"correct horse battery staple\n")
                .expect("write the password");
        }
        assert!(child.wait().expect("user create").success());
        let out = langmart()
            .args(["key", "create", "--email", email, "--name", "tests"])
            .arg("--data-dir")
            .arg(data)
            .output()
            .expect("run langmart key create");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .expect("utf-8 key")
            .trim()
            .to_owned()
    }

    /// Starts `langmart serve` with `flags` and waits until it listens.
    pub fn serve(data: &Path, flags: &[&str]) -> Binary {
        let mut child = langmart()
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--allow-private-endpoints",
            ])
            .args([
                "--health-check-interval-secs",
                "0",
                "--manual-test-interval-secs",
                "0",
            ])
            .arg("--data-dir")
            .arg(data)
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run langmart serve");
        // The log is read to its end on a thread (a full pipe would stall the server);
        // the line that says where it listens is passed back.
        let log = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(log).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("console at ") {
                    let url: String = line[at + "console at ".len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '\x1b')
                        .collect();
                    let _ = tx.send(url);
                }
            }
        });
        let Ok(base) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("langmart serve did not say where it listens");
        };
        Binary { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, as a supervisor stops a service.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// The exit status once the process ends, or `None` if it outlives `within`.
    pub fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
