//! Data the console shows, shared by the browser, the server functions and the REST API.
//! Nothing here holds a stored secret: password hashes and key digests stay in `server`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub handle: String,
    pub is_admin: bool,
    pub created_at: String,
}

/// Who may create an account: anyone (`open`), holders of an admin's invite link
/// (`invite`, the default), or nobody but an operator with `langmart user create` (`closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SignupPolicy {
    Open,
    #[default]
    Invite,
    Closed,
}

impl SignupPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SignupPolicy::Open => "open",
            SignupPolicy::Invite => "invite",
            SignupPolicy::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SignupPolicy::Open,
            SignupPolicy::Invite,
            SignupPolicy::Closed,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// What the sign-up page needs to know before anyone is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignupStatusDto {
    pub policy: SignupPolicy,
    /// No account exists yet: the first needs the setup token from the server log.
    pub needs_setup: bool,
}

/// A single-use sign-up link made by a platform admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignupInviteDto {
    pub id: String,
    /// Who it is for, as the admin wrote it.
    pub note: String,
    /// The email of the admin who made it.
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// `unused`, `used` or `expired`.
    pub status: String,
    pub used_at: Option<String>,
    pub used_by: Option<String>,
}

/// Returned once, when an invite is made: the only time its token leaves the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedSignupInviteDto {
    pub invite: SignupInviteDto,
    /// `/signup?invite=…`, to put after this site's origin.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    Admin,
    Member,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(OrgRole::Admin),
            "member" => Some(OrgRole::Member),
            _ => None,
        }
    }
}

/// An organization as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrgDto {
    pub id: String,
    pub name: String,
    pub handle: String,
    /// The caller's role in it.
    pub role: OrgRole,
    pub member_count: i64,
    pub created_at: String,
    /// The caller lets its connections serve their `provider/model` requests.
    #[serde(default = "yes")]
    pub serve_unqualified: bool,
    /// The caller lets its priorities compete with their own connections'.
    #[serde(default)]
    pub trust_priorities: bool,
}

fn yes() -> bool {
    true
}

/// An open invitation to an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InvitationDto {
    pub id: String,
    pub organization: String,
    pub organization_name: String,
    pub email: String,
    pub role: OrgRole,
    pub invited_by: String,
    pub invited_at: String,
}

/// A member's choices about one organization's connections.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MembershipPrefsDto {
    #[serde(default)]
    pub serve_unqualified: Option<bool>,
    #[serde(default)]
    pub trust_priorities: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemberDto {
    pub user_id: String,
    pub email: String,
    pub handle: String,
    pub role: OrgRole,
    pub joined_at: String,
}

/// What an API key may do: `inference` calls `/v1`, `manage` calls `/api` (keys,
/// connections, collections, organizations). A key made with a key never has more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    Inference,
    Manage,
}

impl KeyScope {
    pub const ALL: [KeyScope; 2] = [KeyScope::Inference, KeyScope::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Inference => "inference",
            KeyScope::Manage => "manage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        KeyScope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// How long a key made in the console lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum KeyLifetime {
    #[default]
    #[serde(rename = "never")]
    Never,
    #[serde(rename = "7")]
    Days7,
    #[serde(rename = "30")]
    Days30,
    #[serde(rename = "90")]
    Days90,
    #[serde(rename = "365")]
    Days365,
}

impl KeyLifetime {
    pub fn days(self) -> Option<u32> {
        match self {
            KeyLifetime::Never => None,
            KeyLifetime::Days7 => Some(7),
            KeyLifetime::Days30 => Some(30),
            KeyLifetime::Days90 => Some(90),
            KeyLifetime::Days365 => Some(365),
        }
    }
}

/// What a key may call, how fast and for how much (each absent: no limit of its own).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyPolicyDto {
    /// Model references the key may call (`*` matches any run of characters); absent:
    /// every model its owner may use.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// The key's own requests per minute.
    #[serde(default)]
    pub rate_limit_rpm: Option<i64>,
    /// The key's own tokens per minute.
    #[serde(default)]
    pub rate_limit_tpm: Option<i64>,
    /// Output tokens reserved against budgets for a request that sets no maximum
    /// (absent: 4,096).
    #[serde(default)]
    pub default_max_tokens: Option<i64>,
    #[serde(default)]
    pub budget: Option<BudgetDto>,
}

