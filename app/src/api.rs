//! Server functions of the console, mounted under `/api/fn/`. Each body only finds the
//! backend and the session and hands over to the service layer. The server sets the HTTP
//! status of a failed call from the returned `AppError`. Signing in or out navigates on
//! the client (see `UserContext::after_sign_in`); without JavaScript the form post lands
//! back on its page and the server's page guard sends the visitor on.

use leptos::prelude::*;

use std::collections::BTreeMap;

use leptos::server_fn::codec::Json;

use crate::dto::{
    AliasDto, AliasInputDto, ApiKeyDto, BudgetDto, BudgetUseDto, CollectionDto, CollectionInputDto,
    ConnectionDetailDto, ConnectionDto, ConnectionUpdateDto, CreatedGatewayDto,
    CreatedSignupInviteDto, DashboardDto, ExplainDto, GatewayDetailDto, InvitationDto,
    LogBodiesDto, LogFilterDto, LogPageDto, MemberDto, ModelDto, ModelRowDto, NewConnectionDto,
    NotificationsDto, OrgBudgetsDto, OrgDto, OrgRole, PlaygroundRequestDto, PriceDto, ProviderDto,
    ReachableModelDto, SignupInviteDto, SignupStatusDto, TestResultDto, TryResultDto, UserDto,
};
use crate::error::AppError;
use leptos::server_fn::codec::{StreamingText, TextStream};

#[cfg(feature = "ssr")]
mod ssr {
    use crate::backend::Backend;
    use crate::error::AppError;
    use leptos::prelude::*;
    use tower_sessions::Session;

    /// The backend and this request's session.
    pub async fn context() -> Result<(Backend, Session), AppError> {
        let backend = use_context::<Backend>()
            .ok_or_else(|| AppError::new("INTERNAL_ERROR", "console backend missing", 500))?;
        let session: Session = leptos_axum::extract()
            .await
            .map_err(|e| AppError::new("INTERNAL_ERROR", e.to_string(), 500))?;
        Ok((backend, session))
    }

    /// The `Host` this request was sent to, for commands that name this server.
    pub fn host() -> Option<String> {
        use_context::<http::request::Parts>().and_then(|parts| {
            parts
                .headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
    }

    /// Where this request came from (see [`crate::backend::ClientAddr`]).
    pub fn client_addr() -> Option<std::net::IpAddr> {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .extensions
                    .get::<crate::backend::ClientAddr>()
                    .copied()
            })
            .map(|c| c.0)
    }
}

#[server(prefix = "/api/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.current_user(&session).await
}

/// `invite` comes from the invite link (`/signup?invite=…`); `setup_token` from the server
/// log of a fresh install.
#[server(prefix = "/api/fn", endpoint = "signup")]
pub async fn signup(
    email: String,
    password: String,
    handle: String,
    invite: Option<String>,
    setup_token: Option<String>,
) -> Result<UserDto, AppError> {
    let (backend, session) = ssr::context().await?;
    let form = crate::backend::SignupForm {
        email,
        password,
        handle,
        invite,
        setup_token,
    };
    backend.signup(&session, form).await
}

/// The sign-up policy and whether this install still needs its first account.
#[server(prefix = "/api/fn", endpoint = "signup_status")]
pub async fn signup_status() -> Result<SignupStatusDto, AppError> {
    let (backend, _session) = ssr::context().await?;
    backend.signup_status().await
}

#[server(prefix = "/api/fn", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_users(&session).await
}

#[server(prefix = "/api/fn", endpoint = "create_signup_invite")]
pub async fn create_signup_invite(
    note: String,
    days: Option<u32>,
) -> Result<CreatedSignupInviteDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.create_signup_invite(&session, note, days).await
}

#[server(prefix = "/api/fn", endpoint = "list_signup_invites")]
pub async fn list_signup_invites() -> Result<Vec<SignupInviteDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_signup_invites(&session).await
}

