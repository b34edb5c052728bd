//! `--config langmart.toml`: every `serve` flag as a key named like the long flag in
//! snake_case (`database_url`, `redis_url`, `addr`, …). A value from the file is used
//! only where neither the command line nor a `LANGMART_*` variable set one, so the
//! precedence is flags > environment > file > built-in default. The file's values are
//! handed to clap as if typed, so they are checked exactly like flags. Unknown keys are
//! refused with their name. `langmart config print` shows the effective settings (in the
//! same format, secrets redacted) and where each came from.

use std::{ffi::OsString, path::PathBuf};

use clap::{parser::ValueSource, ArgAction, ArgMatches, Command};

/// The subcommands that take `serve`'s settings (and `--config`).
const SETTINGS_PATHS: &[&[&str]] = &[&["serve"], &["config", "print"]];

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: unknown setting `{key}` (keys are the long flags of `langmart serve` in snake_case)")]
    UnknownKey { path: String, key: String },
    #[error("{path}: `{key}` must be a string, a number or a boolean")]
    BadValue { path: String, key: String },
}

/// The subcommand's definition and matches for a settings-taking command line.
fn settings_command<'a>(
    command: &'a Command,
    matches: &'a ArgMatches,
) -> Option<(&'a Command, &'a ArgMatches)> {
    for path in SETTINGS_PATHS {
        let mut cmd = command;
        let mut m = matches;
        let mut found = true;
        for name in *path {
            match (cmd.find_subcommand(name), m.subcommand()) {
                (Some(c), Some((sub, sm))) if sub == *name => {
                    cmd = c;
                    m = sm;
                }
                _ => {
                    found = false;
                    break;
                }
            }
        }
        if found {
            return Some((cmd, m));
        }
    }
    None
}

/// `argv` with the config file's values added for every setting the command line and
/// the environment left unset. A command line clap refuses is returned as it is, for
/// clap to explain.
pub fn with_file(command: &Command, argv: Vec<OsString>) -> Result<Vec<OsString>, ConfigFileError> {
    let Ok(matches) = command.clone().try_get_matches_from(&argv) else {
        return Ok(argv);
    };
    let Some((sub, m)) = settings_command(command, &matches) else {
        return Ok(argv);
    };
    let Some(path) = m.get_one::<PathBuf>("config") else {
        return Ok(argv);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigFileError::Parse {
            path: shown.clone(),
            message: e.message().to_owned(),
        })?;
    let mut argv = argv;
    for (key, value) in table {
        let long = key.replace('_', "-");
        let arg = sub
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
            .ok_or_else(|| ConfigFileError::UnknownKey {
                path: shown.clone(),
                key: key.clone(),
            })?;
        if matches!(
            m.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let bad = || ConfigFileError::BadValue {
            path: shown.clone(),
            key: key.clone(),
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) if matches!(arg.get_action(), ArgAction::SetTrue) => {
                if b {
                    argv.push(format!("--{long}").into());
                }
                continue;
            }
            toml::Value::Boolean(b) => b.to_string(),
            _ => return Err(bad()),
        };
        argv.push(format!("--{long}={text}").into());
    }
    Ok(argv)
}

/// The effective settings of a `config print` command line (`typed`; `argv` is it with
/// the file's values added), as a config file would hold them, each with where it came
/// from; URLs without passwords, tokens as `***`.
pub fn print(command: &Command, typed: &[OsString], argv: &[OsString]) -> String {
    let (Ok(matches), Ok(typed)) = (
        command.clone().try_get_matches_from(argv),
        command.clone().try_get_matches_from(typed),
    ) else {
        return String::new();
    };
    let (Some((sub, m)), Some((_, t))) = (
        settings_command(command, &matches),
        settings_command(command, &typed),
    ) else {
        return String::new();
    };
    let mut out = String::new();
    for arg in sub.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "config" | "help" | "version") {
            continue;
        }
        let id = arg.get_id().as_str();
        let source = match m.value_source(id) {
            Some(ValueSource::CommandLine)
                if t.value_source(id) == Some(ValueSource::CommandLine) =>
            {
                "flag"
            }
            Some(ValueSource::CommandLine) => "file",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        let key = long.replace('-', "_");
        let raw: Vec<String> = m
            .get_raw(id)
            .map(|vs| vs.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = match raw.first() {
            None => {
                out.push_str(&format!("# {key} = (unset)\n"));
                continue;
            }
            Some(_) if long.contains("token") => toml_string("***"),
            Some(v) if long.ends_with("url") => toml_string(&crate::config::redact_url(v)),
            Some(v) if v == "true" || v == "false" || v.parse::<i64>().is_ok() => v.clone(),
            Some(v) => toml_string(v),
        };
        out.push_str(&format!("{key} = {value}  # {source}\n"));
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}