/// A key's spend budget: `usd` per `period` (`day`, `week`, `month`: UTC calendar
/// periods, weeks from Monday; `total`: the key's whole life).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BudgetDto {
    pub usd: f64,
    pub period: String,
}

/// A budget that limits someone, with what is spent of it this period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BudgetUseDto {
    /// `user`, `organization` or `member` (an organization's budget per member).
    pub scope: String,
    /// The handle of the user or organization it belongs to.
    pub owner: String,
    pub usd: f64,
    pub period: String,
    pub spent_usd: f64,
    pub resets_at: Option<String>,
}

/// An organization's budgets as its admins set them: its own, and each member's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrgBudgetsDto {
    pub organization: String,
    pub budget: Option<BudgetDto>,
    pub member_budget: Option<BudgetDto>,
    /// What the organization's connections served this period, against `budget`.
    pub spent_usd: Option<f64>,
    /// Each member's spend this period against `member_budget` (empty without one).
    #[serde(default)]
    pub members: Vec<MemberSpendDto>,
}

/// What one member spent on an organization's connections this period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemberSpendDto {
    pub handle: String,
    pub spent_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKeyDto {
    pub id: String,
    pub name: String,
    /// The first characters of the key, enough to recognise it (`sk-langmart-AbCd`).
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    /// The key this one was made with, if it was made with a key (it dies with it).
    pub parent_key_id: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// Whether `expires_at` has passed (as the server's clock says).
    pub expired: bool,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// What it may call, how fast and for how much (`models`, `rate_limit_rpm`,
    /// `rate_limit_tpm`, `budget`, beside the other fields).
    #[serde(flatten)]
    pub policy: KeyPolicyDto,
    /// Spent in the budget's current period (keys with a budget).
    #[serde(default)]
    pub spent_usd: Option<f64>,
    /// When the budget's period ends and its spend starts again from zero.
    #[serde(default)]
    pub budget_resets_at: Option<String>,
}

/// Returned once, when a key is created: the only time the full key leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedApiKeyDto {
    pub api_key: ApiKeyDto,
    pub key: String,
}