#[server(prefix = "/api/fn", endpoint = "withdraw_signup_invite")]
pub async fn withdraw_signup_invite(id: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.withdraw_signup_invite(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<UserDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend
        .login(&session, ssr::client_addr(), email, password)
        .await
}

#[server(prefix = "/api/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.logout(&session).await
}

#[server(prefix = "/api/fn", endpoint = "change_handle")]
pub async fn change_handle(handle: String) -> Result<UserDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.change_handle(&session, handle).await
}

#[server(prefix = "/api/fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend
        .change_password(&session, current_password, new_password)
        .await
}

#[server(prefix = "/api/fn", endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_api_keys(&session).await
}

/// A budget from a form's amount and period fields: an empty amount is no budget.
pub fn budget_from_form(
    usd: Option<String>,
    period: Option<String>,
    field: &'static str,
) -> Result<Option<crate::dto::BudgetDto>, AppError> {
    let filled = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    filled(usd)
        .map(|usd| {
            usd.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    AppError::new(
                        "INVALID_FIELD",
                        format!("{field} must be an amount in USD"),
                        400,
                    )
                    .with_field(field)
                })
                .map(|usd| crate::dto::BudgetDto {
                    usd,
                    period: filled(period).unwrap_or_else(|| "month".into()),
                })
        })
        .transpose()
}

/// `inference` and `manage` are checkboxes: present when ticked.
pub use key_form::{create_api_key, CreateApiKey};

/// The console's key form: one server-function argument per form field.
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per field of the console's key form, as server functions take them"
)]
mod key_form {
    #[cfg(feature = "ssr")]
    use super::ssr;
    use crate::dto::{CreatedApiKeyDto, KeyLifetime};
    use crate::error::AppError;
    use leptos::prelude::*;

    #[server(prefix = "/api/fn", endpoint = "create_api_key")]
    pub async fn create_api_key(
        name: String,
        inference: Option<String>,
        manage: Option<String>,
        lifetime: Option<KeyLifetime>,
        models: Option<String>,
        rate_limit_rpm: Option<String>,
        rate_limit_tpm: Option<String>,
        budget_usd: Option<String>,
        budget_period: Option<String>,
        default_max_tokens: Option<String>,
    ) -> Result<CreatedApiKeyDto, AppError> {
        let (backend, session) = ssr::context().await?;
        let filled = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let number = |v: Option<String>, field: &str| -> Result<Option<i64>, AppError> {
            filled(v)
                .map(|s| {
                    s.parse::<i64>().map_err(|_| {
                        AppError::new(
                            "INVALID_FIELD",
                            format!("{field} must be a whole number"),
                            400,
                        )
                        .with_field(field)
                    })
                })
                .transpose()
        };
        let budget = super::budget_from_form(budget_usd, budget_period, "budget")?;
        let policy = crate::dto::KeyPolicyDto {
            models: filled(models).map(|m| {
                m.split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            rate_limit_rpm: number(rate_limit_rpm, "rate_limit_rpm")?,
            rate_limit_tpm: number(rate_limit_tpm, "rate_limit_tpm")?,
            default_max_tokens: number(default_max_tokens, "default_max_tokens")?,
            budget,
        };
        let scopes = [
            (crate::dto::KeyScope::Inference, inference),
            (crate::dto::KeyScope::Manage, manage),
        ]
        .into_iter()
        .filter_map(|(scope, ticked)| ticked.map(|_| scope))
        .collect();
        backend
            .create_api_key(&session, name, scopes, lifetime.unwrap_or_default(), policy)
            .await
    }
}

#[server(prefix = "/api/fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.revoke_api_key(&session, id).await
}

/// The budgets that limit the signed-in user, with what is spent of each.
#[server(prefix = "/api/fn", endpoint = "my_budgets")]
pub async fn my_budgets() -> Result<Vec<BudgetUseDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.my_budgets(&session).await
}

/// An organization's budgets (its admins).
#[server(prefix = "/api/fn", endpoint = "org_budgets")]
pub async fn org_budgets(org: String) -> Result<OrgBudgetsDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.org_budgets(&session, org).await
}

