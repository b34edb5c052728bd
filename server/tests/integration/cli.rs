//! The `langmart` binary's account commands, run as a person would from a shell.

use std::process::{Command, Output};

#[expect(
    clippy::expect_used,
    reason = "a binary that cannot start must fail the test"
)]
fn langmart(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_langmart"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("LANGMART_DATABASE_URL")
        .env_remove("LANGMART_MASTER_KEY")
        .output()
        .expect("run langmart")
}

/// `langmart` with `input` on its standard input.
#[expect(
    clippy::expect_used,
    reason = "a binary that cannot start must fail the test"
)]
fn langmart_with_stdin(data_dir: &std::path::Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_langmart"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("LANGMART_DATABASE_URL")
        .env_remove("LANGMART_MASTER_KEY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run langmart");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for langmart")
}

/// The password need not be on the command line (where the process list shows it):
/// `--password-stdin` reads it; `--password` still works for scripts, with a warning.
#[tokio::test]
async fn passwords_can_come_from_stdin_and_the_flag_warns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let piped = langmart_with_stdin(
        data,
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--handle",
            "ada",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert!(!stderr(&piped).contains("process list"));
    let flagged = langmart(
        data,
        &[
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--handle",
            "bob",
            "--password",
            "correct horse battery",
        ],
    );
    assert!(flagged.status.success(), "{}", stderr(&flagged));
    assert!(
        stderr(&flagged).contains("process list"),
        "{}",
        stderr(&flagged)
    );

    let mut settings = server::config::Settings::new(data.to_path_buf());
    settings.site_root = Some(data.join("site"));
    let state = server::open_state(settings).await.unwrap();
    let ada = state
        .accounts
        .login(None, "ada@example.com", "correct horse battery".into())
        .await
        .unwrap();
    assert!(ada.is_admin.0, "the first account is the admin");
    assert!(state
        .accounts
        .login(None, "ada@example.com", "correct horse battery\n".into())
        .await
        .is_err());
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn user_and_key_commands_create_a_working_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let ok = langmart(
        data,
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--password",
            "correct horse battery",
            "--handle",
            "ada",
            "--admin",
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stderr(&ok).contains("platform admin"));
    assert!(
        data.join("langmart.db").exists(),
        "SQLite file created in the data dir"
    );
    assert!(
        data.join("master.key").exists(),
        "master key created on first start"
    );

    let dup = langmart(
        data,
        &[
            "user",
            "create",
            "--email",
            "ada@example.com",
            "--password",
            "correct horse battery",
            "--handle",
            "ada2",
        ],
    );
    assert!(!dup.status.success());
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));

    let taken = langmart(
        data,
        &[
            "user",
            "create",
            "--email",
            "b@example.com",
            "--password",
            "correct horse battery",
            "--handle",
            "ada",
        ],
    );
    assert!(!taken.status.success());
    assert!(
        stderr(&taken).contains("already taken"),
        "{}",
        stderr(&taken)
    );

    let weak = langmart(
        data,
        &[
            "user",
            "create",
            "--email",
            "c@example.com",
            "--password",
            "short",
            "--handle",
            "cee",
        ],
    );
    assert!(!weak.status.success());
    assert!(stderr(&weak).contains("at least 10"), "{}", stderr(&weak));

    let unknown = langmart(
        data,
        &[
            "key",
            "create",
            "--email",
            "nobody@example.com",
            "--name",
            "x",
        ],
    );
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("No user"), "{}", stderr(&unknown));

    let key = langmart(
        data,
        &[
            "key",
            "create",
            "--email",
            "ada@example.com",
            "--name",
            "cli",
        ],
    );
    assert!(key.status.success(), "{}", stderr(&key));
    let stdout = String::from_utf8(key.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the key alone on stdout: {stdout:?}");
    let key = lines[0];
    assert!(key.starts_with("sk-langmart-"));

    // A server on the same data directory accepts the key.
    let mut settings = server::config::Settings::new(data.to_path_buf());
    settings.site_root = Some(data.join("site"));
    let state = server::open_state(settings).await.unwrap();
    let principal = state
        .keys
        .authenticate(
            Some(&format!("Bearer {key}")),
            app::dto::KeyScope::Inference,
        )
        .await
        .unwrap();
    assert_eq!(principal.handle, "ada");
    assert!(principal.is_admin);
}