/// One input a provider needs: a credential (masked, sealed) or a setting (plain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldSpec {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub placeholder: Option<String>,
    /// Used when the field is left empty.
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderDto {
    pub id: String,
    pub key: String,
    pub name: String,
    pub api_family: String,
    pub base_url: String,
    /// Secrets: sealed at rest, never returned.
    pub credential_fields: Vec<FieldSpec>,
    /// Non-secret provider settings (Azure endpoint and api-version, Bedrock region, …).
    pub config_fields: Vec<FieldSpec>,
    pub supports_model_listing: bool,
    pub free: bool,
    pub enabled: bool,
    /// Its connections may reach non-public addresses (a platform admin's choice).
    #[serde(default)]
    pub allow_private: bool,
    pub gateway_type: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderRef {
    pub id: String,
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RateLimits {
    /// Requests per minute; `None` is unlimited.
    pub rpm: Option<i64>,
    /// Tokens per minute; `None` is unlimited.
    pub tpm: Option<i64>,
    /// Requests per UTC day (a free tier's daily quota); `None` is unlimited.
    #[serde(default)]
    pub rpd: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnerDto {
    /// `user`, `organization` or `platform`.
    pub kind: String,
    pub id: Option<String>,
    pub handle: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectionDto {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provider: ProviderRef,
    pub endpoint_url: String,
    /// 2 = cloud, 3 = self-hosted.
    pub gateway_type: i64,
    /// `active`, `inactive`, `error` or `rate_limited`.
    pub status: String,
    /// `individual`, `organization` or `platform`.
    pub scope: String,
    pub owner: OwnerDto,
    pub model_count: i64,
    pub rate_limits: RateLimits,
    pub prefer_score: i64,
    pub allow_fallback: bool,
    /// A platform admin let it reach loopback, private and other non-public addresses.
    #[serde(default)]
    pub allow_private: bool,
    /// How long a whole answer, or the start of a stream, may take.
    pub timeout_ms: i64,
    /// Longest wait for the connection itself; `None`: `timeout_ms`.
    #[serde(default)]
    pub connect_timeout_ms: Option<i64>,
    /// Longest pause within a stream; `None`: `timeout_ms`.
    #[serde(default)]
    pub idle_timeout_ms: Option<i64>,
    /// Longest a stream may last; `None`: no limit.
    #[serde(default)]
    pub max_duration_ms: Option<i64>,
    pub max_retries: i64,
    pub config: std::collections::BTreeMap<String, String>,
    pub credential_mask: String,
    pub last_health_check_at: Option<String>,
    pub last_error: Option<String>,
    /// When a `rate_limited` connection may be used again.
    pub rate_limited_until: Option<String>,
    /// Whether the caller may change it (owner, org admin, or platform admin).
    pub can_edit: bool,
    pub created_at: String,
    pub updated_at: String,
    /// What routes through it for the caller: `collection/HANDLE/NAME`, `auto(NAME)`,
    /// `alias NAME`.
    #[serde(default)]
    pub used_by: Vec<String>,
    /// Its last 24 hours in the request log (every user's requests through it).
    #[serde(default)]
    pub last_day: Option<ConnectionDayDto>,
    /// Why it needs a look although it is active: slow, near its rpm/tpm limit, or
    /// failing often lately (the console's yellow state).
    #[serde(default)]
    pub warning: Option<String>,
    /// A self-hosted (type 3) connection: the gateway whose agents reach it.
    #[serde(default)]
    pub gateway_id: Option<String>,
    /// Its upstream's name in the agent's configuration.
    #[serde(default)]
    pub gateway_upstream: Option<String>,
}

/// A connection's requests over the last 24 hours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectionDayDto {
    pub requests: i64,
    pub errors: i64,
    /// Approximate (interpolated inside a histogram bin).
    pub p50_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelDto {
    pub id: String,
    pub display_name: String,
    /// `discovered` or `manual`.
    pub source: String,
    pub enabled: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TestResultDto {
    pub success: bool,
    /// The connection's status after the test.
    pub status: String,
    pub latency_ms: i64,
    pub model_count: Option<i64>,
    pub error: Option<String>,
    pub http_status: Option<i64>,
    /// `manual`, `scheduled` or `draft`.
    pub trigger: String,
    pub tested_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditDto {
    pub action: String,
    pub actor: Option<String>,
    pub detail: String,
    pub created_at: String,
}

/// Everything the detail view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConnectionDetailDto {
    pub connection: ConnectionDto,
    pub models: Vec<ModelDto>,
    pub tests: Vec<TestResultDto>,
    pub audit: Vec<AuditDto>,
}

/// What the create form and `POST /api/connections` send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConnectionDto {
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub provider_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub credentials: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Organization handle, for `scope: organization`.
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub config: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub rate_limit_rpm: Option<i64>,
    #[serde(default)]
    pub rate_limit_tpm: Option<i64>,
    #[serde(default)]
    pub rate_limit_rpd: Option<i64>,
    #[serde(default)]
    pub prefer_score: Option<i64>,
    #[serde(default)]
    pub allow_fallback: Option<bool>,
    /// Platform admins only: let it reach loopback, private and other non-public addresses.
    #[serde(default)]
    pub allow_private: Option<bool>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    /// Longest wait for the connection itself (default: `timeout_ms`).
    #[serde(default)]
    pub connect_timeout_ms: Option<i64>,
    /// Longest pause within a stream (default: `timeout_ms`).
    #[serde(default)]
    pub idle_timeout_ms: Option<i64>,
    /// Longest a stream may last (default: no limit).
    #[serde(default)]
    pub max_duration_ms: Option<i64>,
    #[serde(default)]
    pub max_retries: Option<i64>,
}

/// `PUT /api/connections/{id}`: any subset. `rate_limit_*: null` clears a limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConnectionUpdateDto {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, with = "double_option")]
    pub rate_limit_rpm: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    pub rate_limit_tpm: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    pub rate_limit_rpd: Option<Option<i64>>,
    #[serde(default)]
    pub prefer_score: Option<i64>,
    #[serde(default)]
    pub allow_fallback: Option<bool>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default, with = "double_option")]
    pub connect_timeout_ms: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    pub idle_timeout_ms: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    pub max_duration_ms: Option<Option<i64>>,
    #[serde(default)]
    pub max_retries: Option<i64>,
    #[serde(default)]
    pub config: Option<std::collections::BTreeMap<String, String>>,
    /// Platform admins only: let it reach loopback, private and other non-public addresses.
    #[serde(default)]
    pub allow_private: Option<bool>,
    /// The credential again: required when `endpoint_url` moves to another host, since a
    /// stored credential stays bound to the endpoint it was entered for.
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub credentials: Option<std::collections::BTreeMap<String, String>>,
}

/// Tells "absent" (no change) from `null` (clear) in partial updates.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<i64>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(inner) => inner.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Option::<i64>::deserialize(d).map(Some)
    }
}