/// Sets both of an organization's budgets from its form; an empty amount removes one.
#[server(prefix = "/api/fn", endpoint = "set_org_budgets")]
pub async fn set_org_budgets(
    org: String,
    budget_usd: Option<String>,
    budget_period: Option<String>,
    member_usd: Option<String>,
    member_period: Option<String>,
) -> Result<OrgBudgetsDto, AppError> {
    let budget = budget_from_form(budget_usd, budget_period, "budget_usd")?;
    let member = budget_from_form(member_usd, member_period, "member_usd")?;
    let (backend, session) = ssr::context().await?;
    backend.set_org_budgets(&session, org, budget, member).await
}

/// Every user's budget, by user id (platform admins).
#[server(prefix = "/api/fn", endpoint = "user_budgets")]
pub async fn user_budgets() -> Result<Vec<(String, BudgetDto)>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.user_budgets(&session).await
}

/// Sets a user's budget (platform admins); an empty amount removes it.
#[server(prefix = "/api/fn", endpoint = "set_user_budget")]
pub async fn set_user_budget(
    user_id: String,
    usd: Option<String>,
    period: Option<String>,
) -> Result<(), AppError> {
    let budget = budget_from_form(usd, period, "usd")?;
    let (backend, session) = ssr::context().await?;
    backend.set_user_budget(&session, user_id, budget).await
}

#[server(prefix = "/api/fn", endpoint = "list_orgs")]
pub async fn list_orgs() -> Result<Vec<OrgDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_orgs(&session).await
}

#[server(prefix = "/api/fn", endpoint = "create_org")]
pub async fn create_org(name: String, handle: String) -> Result<OrgDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.create_org(&session, name, handle).await
}

#[server(prefix = "/api/fn", endpoint = "list_members")]
pub async fn list_members(org: String) -> Result<Vec<MemberDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_members(&session, org).await
}

#[server(prefix = "/api/fn", endpoint = "invite_member")]
pub async fn invite_member(
    org: String,
    email: String,
    role: OrgRole,
) -> Result<InvitationDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.invite_member(&session, org, email, role).await
}

#[server(prefix = "/api/fn", endpoint = "org_invitations")]
pub async fn org_invitations(org: String) -> Result<Vec<InvitationDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.org_invitations(&session, org).await
}

#[server(prefix = "/api/fn", endpoint = "withdraw_invitation")]
pub async fn withdraw_invitation(org: String, id: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.withdraw_invitation(&session, org, id).await
}

#[server(prefix = "/api/fn", endpoint = "my_invitations")]
pub async fn my_invitations() -> Result<Vec<InvitationDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.my_invitations(&session).await
}

#[server(prefix = "/api/fn", endpoint = "answer_invitation")]
pub async fn answer_invitation(id: String, accept: bool) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.answer_invitation(&session, id, accept).await
}

#[server(prefix = "/api/fn", endpoint = "set_membership")]
pub async fn set_membership(
    org: String,
    serve_unqualified: bool,
    trust_priorities: bool,
) -> Result<OrgDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend
        .set_membership(&session, org, serve_unqualified, trust_priorities)
        .await
}

#[server(prefix = "/api/fn", endpoint = "set_member_role")]
pub async fn set_member_role(org: String, user_id: String, role: OrgRole) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.set_member_role(&session, org, user_id, role).await
}

#[server(prefix = "/api/fn", endpoint = "remove_member")]
pub async fn remove_member(org: String, user_id: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.remove_member(&session, org, user_id).await
}

#[server(prefix = "/api/fn", endpoint = "leave_org")]
pub async fn leave_org(org: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.leave_org(&session, org).await
}

#[server(prefix = "/api/fn", endpoint = "list_providers")]
pub async fn list_providers() -> Result<Vec<ProviderDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_providers(&session).await
}

#[server(prefix = "/api/fn", endpoint = "list_connections")]
pub async fn list_connections() -> Result<Vec<ConnectionDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_connections(&session).await
}

