//! The provider catalogue: which providers exist, their API family, default endpoint and
//! the fields a connection to them needs. Platform admins add and edit providers at run
//! time; the well-known ones are seeded on first start.

use std::collections::BTreeMap;

use app::dto::{FieldSpec, ProviderDto};

use super::CatalogError;
use crate::clock::now_ms;
use crate::db::{self, providers::SqlProvider, Db, Flag, StoreError};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::providers::ApiFamily;

pub const CLOUD: i64 = 2;
pub const SELF_HOSTED: i64 = 3;

fn field(
    name: &str,
    label: &str,
    required: bool,
    placeholder: Option<&str>,
    default: Option<&str>,
) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        label: label.into(),
        required,
        placeholder: placeholder.map(Into::into),
        default: default.map(Into::into),
    }
}

/// The credential and setting fields a family needs by default.
pub fn family_fields(family: ApiFamily, key_required: bool) -> (Vec<FieldSpec>, Vec<FieldSpec>) {
    let api_key = |placeholder| field("api_key", "API key", key_required, Some(placeholder), None);
    match family {
        ApiFamily::OpenaiCompat => (
            vec![api_key("sk-…")],
            vec![
                field(
                    "organization_id",
                    "Organization ID",
                    false,
                    Some("org-…"),
                    None,
                ),
                field(
                    "default_model",
                    "Default model",
                    false,
                    Some("used to test when the provider cannot list models"),
                    None,
                ),
            ],
        ),
        ApiFamily::AzureOpenai => (
            vec![api_key("Azure resource key")],
            vec![field(
                "api_version",
                "API version",
                true,
                None,
                Some(crate::providers::AZURE_DEFAULT_API_VERSION),
            )],
        ),
        ApiFamily::Anthropic => (vec![api_key("sk-ant-…")], vec![]),
        ApiFamily::Gemini => (vec![api_key("AIza…")], vec![]),
        ApiFamily::Bedrock => (
            vec![
                field("access_key_id", "Access key ID", true, Some("AKIA…"), None),
                field("secret_access_key", "Secret access key", true, None, None),
                field(
                    "session_token",
                    "Session token",
                    false,
                    Some("only for temporary credentials"),
                    None,
                ),
            ],
            vec![field("region", "Region", true, Some("us-east-1"), None)],
        ),
        ApiFamily::Cohere => (vec![api_key("Cohere API key")], vec![]),
    }
}

struct Seed {
    key: &'static str,
    name: &'static str,
    family: ApiFamily,
    base_url: &'static str,
    free: bool,
    gateway_type: i64,
    key_required: bool,
}

const SEEDS: &[Seed] = &[
    Seed {
        key: "openai",
        name: "OpenAI",
        family: ApiFamily::OpenaiCompat,
        base_url: "https://api.openai.com/v1",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "anthropic",
        name: "Anthropic",
        family: ApiFamily::Anthropic,
        base_url: "https://api.anthropic.com",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "google",
        name: "Google Gemini",
        family: ApiFamily::Gemini,
        base_url: "https://generativelanguage.googleapis.com",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "bedrock",
        name: "AWS Bedrock",
        family: ApiFamily::Bedrock,
        base_url: "https://bedrock.{region}.amazonaws.com",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "azure-openai",
        name: "Azure OpenAI",
        family: ApiFamily::AzureOpenai,
        base_url: "",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "cohere",
        name: "Cohere",
        family: ApiFamily::Cohere,
        base_url: "https://api.cohere.com",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "groq",
        name: "Groq",
        family: ApiFamily::OpenaiCompat,
        base_url: "https://api.groq.com/openai/v1",
        free: true,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "mistral",
        name: "Mistral AI",
        family: ApiFamily::OpenaiCompat,
        base_url: "https://api.mistral.ai/v1",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "deepseek",
        name: "DeepSeek",
        family: ApiFamily::OpenaiCompat,
        base_url: "https://api.deepseek.com/v1",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "openrouter",
        name: "OpenRouter",
        family: ApiFamily::OpenaiCompat,
        base_url: "https://openrouter.ai/api/v1",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "together",
        name: "Together AI",
        family: ApiFamily::OpenaiCompat,
        base_url: "https://api.together.xyz/v1",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "xai",
        name: "xAI",
        family: ApiFamily::OpenaiCompat,
        base_url: "https://api.x.ai/v1",
        free: false,
        gateway_type: CLOUD,
        key_required: true,
    },
    Seed {
        key: "ollama",
        name: "Ollama",
        family: ApiFamily::OpenaiCompat,
        base_url: "http://127.0.0.1:11434/v1",
        free: true,
        gateway_type: SELF_HOSTED,
        key_required: false,
    },
    Seed {
        key: "custom",
        name: "Custom (OpenAI-compatible)",
        family: ApiFamily::OpenaiCompat,
        base_url: "",
        free: false,
        gateway_type: SELF_HOSTED,
        key_required: false,
    },
];