/// One attempt at one connection during an inference call, in the order made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptDto {
    pub connection_id: String,
    pub provider: String,
    /// `ok`, `http_<status>`, `timeout`, `unreachable`, `over_rpm_budget`, …
    pub outcome: String,
    pub status: Option<u16>,
    pub latency_ms: i64,
}

/// One row of the request log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestLogDto {
    pub id: String,
    pub request_id: String,
    pub created_at: String,
    pub endpoint: String,
    /// The request's path (`/v1/` and the endpoint).
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub user_agent: Option<String>,
    pub model: String,
    pub resolution: String,
    pub collection: Option<String>,
    pub connection_id: Option<String>,
    /// The connection's name, when it still exists and the reader may use it.
    #[serde(default)]
    pub connection_name: Option<String>,
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    pub status: i64,
    pub error_code: Option<String>,
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    #[serde(default)]
    pub cache_read_tokens: Option<i64>,
    #[serde(default)]
    pub cache_write_tokens: Option<i64>,
    pub stream: bool,
    pub attempts: Vec<AttemptDto>,
    /// USD, at the model's price when the call was made; `None` when the model has no
    /// price (`cost_basis: "unpriced"`) or the call never reached a model.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// `reported` (the provider's usage), `estimated` (counted from what was streamed,
    /// when the provider's usage never came) or `unpriced`.
    #[serde(default)]
    pub cost_basis: Option<String>,
}

/// The routing strategies a collection can use, with the one-line explanation the console shows.
pub const STRATEGIES: [(&str, &str); 5] = [
    ("fallback", "Try the members in the order given; the next one only when one fails."),
    ("round_robin", "Take the members in turn, one request each, then start over."),
    ("random", "Pick a member at random (weights make some likelier); the rest follow as fallbacks."),
    ("cost_optimized", "Cheapest first, by the model's price for this request's prompt and maximum output; unpriced models last."),
    ("latency_optimized", "Fastest first, by recent latency of each connection and model, with a little exploration."),
];

/// One member of a collection: a model reference in any routable form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CollectionMemberDto {
    pub model: String,
    /// Relative weight for `random`; absent means 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

/// A member as the API accepts it: `"openai/gpt-4o"` or `{"model": …, "weight": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum MemberInput {
    Reference(String),
    Weighted(CollectionMemberDto),
}

impl MemberInput {
    pub fn into_member(self) -> CollectionMemberDto {
        match self {
            MemberInput::Reference(model) => CollectionMemberDto {
                model,
                weight: None,
            },
            MemberInput::Weighted(m) => m,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CollectionDto {
    pub id: String,
    pub name: String,
    pub description: String,
    pub strategy: String,
    /// `user`, `organization` or `system`.
    pub owner: OwnerDto,
    /// What to put in `model`: `collection/HANDLE/NAME` or `auto(NAME)`.
    pub reference: String,
    pub models: Vec<CollectionMemberDto>,
    /// True for `auto(free)`, whose members are computed from free providers and prices.
    pub dynamic: bool,
    pub can_edit: bool,
    pub created_at: String,
    pub updated_at: String,
    /// USD a request may cost at most: dearer members (and unpriced ones) are skipped.
    #[serde(default)]
    pub max_price_usd: Option<f64>,
}

/// `POST /api/collections` and `PUT /api/collections/{id}` (owner fields only on create).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CollectionInputDto {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub strategy: String,
    #[serde(default)]
    pub models: Vec<MemberInput>,
    /// `individual` (default), `organization` or `system`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Organization handle, for `scope: organization`.
    #[serde(default)]
    pub organization: Option<String>,
    /// USD a request may cost at most (absent: no maximum).
    #[serde(default)]
    pub max_price_usd: Option<f64>,
}

/// A model's price in USD per million tokens: the cost of every request-log row, and
/// the order of `cost_optimized`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PriceDto {
    pub provider: String,
    pub model: String,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Prompt tokens read from the provider's cache (absent: `input_per_mtok`).
    #[serde(default)]
    pub cached_input_per_mtok: Option<f64>,
    /// Prompt tokens written to the provider's cache (absent: `input_per_mtok`).
    #[serde(default)]
    pub cache_write_per_mtok: Option<f64>,
}

/// The kept request and response bodies of one call (body capture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LogBodiesDto {
    pub request: String,
    pub response: String,
}