#[server(prefix = "/api/fn", endpoint = "connection_detail")]
pub async fn connection_detail(id: String) -> Result<ConnectionDetailDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.connection_detail(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "create_connection", input = Json)]
pub async fn create_connection(req: NewConnectionDto) -> Result<ConnectionDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.create_connection(&session, req).await
}

#[server(prefix = "/api/fn", endpoint = "test_draft_connection", input = Json)]
pub async fn test_draft_connection(req: NewConnectionDto) -> Result<TestResultDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.test_draft_connection(&session, req).await
}

#[server(prefix = "/api/fn", endpoint = "test_connection")]
pub async fn test_connection(id: String) -> Result<TestResultDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.test_connection(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "discover_models")]
pub async fn discover_models(id: String) -> Result<Vec<ModelDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.discover_models(&session, id).await
}

/// Adds a model the provider does not list (or not yet) to a connection, by hand.
#[server(prefix = "/api/fn", endpoint = "add_model")]
pub async fn add_model(
    id: String,
    model: String,
    display_name: Option<String>,
) -> Result<ModelDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.add_model(&session, id, model, display_name).await
}

#[server(prefix = "/api/fn", endpoint = "update_connection", input = Json)]
pub async fn update_connection(
    id: String,
    change: ConnectionUpdateDto,
) -> Result<ConnectionDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.update_connection(&session, id, change).await
}

#[server(prefix = "/api/fn", endpoint = "update_connection_key", input = Json)]
pub async fn update_connection_key(
    id: String,
    credentials: BTreeMap<String, String>,
) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend
        .update_connection_key(&session, id, credentials)
        .await
}

#[server(prefix = "/api/fn", endpoint = "delete_connection")]
pub async fn delete_connection(id: String) -> Result<i64, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.delete_connection(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "create_provider")]
pub async fn create_provider(
    key: String,
    name: String,
    api_family: String,
    base_url: String,
) -> Result<ProviderDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend
        .create_provider(&session, key, name, api_family, base_url)
        .await
}

#[server(prefix = "/api/fn", endpoint = "set_provider_flags")]
pub async fn set_provider_flags(
    id: String,
    enabled: bool,
    free: bool,
) -> Result<ProviderDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend
        .set_provider_flags(&session, id, enabled, free)
        .await
}

/// Platform admins: a provider's display name and default base URL.
#[server(prefix = "/api/fn", endpoint = "update_provider")]
pub async fn update_provider(
    id: String,
    name: String,
    base_url: String,
) -> Result<ProviderDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.update_provider(&session, id, name, base_url).await
}

#[server(prefix = "/api/fn", endpoint = "service_warnings")]
pub async fn service_warnings() -> Result<Vec<String>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.service_warnings(&session).await
}

/// The playground's answer: JSON lines (`PlaygroundEventDto`) as they come.
#[server(prefix = "/api/fn", endpoint = "playground", input = Json, output = StreamingText)]
pub async fn playground(req: PlaygroundRequestDto) -> Result<TextStream<AppError>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.playground(&session, req).await
}

/// Days the signed-in user keeps their calls' bodies (`None`: capture is off).
#[server(prefix = "/api/fn", endpoint = "body_capture")]
pub async fn body_capture() -> Result<Option<i64>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.body_capture(&session).await
}

/// Turns body capture on for `retention_days` (1 to 30), or off when empty.
#[server(prefix = "/api/fn", endpoint = "set_body_capture")]
pub async fn set_body_capture(
    enabled: Option<String>,
    retention_days: String,
) -> Result<Option<i64>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend
        .set_body_capture(&session, enabled.is_some(), retention_days)
        .await
}

/// The kept bodies of one of the signed-in user's calls.
#[server(prefix = "/api/fn", endpoint = "log_bodies")]
pub async fn log_bodies(id: String) -> Result<LogBodiesDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.log_bodies(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "notifications")]
pub async fn notifications() -> Result<NotificationsDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.notifications(&session).await
}

#[server(prefix = "/api/fn", endpoint = "mark_notifications_read")]
pub async fn mark_notifications_read() -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.mark_notifications_read(&session).await
}