/// A provider row with its JSON columns parsed.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub key: String,
    pub name: String,
    pub family: ApiFamily,
    pub base_url: String,
    pub credential_fields: Vec<FieldSpec>,
    pub config_fields: Vec<FieldSpec>,
    pub supports_model_listing: bool,
    pub free: bool,
    pub enabled: bool,
    /// Its connections may reach non-public addresses (set by a platform admin).
    pub allow_private: bool,
    pub gateway_type: i64,
}

impl Provider {
    fn from_row(row: SqlProvider) -> Result<Self, ApiError> {
        let family = ApiFamily::parse(&row.api_family).ok_or_else(|| {
            StoreError::Internal(format!(
                "provider {} has unknown family {}",
                row.key, row.api_family
            ))
        })?;
        let parse = |json: &str| {
            serde_json::from_str::<Vec<FieldSpec>>(json)
                .map_err(|e| StoreError::Internal(format!("provider {} field specs: {e}", row.key)))
        };
        Ok(Provider {
            credential_fields: parse(&row.credential_fields)?,
            config_fields: parse(&row.config_fields)?,
            id: row.id,
            key: row.key,
            name: row.name,
            family,
            base_url: row.base_url,
            supports_model_listing: row.supports_model_listing.0,
            free: row.free.0,
            enabled: row.enabled.0,
            allow_private: row.allow_private.0,
            gateway_type: row.gateway_type,
        })
    }

    pub fn to_dto(&self) -> ProviderDto {
        ProviderDto {
            id: self.id.clone(),
            key: self.key.clone(),
            name: self.name.clone(),
            api_family: self.family.as_str().into(),
            base_url: self.base_url.clone(),
            credential_fields: self.credential_fields.clone(),
            config_fields: self.config_fields.clone(),
            supports_model_listing: self.supports_model_listing,
            free: self.free,
            enabled: self.enabled,
            allow_private: self.allow_private,
            gateway_type: self.gateway_type,
        }
    }

    /// The endpoint a connection uses when it names none: the default with `{field}`
    /// placeholders filled from its settings (Bedrock's region).
    pub fn default_endpoint(&self, config: &BTreeMap<String, String>) -> String {
        let mut url = self.base_url.clone();
        for (name, value) in config {
            url = url.replace(&format!("{{{name}}}"), value);
        }
        url
    }
}

fn to_json(fields: &[FieldSpec]) -> Result<String, ApiError> {
    serde_json::to_string(fields).map_err(|e| StoreError::Internal(e.to_string()).into())
}

