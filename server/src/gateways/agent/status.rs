//! The agent's state on disk, for `langmart gateway status`: written whenever the link
//! changes, read by a second process. Holds no token and no key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// `connecting`, `connected`, `disconnected` or `stopped`.
    pub state: String,
    pub server: String,
    pub pid: u32,
    pub version: String,
    /// Since when `state` holds (RFC 3339).
    pub since: String,
    pub gateway: Option<String>,
    pub agent_id: Option<String>,
    pub upstreams: Vec<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Links made since the agent started.
    pub connects: u64,
}

/// The status file next to a configuration file: `gateway.toml` → `gateway.toml.status.json`.
pub fn default_path(config: &Path) -> PathBuf {
    let mut name = config.as_os_str().to_owned();
    name.push(".status.json");
    PathBuf::from(name)
}

/// Writes the status (through a temporary file, so a reader never sees half of it).
pub fn write(path: &Path, status: &Status) {
    let Ok(text) = serde_json::to_vec_pretty(status) else {
        return;
    };
    let tmp = path.with_extension("tmp");
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        tracing::warn!(error = %e, path = %path.display(), "could not write the agent's status file");
    }
}

/// What `langmart gateway status` prints.
pub fn describe(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "no agent status at {} ({e}); is `langmart gateway` running with this --config?",
            path.display()
        )
    })?;
    let status: Status = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not an agent status file: {e}", path.display()))?;
    let running = Path::new(&format!("/proc/{}", status.pid)).exists();
    let state = if running || status.state == "stopped" {
        status.state.clone()
    } else {
        format!("not running (the agent, pid {}, has exited)", status.pid)
    };
    let mut out = format!(
        "link:        {state} since {}\nserver:      {}\nagent:       pid {}, version {}\n",
        status.since, status.server, status.pid, status.version
    );
    if let Some(gateway) = &status.gateway {
        out.push_str(&format!(
            "gateway:     {gateway} (agent id {})\n",
            status.agent_id.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&format!(
        "upstreams:   {}\nconnects:    {}\n",
        status.upstreams.join(", "),
        status.connects
    ));
    match (&status.last_error, &status.last_error_at) {
        (Some(error), Some(at)) => out.push_str(&format!("last error:  {error} (at {at})\n")),
        (Some(error), None) => out.push_str(&format!("last error:  {error}\n")),
        _ => out.push_str("last error:  none\n"),
    }
    Ok(out)
}