#[tokio::test]
async fn rotate_master_key_reseals_without_breaking_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut settings = server::config::Settings::new(data.to_path_buf());
    settings.site_root = Some(data.join("site"));
    let running = server::open_state(settings).await.unwrap();
    let user = running
        .accounts
        .create(server::auth::NewAccount {
            email: "ada@example.com".into(),
            password: "correct horse battery".into(),
            handle: "ada".into(),
            admin: true,
        })
        .await
        .unwrap();
    let actor = server::catalog::Actor {
        user_id: user.id.clone(),
        is_admin: true,
    };
    let req = app::dto::NewConnectionDto {
        provider: Some("openai".into()),
        name: "prod".into(),
        api_key: Some("sk-rotation-secret-42".into()),
        ..Default::default()
    };
    let conn = running.connections.create(&actor, &req).await.unwrap();
    let before = server::db::connections::find(&running.db.pool, &conn.id)
        .await
        .unwrap()
        .unwrap();

    let out = langmart(data, &["rotate-master-key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("re-sealed 1 credentials"),
        "{}",
        stderr(&out)
    );
    let key_file = std::fs::read_to_string(data.join("master.key")).unwrap();
    assert_eq!(key_file.lines().count(), 2, "new key first, old key kept");

    let after = server::db::connections::find(&running.db.pool, &conn.id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(after.sealed_key_id, before.sealed_key_id);
    assert_ne!(after.sealed_credentials, before.sealed_credentials);
    // The server that was running before the rotation still reads the credential.
    let opened = server::catalog::Credentials::open(&running.vault, &after).unwrap();
    assert_eq!(opened.fields()["api_key"], "sk-rotation-secret-42");
    assert_eq!(running.vault.key_id(), after.sealed_key_id);
}

/// `langmart config print` with `--config FILE`, the environment `env` and `flags`.
#[expect(
    clippy::expect_used,
    reason = "a binary that cannot start must fail the test"
)]
fn config_print(file: &std::path::Path, env: &[(&str, &str)], flags: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_langmart"));
    cmd.args(["config", "print", "--config"])
        .arg(file)
        .args(flags);
    for (name, _) in std::env::vars() {
        if name.starts_with("LANGMART_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run langmart")
}

#[test]
fn a_config_file_holds_every_flag_and_flags_then_environment_win() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("langmart.toml");
    std::fs::write(
        &file,
        r#"
addr = "127.0.0.1:8089"
health_check_interval_secs = 300
max_body_bytes = 1000
redis_url = "redis://:s3cret-pass@127.0.0.1:6379"
metrics_token = "scrape-me-0123"
trust_forwarded_for = true
redis_failure = "closed"
"#,
    )
    .unwrap();
    let out = config_print(
        &file,
        &[("LANGMART_HEALTH_CHECK_INTERVAL_SECS", "77")],
        &["--max-body-bytes", "2000"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "addr = \"127.0.0.1:8089\"  # file",
        "health_check_interval_secs = 77  # environment",
        "max_body_bytes = 2000  # flag",
        "trust_forwarded_for = true  # file",
        "redis_failure = \"closed\"  # file",
        "redis_url = \"redis://:***@127.0.0.1:6379\"  # file",
        "metrics_token = \"***\"  # file",
        "signup = \"invite\"  # default",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    assert!(
        !text.contains("s3cret") && !text.contains("scrape-me"),
        "{text}"
    );

    // An unknown key, and a bad value, are refused with their names.
    std::fs::write(&file, "adress = \"127.0.0.1:1\"\n").unwrap();
    let out = config_print(&file, &[], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown setting `adress`"));
    std::fs::write(&file, "redis_failure = \"sometimes\"\n").unwrap();
    let out = config_print(&file, &[], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sometimes"));
}
