//! What the console needs from the back end. `server` implements it and provides an
//! `Arc<dyn ConsoleBackend>` through Leptos context, so `app` never depends on `server`.

use std::sync::Arc;

use async_trait::async_trait;
use tower_sessions::Session;

use std::collections::BTreeMap;

use crate::dto::{
    AliasDto, AliasInputDto, ApiKeyDto, BudgetDto, BudgetUseDto, CollectionDto, CollectionInputDto,
    ConnectionDetailDto, ConnectionDto, ConnectionUpdateDto, CreatedApiKeyDto, CreatedGatewayDto,
    CreatedSignupInviteDto, DashboardDto, ExplainDto, GatewayDetailDto, InvitationDto, KeyLifetime,
    KeyPolicyDto, KeyScope, LogBodiesDto, LogFilterDto, LogPageDto, MemberDto, ModelDto,
    ModelRowDto, NewConnectionDto, NewGatewayDto, NotificationsDto, OrgBudgetsDto, OrgDto, OrgRole,
    PlaygroundRequestDto, PriceDto, ProviderDto, ReachableModelDto, SignupInviteDto,
    SignupStatusDto, TestResultDto, TryResultDto, UserDto,
};
use crate::error::AppError;

pub type Backend = Arc<dyn ConsoleBackend>;

/// The address a console request came from, as the server determined it (the peer, or
/// the proxy's `X-Forwarded-For` when trusted). Log-in throttling is keyed by it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

/// A visitor's sign-up: the account, and the invite or setup token that lets it in.
#[derive(Debug, Clone)]
pub struct SignupForm {
    pub email: String,
    pub password: String,
    pub handle: String,
    pub invite: Option<String>,
    pub setup_token: Option<String>,
}