/// Something a person should know about one of their connections (it failed its check, is
/// rate-limited, recovered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NotificationDto {
    pub id: String,
    pub user_id: String,
    pub connection_id: String,
    /// `failed`, `rate_limited` or `recovered`.
    pub kind: String,
    pub title: String,
    pub detail: Option<String>,
    pub created_at: String,
    pub read: bool,
}

/// The notifications panel: the newest notifications, the unread count and the webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NotificationsDto {
    pub unread: i64,
    pub items: Vec<NotificationDto>,
    pub webhook_url: Option<String>,
}

/// A model the caller can route to, with the connections serving it and its price: a row
/// of the Models page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelRowDto {
    /// `provider/model`.
    pub reference: String,
    pub provider: String,
    pub connections: Vec<ModelConnectionDto>,
    /// USD per million tokens, where the model has a price.
    pub input_per_mtok: Option<f64>,
    pub output_per_mtok: Option<f64>,
    /// Its provider is flagged free, or its price is zero: `auto(free)` may pick it.
    pub free: bool,
}

/// A connection serving a model, as the Models page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelConnectionDto {
    pub name: String,
    /// `handle/provider/model`, pinning this owner's connections.
    pub pinned: String,
    pub scope: String,
    pub status: String,
}

/// A model the caller can route to, for the member picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReachableModelDto {
    /// `provider/model`.
    pub reference: String,
    /// `handle/provider/model`, pinning the owner's connections.
    pub pinned: String,
    pub connection_name: String,
}

/// One connection considered by routing, in order, and why it is skipped if it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CandidateDto {
    pub connection_id: String,
    pub name: String,
    pub provider: String,
    pub upstream_model: String,
    /// The collection member this candidate came from.
    #[serde(default)]
    pub member: Option<String>,
    pub prefer_score: i64,
    pub scope: String,
    pub status: String,
    pub latency_ms: Option<f64>,
    pub rpm_remaining: Option<i64>,
    pub tpm_remaining: Option<i64>,
    pub rpd_remaining: Option<i64>,
    /// Estimated cost of this request in USD, where the model has a price.
    #[serde(default)]
    pub estimated_cost_usd: Option<f64>,
    pub usable: bool,
    /// Why it is skipped, when it is.
    pub reason: Option<String>,
}

/// The dry run of routing one model reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExplainDto {
    pub model: String,
    pub resolution: String,
    /// The alias that named the reference (`claude-* → collection/coding (alias of acme)`).
    #[serde(default)]
    pub alias: Option<String>,
    /// Why routing did something not obvious from the reference.
    #[serde(default)]
    pub notes: Vec<String>,
    pub collection: Option<String>,
    pub strategy: Option<String>,
    /// How the strategy ordered the candidates, in words.
    pub order: Option<String>,
    pub candidates: Vec<CandidateDto>,
}

/// What the console's "Try it" got back from a test prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TryResultDto {
    pub status: u16,
    pub connection_id: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub content: Option<String>,
    pub error: Option<String>,
    pub latency_ms: i64,
}