/// Adds the seeded providers that are missing (an admin's edits are kept).
pub async fn seed(db: &Db) -> Result<(), ApiError> {
    let now = now_ms();
    for s in SEEDS {
        let (credential_fields, config_fields) = family_fields(s.family, s.key_required);
        let row = SqlProvider {
            id: new_id("prov"),
            key: s.key.into(),
            name: s.name.into(),
            api_family: s.family.as_str().into(),
            base_url: s.base_url.into(),
            credential_fields: to_json(&credential_fields)?,
            config_fields: to_json(&config_fields)?,
            supports_model_listing: Flag(true),
            free: Flag(s.free),
            enabled: Flag(true),
            allow_private: Flag(false),
            gateway_type: s.gateway_type,
            created_at: now,
            updated_at: now,
        };
        db::providers::insert_if_absent(&db.pool, &row)
            .await
            .map_err(StoreError::from)?;
    }
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<Provider>, ApiError> {
    db::providers::list(&db.pool)
        .await
        .map_err(StoreError::from)?
        .into_iter()
        .map(Provider::from_row)
        .collect()
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Provider>, ApiError> {
    db::providers::find(&db.pool, id)
        .await
        .map_err(StoreError::from)?
        .map(Provider::from_row)
        .transpose()
}

/// Finds a provider by key or id, as a create request names it.
pub async fn resolve(db: &Db, key: Option<&str>, id: Option<&str>) -> Result<Provider, ApiError> {
    let row = match (key, id) {
        (Some(key), _) => db::providers::find_by_key(&db.pool, key.trim()).await,
        (None, Some(id)) => db::providers::find(&db.pool, id.trim()).await,
        (None, None) => return Err(CatalogError::MissingField("provider".into()).into()),
    }
    .map_err(StoreError::from)?;
    let name = key.or(id).unwrap_or_default().to_owned();
    let provider = Provider::from_row(row.ok_or(CatalogError::UnknownProvider(name))?)?;
    if !provider.enabled {
        return Err(CatalogError::ProviderDisabled(provider.key).into());
    }
    Ok(provider)
}

/// An admin's new provider. Fields default to its family's.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProvider {
    pub key: String,
    pub name: String,
    pub api_family: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub supports_model_listing: Option<bool>,
    #[serde(default)]
    pub free: Option<bool>,
    #[serde(default)]
    pub gateway_type: Option<i64>,
    #[serde(default)]
    pub credential_fields: Option<Vec<FieldSpec>>,
    #[serde(default)]
    pub config_fields: Option<Vec<FieldSpec>>,
    /// Let its connections reach loopback, private and other non-public addresses.
    #[serde(default)]
    pub allow_private: Option<bool>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderUpdate {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub enabled: Option<bool>,
    pub free: Option<bool>,
    pub supports_model_listing: Option<bool>,
    pub gateway_type: Option<i64>,
    /// Let its connections reach loopback, private and other non-public addresses.
    pub allow_private: Option<bool>,
}

fn check_key(key: &str) -> Result<(), CatalogError> {
    let ok = (2..=39).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !key.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(CatalogError::Invalid {
            field: "key",
            message: "provider key must be 2–39 characters of a-z, 0-9 and dashes".into(),
        })
    }
}

fn check_gateway_type(t: i64) -> Result<(), CatalogError> {
    if t == CLOUD || t == SELF_HOSTED {
        Ok(())
    } else {
        Err(CatalogError::Invalid {
            field: "gateway_type",
            message: "gateway_type must be 2 (cloud) or 3 (self-hosted)".into(),
        })
    }
}

pub async fn create(db: &Db, new: NewProvider) -> Result<Provider, ApiError> {
    let key = new.key.trim().to_owned();
    check_key(&key)?;
    let family = ApiFamily::parse(&new.api_family).ok_or_else(|| CatalogError::Invalid {
        field: "api_family",
        message: format!(
            "unknown api_family {:?}; one of openai_compat, azure_openai, anthropic, gemini, bedrock, cohere",
            new.api_family
        ),
    })?;
    let gateway_type = new.gateway_type.unwrap_or(CLOUD);
    check_gateway_type(gateway_type)?;
    let (default_creds, default_config) = family_fields(family, true);
    let now = now_ms();
    let row = SqlProvider {
        id: new_id("prov"),
        key: key.clone(),
        name: non_empty(&new.name, "name")?,
        api_family: family.as_str().into(),
        base_url: new.base_url.trim().trim_end_matches('/').to_owned(),
        credential_fields: to_json(&new.credential_fields.unwrap_or(default_creds))?,
        config_fields: to_json(&new.config_fields.unwrap_or(default_config))?,
        supports_model_listing: Flag(new.supports_model_listing.unwrap_or(true)),
        free: Flag(new.free.unwrap_or(false)),
        enabled: Flag(true),
        allow_private: Flag(new.allow_private.unwrap_or(false)),
        gateway_type,
        created_at: now,
        updated_at: now,
    };
    if !db::providers::insert_if_absent(&db.pool, &row)
        .await
        .map_err(StoreError::from)?
    {
        return Err(CatalogError::ProviderExists(key).into());
    }
    Provider::from_row(row)
}

pub async fn update(db: &Db, id: &str, change: ProviderUpdate) -> Result<Provider, ApiError> {
    let mut row = db::providers::find(&db.pool, id)
        .await
        .map_err(StoreError::from)?
        .ok_or_else(|| CatalogError::ProviderNotFound(id.to_owned()))?;
    if let Some(name) = change.name {
        row.name = non_empty(&name, "name")?;
    }
    if let Some(url) = change.base_url {
        row.base_url = url.trim().trim_end_matches('/').to_owned();
    }
    if let Some(v) = change.enabled {
        row.enabled = Flag(v);
    }
    if let Some(v) = change.free {
        row.free = Flag(v);
    }
    if let Some(v) = change.supports_model_listing {
        row.supports_model_listing = Flag(v);
    }
    if let Some(v) = change.allow_private {
        row.allow_private = Flag(v);
    }
    if let Some(t) = change.gateway_type {
        check_gateway_type(t)?;
        row.gateway_type = t;
    }
    row.updated_at = now_ms();
    db::providers::update(&db.pool, &row)
        .await
        .map_err(StoreError::from)?;
    Provider::from_row(row)
}

pub fn non_empty(value: &str, field: &'static str) -> Result<String, CatalogError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 100 {
        Err(CatalogError::Invalid {
            field,
            message: format!("{field} must be 1–100 characters"),
        })
    } else {
        Ok(v.to_owned())
    }
}