#[async_trait]
pub trait ConsoleBackend: Send + Sync + 'static {
    async fn current_user(&self, session: &Session) -> Result<Option<UserDto>, AppError>;
    async fn signup(&self, session: &Session, form: SignupForm) -> Result<UserDto, AppError>;
    async fn signup_status(&self) -> Result<SignupStatusDto, AppError>;
    async fn list_users(&self, session: &Session) -> Result<Vec<UserDto>, AppError>;
    async fn create_signup_invite(
        &self,
        session: &Session,
        note: String,
        days: Option<u32>,
    ) -> Result<CreatedSignupInviteDto, AppError>;
    async fn list_signup_invites(
        &self,
        session: &Session,
    ) -> Result<Vec<SignupInviteDto>, AppError>;
    async fn withdraw_signup_invite(&self, session: &Session, id: String) -> Result<(), AppError>;
    async fn login(
        &self,
        session: &Session,
        client: Option<std::net::IpAddr>,
        email: String,
        password: String,
    ) -> Result<UserDto, AppError>;
    async fn logout(&self, session: &Session) -> Result<(), AppError>;
    async fn change_handle(&self, session: &Session, handle: String) -> Result<UserDto, AppError>;
    async fn change_password(
        &self,
        session: &Session,
        current_password: String,
        new_password: String,
    ) -> Result<(), AppError>;

    async fn list_api_keys(&self, session: &Session) -> Result<Vec<ApiKeyDto>, AppError>;
    async fn create_api_key(
        &self,
        session: &Session,
        name: String,
        scopes: Vec<KeyScope>,
        lifetime: KeyLifetime,
        policy: KeyPolicyDto,
    ) -> Result<CreatedApiKeyDto, AppError>;
    async fn revoke_api_key(&self, session: &Session, id: String) -> Result<(), AppError>;

    /// The budgets that limit the signed-in user, with spend.
    async fn my_budgets(&self, session: &Session) -> Result<Vec<BudgetUseDto>, AppError>;
    async fn org_budgets(&self, session: &Session, org: String) -> Result<OrgBudgetsDto, AppError>;
    /// Replaces both of an organization's budgets (`None` removes one).
    async fn set_org_budgets(
        &self,
        session: &Session,
        org: String,
        budget: Option<BudgetDto>,
        member_budget: Option<BudgetDto>,
    ) -> Result<OrgBudgetsDto, AppError>;
    async fn user_budgets(&self, session: &Session) -> Result<Vec<(String, BudgetDto)>, AppError>;
    async fn set_user_budget(
        &self,
        session: &Session,
        user_id: String,
        budget: Option<BudgetDto>,
    ) -> Result<(), AppError>;

    async fn list_orgs(&self, session: &Session) -> Result<Vec<OrgDto>, AppError>;
    async fn create_org(
        &self,
        session: &Session,
        name: String,
        handle: String,
    ) -> Result<OrgDto, AppError>;
    async fn list_members(
        &self,
        session: &Session,
        org: String,
    ) -> Result<Vec<MemberDto>, AppError>;
    async fn invite_member(
        &self,
        session: &Session,
        org: String,
        email: String,
        role: OrgRole,
    ) -> Result<InvitationDto, AppError>;
    async fn org_invitations(
        &self,
        session: &Session,
        org: String,
    ) -> Result<Vec<InvitationDto>, AppError>;
    async fn withdraw_invitation(
        &self,
        session: &Session,
        org: String,
        id: String,
    ) -> Result<(), AppError>;
    async fn my_invitations(&self, session: &Session) -> Result<Vec<InvitationDto>, AppError>;
    async fn answer_invitation(
        &self,
        session: &Session,
        id: String,
        accept: bool,
    ) -> Result<(), AppError>;
    async fn set_membership(
        &self,
        session: &Session,
        org: String,
        serve_unqualified: bool,
        trust_priorities: bool,
    ) -> Result<OrgDto, AppError>;
    async fn set_member_role(
        &self,
        session: &Session,
        org: String,
        user_id: String,
        role: OrgRole,
    ) -> Result<(), AppError>;
    async fn remove_member(
        &self,
        session: &Session,
        org: String,
        user_id: String,
    ) -> Result<(), AppError>;
    async fn leave_org(&self, session: &Session, org: String) -> Result<(), AppError>;

    async fn list_providers(&self, session: &Session) -> Result<Vec<ProviderDto>, AppError>;
    async fn list_connections(&self, session: &Session) -> Result<Vec<ConnectionDto>, AppError>;
    async fn connection_detail(
        &self,
        session: &Session,
        id: String,
    ) -> Result<ConnectionDetailDto, AppError>;
    async fn create_connection(
        &self,
        session: &Session,
        req: NewConnectionDto,
    ) -> Result<ConnectionDto, AppError>;
    async fn test_draft_connection(
        &self,
        session: &Session,
        req: NewConnectionDto,
    ) -> Result<TestResultDto, AppError>;
    async fn test_connection(
        &self,
        session: &Session,
        id: String,
    ) -> Result<TestResultDto, AppError>;
    /// Adds a model to a connection by hand.
    async fn add_model(
        &self,
        session: &Session,
        id: String,
        model: String,
        display_name: Option<String>,
    ) -> Result<ModelDto, AppError>;
    async fn discover_models(
        &self,
        session: &Session,
        id: String,
    ) -> Result<Vec<ModelDto>, AppError>;
    async fn update_connection(
        &self,
        session: &Session,
        id: String,
        change: ConnectionUpdateDto,
    ) -> Result<ConnectionDto, AppError>;
    async fn update_connection_key(
        &self,
        session: &Session,
        id: String,
        credentials: BTreeMap<String, String>,
    ) -> Result<(), AppError>;
    async fn delete_connection(&self, session: &Session, id: String) -> Result<i64, AppError>;
    async fn create_provider(
        &self,
        session: &Session,
        key: String,
        name: String,
        api_family: String,
        base_url: String,
    ) -> Result<ProviderDto, AppError>;
    async fn set_provider_flags(
        &self,
        session: &Session,
        id: String,
        enabled: bool,
        free: bool,
    ) -> Result<ProviderDto, AppError>;
    async fn update_provider(
        &self,
        session: &Session,
        id: String,
        name: String,
        base_url: String,
    ) -> Result<ProviderDto, AppError>;
    /// What an operator must act on (the disk nearly full, the request log failing),
    /// as `/health` reports it; shown on every page of the console.
    async fn service_warnings(&self, session: &Session) -> Result<Vec<String>, AppError>;
    /// A playground conversation through the request path, answered as JSON lines.
    async fn playground(
        &self,
        session: &Session,
        req: PlaygroundRequestDto,
    ) -> Result<leptos::server_fn::codec::TextStream<AppError>, AppError>;
    async fn body_capture(&self, session: &Session) -> Result<Option<i64>, AppError>;
    /// `retention_days` as typed: a number of days is checked here and by the service.
    async fn set_body_capture(
        &self,
        session: &Session,
        enabled: bool,
        retention_days: String,
    ) -> Result<Option<i64>, AppError>;
    async fn log_bodies(&self, session: &Session, id: String) -> Result<LogBodiesDto, AppError>;
    /// The gateways the user may see; `host` names this server in the install command.
    async fn gateways(
        &self,
        session: &Session,
        host: Option<String>,
    ) -> Result<Vec<GatewayDetailDto>, AppError>;
    async fn create_gateway(
        &self,
        session: &Session,
        new: NewGatewayDto,
    ) -> Result<CreatedGatewayDto, AppError>;
    async fn rotate_gateway(
        &self,
        session: &Session,
        id: String,
    ) -> Result<CreatedGatewayDto, AppError>;
    async fn delete_gateway(&self, session: &Session, id: String) -> Result<(), AppError>;
    /// The signed-in user's notifications panel.
    async fn notifications(&self, session: &Session) -> Result<NotificationsDto, AppError>;
    async fn mark_notifications_read(&self, session: &Session) -> Result<(), AppError>;
    async fn set_webhook(&self, session: &Session, url: String)
        -> Result<Option<String>, AppError>;
    /// Every model the signed-in user can route to (the Models page).
    async fn list_models(&self, session: &Session) -> Result<Vec<ModelRowDto>, AppError>;
    /// The signed-in user's traffic over the last `period` (hour, day, week, month), or with
    /// `org` (a handle) the traffic of the organization's connections, for its admins.
    async fn dashboard(
        &self,
        session: &Session,
        period: String,
        org: Option<String>,
    ) -> Result<DashboardDto, AppError>;
    /// A page of the signed-in user's request log (platform admins: also keyless rows).
    async fn list_logs(
        &self,
        session: &Session,
        filter: LogFilterDto,
    ) -> Result<LogPageDto, AppError>;

    async fn list_collections(&self, session: &Session) -> Result<Vec<CollectionDto>, AppError>;
    /// Creates (no `id`) or replaces (with `id`) a collection.
    async fn save_collection(
        &self,
        session: &Session,
        id: Option<String>,
        input: CollectionInputDto,
    ) -> Result<CollectionDto, AppError>;
    async fn delete_collection(&self, session: &Session, id: String) -> Result<(), AppError>;
    async fn reachable_models(&self, session: &Session)
        -> Result<Vec<ReachableModelDto>, AppError>;
    async fn explain_model(&self, session: &Session, model: String)
        -> Result<ExplainDto, AppError>;
    async fn try_model(
        &self,
        session: &Session,
        model: String,
        prompt: String,
    ) -> Result<TryResultDto, AppError>;
    async fn list_aliases(&self, session: &Session) -> Result<Vec<AliasDto>, AppError>;
    async fn save_alias(
        &self,
        session: &Session,
        id: Option<String>,
        input: AliasInputDto,
    ) -> Result<AliasDto, AppError>;
    async fn delete_alias(&self, session: &Session, id: String) -> Result<(), AppError>;
    async fn list_prices(&self, session: &Session) -> Result<Vec<PriceDto>, AppError>;
    async fn set_price(&self, session: &Session, price: PriceDto) -> Result<PriceDto, AppError>;
}
