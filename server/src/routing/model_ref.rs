//! The model-reference grammar (ARCHITECTURE.md), first match wins:
//! `auto(NAME)`, `collection/NAME` (or `collection/HANDLE/NAME`), `HANDLE/PROVIDER/MODEL`,
//! `PROVIDER/MODEL`, `MODEL`. A model id may itself contain `/`: a first segment is a
//! handle only if it is a registered handle *and* the second is a provider key.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    Auto(String),
    Collection {
        owner: Option<String>,
        name: String,
    },
    Handle {
        handle: String,
        provider: String,
        model: String,
    },
    Provider {
        provider: String,
        model: String,
    },
    Bare(String),
}

impl ModelRef {
    /// How the request was resolved, as `x-langmart-resolution` and the request log say it.
    pub fn resolution(&self) -> &'static str {
        match self {
            ModelRef::Auto(_) => "auto",
            ModelRef::Collection { .. } => "collection",
            ModelRef::Handle { .. } => "handle",
            ModelRef::Provider { .. } => "priority",
            ModelRef::Bare(_) => "direct",
        }
    }

    /// The model id sent upstream, where the reference names one.
    pub fn model(&self) -> Option<&str> {
        match self {
            ModelRef::Handle { model, .. }
            | ModelRef::Provider { model, .. }
            | ModelRef::Bare(model) => Some(model),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelRefError {
    #[error("\"model\" is empty")]
    Empty,
    #[error("\"{0}\" names no model after the provider")]
    MissingModel(String),
    #[error("\"{0}\" is not a valid auto(NAME) or collection/NAME reference")]
    Malformed(String),
}

pub fn parse(
    input: &str,
    is_handle: impl Fn(&str) -> bool,
    is_provider: impl Fn(&str) -> bool,
) -> Result<ModelRef, ModelRefError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(ModelRefError::Empty);
    }
    if let Some(inner) = s.strip_prefix("auto(").and_then(|r| r.strip_suffix(')')) {
        let name = inner.trim();
        if name.is_empty() || name.contains('/') {
            return Err(ModelRefError::Malformed(s.to_owned()));
        }
        return Ok(ModelRef::Auto(name.to_owned()));
    }
    if let Some(rest) = s.strip_prefix("collection/") {
        let parts: Vec<&str> = rest.split('/').collect();
        return match parts.as_slice() {
            [name] if !name.is_empty() => Ok(ModelRef::Collection {
                owner: None,
                name: (*name).to_owned(),
            }),
            [owner, name] if !owner.is_empty() && !name.is_empty() => Ok(ModelRef::Collection {
                owner: Some((*owner).to_owned()),
                name: (*name).to_owned(),
            }),
            _ => Err(ModelRefError::Malformed(s.to_owned())),
        };
    }
    let mut segments = s.splitn(3, '/');
    let first = segments.next().unwrap_or_default();
    let second = segments.next();
    let third = segments.next();
    if let (Some(provider), true) = (second, is_handle(first)) {
        if is_provider(provider) {
            let model = third.unwrap_or_default();
            if model.is_empty() {
                return Err(ModelRefError::MissingModel(s.to_owned()));
            }
            return Ok(ModelRef::Handle {
                handle: first.to_owned(),
                provider: provider.to_owned(),
                model: model.to_owned(),
            });
        }
    }
    if is_provider(first) {
        let model = s[first.len()..].trim_start_matches('/');
        if model.is_empty() {
            return Err(ModelRefError::MissingModel(s.to_owned()));
        }
        return Ok(ModelRef::Provider {
            provider: first.to_owned(),
            model: model.to_owned(),
        });
    }
    Ok(ModelRef::Bare(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<ModelRef, ModelRefError> {
        parse(
            s,
            |h| ["ada", "acme"].contains(&h),
            |k| ["openai", "groq", "custom"].contains(&k),
        )
    }

    proptest::proptest! {
        /// Any string parses to a reference or an error, never a panic.
        #[test]
        fn any_string_parses_or_is_refused(s in "\\PC{0,40}", t in "[a-z()/ ]{0,20}") {
            let _ = p(&s);
            let _ = p(&t);
        }
    }

    #[test]
    fn every_form() {
        assert_eq!(p("auto(free)"), Ok(ModelRef::Auto("free".into())));
        assert_eq!(
            p("collection/fast"),
            Ok(ModelRef::Collection {
                owner: None,
                name: "fast".into()
            })
        );
        assert_eq!(
            p("collection/acme/fast"),
            Ok(ModelRef::Collection {
                owner: Some("acme".into()),
                name: "fast".into()
            })
        );
        assert_eq!(
            p("acme/openai/gpt-4o"),
            Ok(ModelRef::Handle {
                handle: "acme".into(),
                provider: "openai".into(),
                model: "gpt-4o".into()
            })
        );
        assert_eq!(
            p("openai/gpt-4o"),
            Ok(ModelRef::Provider {
                provider: "openai".into(),
                model: "gpt-4o".into()
            })
        );
        assert_eq!(p("gpt-4o"), Ok(ModelRef::Bare("gpt-4o".into())));
    }

    #[test]
    fn models_may_contain_slashes() {
        assert_eq!(
            p("groq/meta-llama/llama-4-scout"),
            Ok(ModelRef::Provider {
                provider: "groq".into(),
                model: "meta-llama/llama-4-scout".into()
            })
        );
        assert_eq!(
            p("ada/groq/meta-llama/llama-4-scout"),
            Ok(ModelRef::Handle {
                handle: "ada".into(),
                provider: "groq".into(),
                model: "meta-llama/llama-4-scout".into()
            })
        );
        // An unregistered first segment is part of a bare model id.
        assert_eq!(
            p("meta-llama/llama-4-scout"),
            Ok(ModelRef::Bare("meta-llama/llama-4-scout".into()))
        );
        // A handle followed by something that is not a provider is not a handle reference.
        assert_eq!(p("ada/llama"), Ok(ModelRef::Bare("ada/llama".into())));
    }

    #[test]
    fn malformed_references() {
        assert_eq!(p("  "), Err(ModelRefError::Empty));
        assert_eq!(
            p("openai/"),
            Err(ModelRefError::MissingModel("openai/".into()))
        );
        assert_eq!(
            p("acme/openai/"),
            Err(ModelRefError::MissingModel("acme/openai/".into()))
        );
        assert_eq!(p("auto()"), Err(ModelRefError::Malformed("auto()".into())));
        assert_eq!(
            p("collection/"),
            Err(ModelRefError::Malformed("collection/".into()))
        );
        assert_eq!(
            p("collection/a/b/c"),
            Err(ModelRefError::Malformed("collection/a/b/c".into()))
        );
    }

    #[test]
    fn resolution_names() {
        assert_eq!(p("openai/gpt-4o").unwrap().resolution(), "priority");
        assert_eq!(p("acme/openai/gpt-4o").unwrap().resolution(), "handle");
        assert_eq!(p("gpt-4o").unwrap().resolution(), "direct");
    }
}