/// A model alias: a name agents ask for, standing for a model reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AliasDto {
    pub id: String,
    /// Exact, or a glob where `*` matches any run of characters.
    pub name: String,
    /// The model reference it stands for.
    pub target: String,
    pub description: String,
    pub glob: bool,
    /// `user` or `organization`.
    pub owner: OwnerDto,
    pub can_edit: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/aliases` and `PUT /api/aliases/{id}` (owner fields only on create).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AliasInputDto {
    pub name: String,
    pub target: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `individual` (default) or `organization` with `organization` naming its handle.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub organization: Option<String>,
}

/// The dashboard's period: the last hour, day, week or month.
pub const PERIODS: [&str; 4] = ["hour", "day", "week", "month"];

/// The signed-in user's traffic (or an organization's, for its admins) over a period: totals, a time series and the busiest
/// connections, models, keys and collections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DashboardDto {
    pub period: String,
    /// The organization (handle) whose connections' traffic this is; `None`: the user's own.
    #[serde(default)]
    pub organization: Option<String>,
    /// Epoch ms of the first bucket and each bucket's length.
    pub from_ms: i64,
    pub bucket_ms: i64,
    pub requests: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_usd: f64,
    /// Approximate (interpolated inside a histogram bin).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub points: Vec<DashboardPointDto>,
    pub by_connection: Vec<BreakdownDto>,
    pub by_model: Vec<BreakdownDto>,
    pub by_key: Vec<BreakdownDto>,
    pub by_collection: Vec<BreakdownDto>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DashboardPointDto {
    pub t: i64,
    pub requests: i64,
    pub errors: i64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub tokens: i64,
    pub cost_usd: f64,
}

/// One row of a breakdown table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BreakdownDto {
    pub name: String,
    pub requests: i64,
    pub errors: i64,
    pub tokens: i64,
    pub cost_usd: f64,
}

/// The Request Logs page's filters (`None` or empty: not filtered).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LogFilterDto {
    /// Part of the model string, any case.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub connection_id: Option<String>,
    #[serde(default)]
    pub status: Option<i64>,
    #[serde(default)]
    pub resolution: Option<String>,
    /// Only the last this many hours.
    #[serde(default)]
    pub since_hours: Option<i64>,
    /// A previous page's `next_cursor`.
    #[serde(default)]
    pub before: Option<String>,
}

/// A page of the request log and the cursor of the next, if there is one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LogPageDto {
    pub logs: Vec<RequestLogDto>,
    pub next_cursor: Option<String>,
}

/// One turn of a playground conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChatTurnDto {
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
}

/// What the playground sends: any model reference, an optional system prompt and the
/// conversation so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlaygroundRequestDto {
    pub model: String,
    #[serde(default)]
    pub system: Option<String>,
    pub messages: Vec<ChatTurnDto>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// One line of the playground's answer stream (JSON, one per line): who serves it, then
/// the text as it arrives, then the figures, or an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlaygroundEventDto {
    Served {
        connection_id: Option<String>,
        connection: Option<String>,
        provider: Option<String>,
        resolution: Option<String>,
        model: Option<String>,
    },
    Delta {
        text: String,
    },
    Done {
        latency_ms: i64,
        ttft_ms: Option<i64>,
        prompt_tokens: Option<i64>,
        completion_tokens: Option<i64>,
    },
    Error {
        status: u16,
        message: String,
    },
}

/// `POST /api/gateways`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewGatewayDto {
    pub name: String,
    /// The handle of an organization that will own it (its admins manage it).
    #[serde(default)]
    pub organization: Option<String>,
}

/// A gateway with its token, answered once at creation and on rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedGatewayDto {
    pub id: String,
    pub name: String,
    /// Shown once; only its digest is kept.
    pub token: String,
}

/// One connected agent of a gateway, as this server sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GatewayAgentDto {
    pub id: String,
    pub version: String,
    /// The address it connected from.
    pub address: String,
    pub connected_since: String,
    pub last_heartbeat_at: String,
    /// The upstream names it announced.
    pub upstreams: Vec<String>,
    /// Requests in flight through it.
    pub in_flight: usize,
    /// Requests sent through it since it connected.
    pub requests: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GatewayDto {
    pub id: String,
    pub name: String,
    pub owner: OwnerDto,
    /// `connected` (at least one agent) or `disconnected`.
    pub status: String,
    pub agents: Vec<GatewayAgentDto>,
    /// The newest agent version connected, if any.
    pub version: Option<String>,
    pub last_heartbeat_at: Option<String>,
    pub connected_since: Option<String>,
    /// The token's first characters, to tell tokens apart.
    pub token_hint: String,
    pub can_edit: bool,
    pub created_at: String,
}

/// An agent connecting, disconnecting or being refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GatewayEventDto {
    pub at: String,
    /// `connected`, `disconnected` or `refused`.
    pub kind: String,
    pub agent_id: String,
    pub address: String,
    pub version: String,
    pub detail: String,
}

/// `GET /api/gateways/{id}`: the gateway, its connections and its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GatewayDetailDto {
    pub gateway: GatewayDto,
    pub connections: Vec<ConnectionDto>,
    pub events: Vec<GatewayEventDto>,
    /// The command that runs an agent (with a placeholder for the token).
    pub install_command: String,
}