/// Sets the signed-in user's notification webhook (empty: none); returns what is stored.
#[server(prefix = "/api/fn", endpoint = "set_webhook")]
pub async fn set_webhook(url: String) -> Result<Option<String>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.set_webhook(&session, url).await
}

#[server(prefix = "/api/fn", endpoint = "list_models")]
pub async fn list_models() -> Result<Vec<ModelRowDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_models(&session).await
}

#[server(prefix = "/api/fn", endpoint = "dashboard")]
pub async fn dashboard(period: String, org: Option<String>) -> Result<DashboardDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.dashboard(&session, period, org).await
}

#[server(prefix = "/api/fn", endpoint = "list_logs", input = Json)]
pub async fn list_logs(filter: LogFilterDto) -> Result<LogPageDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_logs(&session, filter).await
}

#[server(prefix = "/api/fn", endpoint = "list_collections")]
pub async fn list_collections() -> Result<Vec<CollectionDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_collections(&session).await
}

#[server(prefix = "/api/fn", endpoint = "save_collection", input = Json)]
pub async fn save_collection(
    id: Option<String>,
    input: CollectionInputDto,
) -> Result<CollectionDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.save_collection(&session, id, input).await
}

#[server(prefix = "/api/fn", endpoint = "delete_collection")]
pub async fn delete_collection(id: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.delete_collection(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "reachable_models")]
pub async fn reachable_models() -> Result<Vec<ReachableModelDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.reachable_models(&session).await
}

#[server(prefix = "/api/fn", endpoint = "explain_model")]
pub async fn explain_model(model: String) -> Result<ExplainDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.explain_model(&session, model).await
}

#[server(prefix = "/api/fn", endpoint = "try_model")]
pub async fn try_model(model: String, prompt: String) -> Result<TryResultDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.try_model(&session, model, prompt).await
}

#[server(prefix = "/api/fn", endpoint = "list_aliases")]
pub async fn list_aliases() -> Result<Vec<AliasDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_aliases(&session).await
}

#[server(prefix = "/api/fn", endpoint = "save_alias", input = Json)]
pub async fn save_alias(id: Option<String>, input: AliasInputDto) -> Result<AliasDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.save_alias(&session, id, input).await
}

#[server(prefix = "/api/fn", endpoint = "delete_alias")]
pub async fn delete_alias(id: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.delete_alias(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "list_prices")]
pub async fn list_prices() -> Result<Vec<PriceDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.list_prices(&session).await
}

#[server(prefix = "/api/fn", endpoint = "set_price", input = Json)]
pub async fn set_price(price: PriceDto) -> Result<PriceDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.set_price(&session, price).await
}

/// The signed-in user's self-hosted gateways, with their agents, connections and timeline.
#[server(prefix = "/api/fn", endpoint = "gateways")]
pub async fn gateways() -> Result<Vec<GatewayDetailDto>, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.gateways(&session, ssr::host()).await
}

/// Creates a gateway (for an organization the user administers, when one is named); the
/// answer carries its token, shown once.
#[server(prefix = "/api/fn", endpoint = "create_gateway")]
pub async fn create_gateway(
    name: String,
    organization: Option<String>,
) -> Result<CreatedGatewayDto, AppError> {
    let (backend, session) = ssr::context().await?;
    let organization = organization.filter(|o| !o.trim().is_empty());
    backend
        .create_gateway(&session, crate::dto::NewGatewayDto { name, organization })
        .await
}

/// A new token for the gateway: its agents are disconnected until they use it.
#[server(prefix = "/api/fn", endpoint = "rotate_gateway")]
pub async fn rotate_gateway(id: String) -> Result<CreatedGatewayDto, AppError> {
    let (backend, session) = ssr::context().await?;
    backend.rotate_gateway(&session, id).await
}

#[server(prefix = "/api/fn", endpoint = "delete_gateway")]
pub async fn delete_gateway(id: String) -> Result<(), AppError> {
    let (backend, session) = ssr::context().await?;
    backend.delete_gateway(&session, id).await
}
