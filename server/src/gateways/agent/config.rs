//! `gateway.toml`: the upstreams an agent reaches, with their credentials. Read on the
//! agent only; the server learns each upstream's name and provider, nothing else.
//!
//! ```toml
//! [[upstream]]
//! name = "gpu-box"                     # what the server calls it (letters, digits, - _ .)
//! provider = "ollama"                  # a catalogue key: ollama, openai, anthropic, custom, …
//! url = "http://10.0.0.5:11434/v1"     # the API's base URL, as a connection's endpoint
//! api_key_env = "GPU_BOX_KEY"          # or api_key = "…" (optional)
//! auth = "bearer"                      # optional: bearer, x-api-key, api-key, x-goog-api-key, none
//! timeout_secs = 600                   # optional: the longest one call may take here
//! ```

use std::{collections::BTreeMap, path::Path, time::Duration};

use serde::Deserialize;

use crate::gateways::protocol::{self, Announced};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    upstream: Vec<UpstreamEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamEntry {
    name: String,
    provider: String,
    url: String,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    api_key_env: Option<String>,
    #[serde(default)]
    auth: Option<Auth>,
    #[serde(default)]
    timeout_secs: Option<u64>,
}

/// How an upstream's key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// `Authorization: Bearer <key>` (OpenAI and compatible servers, Cohere).
    Bearer,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
    /// `api-key: <key>` (Azure OpenAI).
    ApiKey,
    /// `x-goog-api-key: <key>` (Gemini).
    XGoogApiKey,
    /// No key is sent.
    None,
}

impl Auth {
    /// The header a catalogue provider's family takes its key in.
    fn for_provider(provider: &str) -> Auth {
        match provider {
            "anthropic" => Auth::XApiKey,
            "azure-openai" | "azure_openai" | "azure" => Auth::ApiKey,
            "google" | "gemini" => Auth::XGoogApiKey,
            _ => Auth::Bearer,
        }
    }

    pub fn header(self) -> Option<&'static str> {
        match self {
            Auth::Bearer => Some("authorization"),
            Auth::XApiKey => Some("x-api-key"),
            Auth::ApiKey => Some("api-key"),
            Auth::XGoogApiKey => Some("x-goog-api-key"),
            Auth::None => None,
        }
    }
}

/// Headers that carry a key: never taken from the server's request (it has none to give).
pub const KEY_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// One upstream, ready to call. Not `Debug`: it holds the key.
pub struct Upstream {
    pub name: String,
    pub provider: String,
    /// Without a trailing slash.
    pub url: String,
    api_key: Option<String>,
    pub auth: Auth,
    pub timeout: Duration,
}

impl Upstream {
    /// The key header to send, if any.
    pub fn key_header(&self) -> Option<(&'static str, String)> {
        let key = self.api_key.as_deref().filter(|k| !k.is_empty())?;
        let header = self.auth.header()?;
        Some(match self.auth {
            Auth::Bearer => (header, format!("Bearer {key}")),
            _ => (header, key.to_owned()),
        })
    }
}

/// The agent's upstreams by name.
pub struct Config {
    pub upstreams: BTreeMap<String, Upstream>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, |name| std::env::var(name).ok()).map_err(|message| {
            ConfigError::Invalid {
                path: path.display().to_string(),
                message,
            }
        })
    }

    /// Parses a configuration; `env` reads `api_key_env` variables.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if file.upstream.is_empty() {
            return Err("no [[upstream]] is configured".into());
        }
        if file.upstream.len() > protocol::MAX_UPSTREAMS {
            return Err(format!("at most {} upstreams", protocol::MAX_UPSTREAMS));
        }
        let mut upstreams = BTreeMap::new();
        for entry in file.upstream {
            let name = entry.name.trim().to_owned();
            if !protocol::valid_name(&name) {
                return Err(format!(
                    "upstream name \"{name}\": use 1-64 letters, digits, '-', '_' or '.'"
                ));
            }
            let url = url::Url::parse(entry.url.trim())
                .map_err(|e| format!("upstream \"{name}\": url: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!(
                    "upstream \"{name}\": url must be http:// or https://"
                ));
            }
            if entry.provider.contains("bedrock") {
                return Err(format!(
                    "upstream \"{name}\": Bedrock is not served through a gateway"
                ));
            }
            let api_key = match (entry.api_key, entry.api_key_env) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "upstream \"{name}\": give api_key or api_key_env, not both"
                    ))
                }
                (Some(key), None) => Some(key),
                (None, Some(var)) => Some(env(&var).ok_or_else(|| {
                    format!("upstream \"{name}\": environment variable {var} is not set")
                })?),
                (None, None) => None,
            };
            let upstream = Upstream {
                auth: entry
                    .auth
                    .unwrap_or_else(|| Auth::for_provider(&entry.provider)),
                provider: entry.provider.trim().to_owned(),
                url: url.as_str().trim_end_matches('/').to_owned(),
                api_key,
                timeout: Duration::from_secs(entry.timeout_secs.unwrap_or(600).clamp(1, 86_400)),
                name: name.clone(),
            };
            if upstreams.insert(name.clone(), upstream).is_some() {
                return Err(format!("upstream \"{name}\" is configured twice"));
            }
        }
        Ok(Config { upstreams })
    }

    /// What the agent tells the server: names and providers only.
    pub fn announced(&self) -> Vec<Announced> {
        self.upstreams
            .values()
            .map(|u| Announced {
                name: u.name.clone(),
                provider: u.provider.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_upstreams_and_keys_from_the_environment() {
        let config = Config::parse(
            r#"
            [[upstream]]
            name = "gpu-box"
            provider = "ollama"
            url = "http://10.0.0.5:11434/v1/"

            [[upstream]]
            name = "claude-proxy"
            provider = "anthropic"
            url = "https://internal.example"
            api_key_env = "CLAUDE_KEY"
            "#,
            |var| (var == "CLAUDE_KEY").then(|| "sk-ant-secret".to_owned()),
        )
        .unwrap();
        let gpu = &config.upstreams["gpu-box"];
        assert_eq!(gpu.url, "http://10.0.0.5:11434/v1");
        assert!(gpu.key_header().is_none());
        let claude = &config.upstreams["claude-proxy"];
        assert_eq!(
            claude.key_header(),
            Some(("x-api-key", "sk-ant-secret".to_owned()))
        );
        assert_eq!(
            config.announced(),
            vec![
                Announced {
                    name: "claude-proxy".into(),
                    provider: "anthropic".into()
                },
                Announced {
                    name: "gpu-box".into(),
                    provider: "ollama".into()
                },
            ]
        );
    }

    #[test]
    fn refuses_what_cannot_work() {
        let env = |_: &str| None;
        for (text, says) in [
            ("", "no [[upstream]]"),
            (
                "[[upstream]]\nname = \"a b\"\nprovider = \"ollama\"\nurl = \"http://x\"",
                "letters",
            ),
            (
                "[[upstream]]\nname = \"a\"\nprovider = \"ollama\"\nurl = \"ftp://x\"",
                "http://",
            ),
            (
                "[[upstream]]\nname = \"a\"\nprovider = \"ollama\"\nurl = \"http://x\"\napi_key_env = \"NOPE\"",
                "NOPE is not set",
            ),
            (
                "[[upstream]]\nname = \"a\"\nprovider = \"ollama\"\nurl = \"http://x\"\nkey = \"typo\"",
                "unknown field",
            ),
        ] {
            let err = Config::parse(text, env).err().unwrap();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }
}
