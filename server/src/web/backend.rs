//! The console's backend: session handling around the same services the REST API uses.

use async_trait::async_trait;
use tower_sessions::Session;

use crate::auth::{AuthError, KeyRequest, SignupRequest};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::sessions::{SIGNED_IN_AT_KEY, USER_ID_KEY};
use crate::state::AppState;
use app::backend::{ConsoleBackend, SignupForm};
use std::collections::BTreeMap;

use crate::catalog::{connections::ConnectionFilter, providers, Actor};
use app::dto::{
    AliasDto, AliasInputDto, ApiKeyDto, BudgetDto, BudgetUseDto, CollectionDto, CollectionInputDto,
    ConnectionDetailDto, ConnectionDto, ConnectionUpdateDto, CreatedApiKeyDto,
    CreatedSignupInviteDto, DashboardDto, ExplainDto, InvitationDto, KeyLifetime, KeyScope,
    LogBodiesDto, LogFilterDto, LogPageDto, MemberDto, ModelDto, ModelRowDto, NewConnectionDto,
    NotificationsDto, OrgBudgetsDto, OrgDto, OrgRole, PlaygroundRequestDto, PriceDto, ProviderDto,
    ReachableModelDto, SignupInviteDto, SignupStatusDto, TestResultDto, TryResultDto, UserDto,
};
use app::error::AppError;

pub struct ConsoleService {
    state: AppState,
}

impl ConsoleService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// The signed-in user's id; a session from before the user's last password change
    /// counts as signed out (and is ended).
    async fn user_id(&self, session: &Session) -> Result<String, AppError> {
        let signed_out = || AppError::from(ApiError::from(AuthError::NotSignedIn));
        let id = session
            .get::<String>(USER_ID_KEY)
            .await
            .map_err(session_error)?
            .ok_or_else(signed_out)?;
        let signed_in_at = session
            .get::<i64>(SIGNED_IN_AT_KEY)
            .await
            .map_err(session_error)?
            .unwrap_or(0);
        let valid_after = self
            .state
            .accounts
            .find(&id)
            .await?
            .map(|u| u.sessions_valid_after)
            .ok_or_else(signed_out)?;
        if signed_in_at < valid_after {
            session.flush().await.map_err(session_error)?;
            return Err(signed_out());
        }
        Ok(id)
    }

    /// A platform admin's change to a provider; the routing snapshot is rebuilt.
    async fn change_provider(
        &self,
        session: &Session,
        id: &str,
        change: providers::ProviderUpdate,
    ) -> Result<ProviderDto, AppError> {
        let actor = self.actor(session).await?;
        if !actor.is_admin {
            return Err(ApiError::from(crate::catalog::CatalogError::AdminOnly).into());
        }
        let updated = providers::update(&self.state.db, id, change).await?;
        self.state.changes.bump();
        Ok(updated.to_dto())
    }

    /// The signed-in user as the caller of a request through the gateway (the console's
    /// "Try it" and playground).
    async fn principal(
        &self,
        session: &Session,
    ) -> Result<std::sync::Arc<crate::auth::Principal>, AppError> {
        let id = self.user_id(session).await?;
        let user = self
            .state
            .accounts
            .find(&id)
            .await?
            .ok_or_else(|| AppError::from(ApiError::from(AuthError::NotSignedIn)))?;
        Ok(std::sync::Arc::new(crate::auth::Principal::console(
            user.id,
            user.email,
            user.handle,
            user.is_admin.0,
        )))
    }

    /// The signed-in user as an actor of the catalogue (admin flag read fresh); a session
    /// ended by a password change is refused here too.
    pub(super) async fn actor(&self, session: &Session) -> Result<Actor, AppError> {
        let id = self.user_id(session).await?;
        let user = self
            .state
            .accounts
            .find(&id)
            .await?
            .ok_or_else(|| AppError::from(ApiError::from(AuthError::NotSignedIn)))?;
        Ok(Actor {
            user_id: user.id,
            is_admin: user.is_admin.0,
        })
    }

    /// Starts a fresh session for `user_id` (a new id defeats session fixation).
    /// A new session id for every sign-in (a fixed id planted before sign-in is worthless).
    async fn sign_in(&self, session: &Session, user_id: &str) -> Result<(), AppError> {
        session.cycle_id().await.map_err(session_error)?;
        session
            .insert(SIGNED_IN_AT_KEY, crate::clock::now_ms())
            .await
            .map_err(session_error)?;
        session
            .insert(USER_ID_KEY, user_id)
            .await
            .map_err(session_error)
    }
}

fn session_error(err: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %err, "session store failed");
    AppError::new(
        crate::error::codes::INTERNAL_ERROR,
        "Session could not be read or saved",
        500,
    )
}

#[async_trait]
impl ConsoleBackend for ConsoleService {
    async fn current_user(&self, session: &Session) -> Result<Option<UserDto>, AppError> {
        let Some(id) = session
            .get::<String>(USER_ID_KEY)
            .await
            .map_err(session_error)?
        else {
            return Ok(None);
        };
        Ok(self.state.accounts.find(&id).await?.map(|u| u.into_dto()))
    }

    async fn signup(&self, session: &Session, form: SignupForm) -> Result<UserDto, AppError> {
        let user = self
            .state
            .signup
            .register(SignupRequest {
                email: form.email,
                password: form.password,
                handle: form.handle,
                invite: form.invite,
                setup_token: form.setup_token,
            })
            .await?;
        self.sign_in(session, &user.id).await?;
        Ok(user.into_dto())
    }

    async fn signup_status(&self) -> Result<SignupStatusDto, AppError> {
        Ok(self.state.signup.status().await?)
    }

    async fn list_users(&self, session: &Session) -> Result<Vec<UserDto>, AppError> {
        let actor = self.actor(session).await?;
        let users = self.state.accounts.list(&actor).await?;
        Ok(users.into_iter().map(|u| u.into_dto()).collect())
    }

    async fn create_signup_invite(
        &self,
        session: &Session,
        note: String,
        days: Option<u32>,
    ) -> Result<CreatedSignupInviteDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.signup.create_invite(&actor, &note, days).await?)
    }

    async fn list_signup_invites(
        &self,
        session: &Session,
    ) -> Result<Vec<SignupInviteDto>, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.signup.list_invites(&actor).await?)
    }

    async fn withdraw_signup_invite(&self, session: &Session, id: String) -> Result<(), AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.signup.withdraw_invite(&actor, &id).await?)
    }

    async fn login(
        &self,
        session: &Session,
        client: Option<std::net::IpAddr>,
        email: String,
        password: String,
    ) -> Result<UserDto, AppError> {
        let user = self.state.accounts.login(client, &email, password).await?;
        self.sign_in(session, &user.id).await?;
        Ok(user.into_dto())
    }

    async fn logout(&self, session: &Session) -> Result<(), AppError> {
        session.flush().await.map_err(session_error)
    }

    async fn change_handle(&self, session: &Session, handle: String) -> Result<UserDto, AppError> {
        let id = self.user_id(session).await?;
        Ok(self
            .state
            .accounts
            .change_handle(&id, &handle)
            .await?
            .into_dto())
    }

    async fn change_password(
        &self,
        session: &Session,
        current_password: String,
        new_password: String,
    ) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        self.state
            .accounts
            .change_password(&id, current_password, new_password)
            .await?;
        // Every other session ends; this one continues under a new id.
        self.sign_in(session, &id).await
    }

    async fn list_api_keys(&self, session: &Session) -> Result<Vec<ApiKeyDto>, AppError> {
        let id = self.user_id(session).await?;
        let mut keys = self.state.keys.list(&id).await?;
        self.state.budgets.fill_key_spend(&mut keys).await?;
        Ok(keys)
    }

    async fn create_api_key(
        &self,
        session: &Session,
        name: String,
        scopes: Vec<KeyScope>,
        lifetime: KeyLifetime,
        policy: app::dto::KeyPolicyDto,
    ) -> Result<CreatedApiKeyDto, AppError> {
        let id = self.user_id(session).await?;
        let policy = crate::auth::KeyPolicy::from_dto(policy).map_err(ApiError::from)?;
        let request = KeyRequest {
            name,
            scopes: Some(scopes),
            expires_at: lifetime
                .days()
                .map(|days| now_ms() + i64::from(days) * 86_400_000),
            policy,
        };
        Ok(self.state.keys.create(&id, None, request).await?)
    }

    async fn revoke_api_key(&self, session: &Session, key_id: String) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.keys.revoke(&id, &key_id).await?)
    }

    async fn my_budgets(&self, session: &Session) -> Result<Vec<BudgetUseDto>, AppError> {
        let me = self.principal(session).await?;
        Ok(crate::budget_settings::limiting(&self.state, &me.user_id, &me.handle).await?)
    }

    async fn org_budgets(&self, session: &Session, org: String) -> Result<OrgBudgetsDto, AppError> {
        let id = self.user_id(session).await?;
        Ok(crate::budget_settings::of_org(&self.state, &id, &org).await?)
    }

    async fn set_org_budgets(
        &self,
        session: &Session,
        org: String,
        budget: Option<BudgetDto>,
        member_budget: Option<BudgetDto>,
    ) -> Result<OrgBudgetsDto, AppError> {
        let id = self.user_id(session).await?;
        Ok(crate::budget_settings::set_for_org(
            &self.state,
            &id,
            &org,
            Some(budget),
            Some(member_budget),
        )
        .await?)
    }

    async fn user_budgets(&self, session: &Session) -> Result<Vec<(String, BudgetDto)>, AppError> {
        let actor = self.actor(session).await?;
        let mut budgets: Vec<(String, BudgetDto)> =
            crate::budget_settings::of_users(&self.state, actor.is_admin)
                .await?
                .into_iter()
                .collect();
        budgets.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(budgets)
    }

    async fn set_user_budget(
        &self,
        session: &Session,
        user_id: String,
        budget: Option<BudgetDto>,
    ) -> Result<(), AppError> {
        let actor = self.actor(session).await?;
        crate::budget_settings::set_for_user(
            &self.state,
            &actor.user_id,
            actor.is_admin,
            &user_id,
            budget,
        )
        .await?;
        Ok(())
    }

    async fn list_orgs(&self, session: &Session) -> Result<Vec<OrgDto>, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.list(&id).await?)
    }

    async fn create_org(
        &self,
        session: &Session,
        name: String,
        handle: String,
    ) -> Result<OrgDto, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.create(&id, &name, &handle).await?)
    }

    async fn list_members(
        &self,
        session: &Session,
        org: String,
    ) -> Result<Vec<MemberDto>, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.members(&id, &org).await?)
    }

    async fn invite_member(
        &self,
        session: &Session,
        org: String,
        email: String,
        role: OrgRole,
    ) -> Result<InvitationDto, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.invite(&id, &org, &email, role).await?)
    }

    async fn org_invitations(
        &self,
        session: &Session,
        org: String,
    ) -> Result<Vec<InvitationDto>, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.invitations_of(&id, &org).await?)
    }

    async fn withdraw_invitation(
        &self,
        session: &Session,
        org: String,
        invitation: String,
    ) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.withdraw(&id, &org, &invitation).await?)
    }

    async fn my_invitations(&self, session: &Session) -> Result<Vec<InvitationDto>, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.my_invitations(&id).await?)
    }

    async fn answer_invitation(
        &self,
        session: &Session,
        invitation: String,
        accept: bool,
    ) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        if accept {
            self.state.orgs.accept(&id, &invitation).await?;
        } else {
            self.state.orgs.decline(&id, &invitation).await?;
        }
        Ok(())
    }

    async fn set_membership(
        &self,
        session: &Session,
        org: String,
        serve_unqualified: bool,
        trust_priorities: bool,
    ) -> Result<OrgDto, AppError> {
        let id = self.user_id(session).await?;
        let prefs = app::dto::MembershipPrefsDto {
            serve_unqualified: Some(serve_unqualified),
            trust_priorities: Some(trust_priorities),
        };
        Ok(self.state.orgs.set_preferences(&id, &org, prefs).await?)
    }

    async fn set_member_role(
        &self,
        session: &Session,
        org: String,
        user_id: String,
        role: OrgRole,
    ) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.set_role(&id, &org, &user_id, role).await?)
    }

    async fn remove_member(
        &self,
        session: &Session,
        org: String,
        user_id: String,
    ) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.remove_member(&id, &org, &user_id).await?)
    }

    async fn leave_org(&self, session: &Session, org: String) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.orgs.leave(&id, &org).await?)
    }

    async fn list_providers(&self, session: &Session) -> Result<Vec<ProviderDto>, AppError> {
        let actor = self.actor(session).await?;
        Ok(providers::list(&self.state.db)
            .await?
            .into_iter()
            .filter(|p| actor.is_admin || p.enabled)
            .map(|p| p.to_dto())
            .collect())
    }

    async fn list_connections(&self, session: &Session) -> Result<Vec<ConnectionDto>, AppError> {
        let actor = self.actor(session).await?;
        let mut list = self
            .state
            .connections
            .list(&actor, &ConnectionFilter::default())
            .await?;
        crate::catalog::insights::fill(&self.state, &actor.user_id, &mut list).await?;
        Ok(list)
    }

    async fn connection_detail(
        &self,
        session: &Session,
        id: String,
    ) -> Result<ConnectionDetailDto, AppError> {
        let actor = self.actor(session).await?;
        let mut detail = self.state.connections.detail(&actor, &id).await?;
        crate::catalog::insights::fill(
            &self.state,
            &actor.user_id,
            std::slice::from_mut(&mut detail.connection),
        )
        .await?;
        Ok(detail)
    }

    async fn create_connection(
        &self,
        session: &Session,
        req: NewConnectionDto,
    ) -> Result<ConnectionDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.connections.create_checked(&actor, &req).await?)
    }

    async fn test_draft_connection(
        &self,
        session: &Session,
        req: NewConnectionDto,
    ) -> Result<TestResultDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.connections.test_draft(&actor, &req).await?)
    }

    async fn test_connection(
        &self,
        session: &Session,
        id: String,
    ) -> Result<TestResultDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.connections.test(&actor, &id).await?)
    }

    async fn add_model(
        &self,
        session: &Session,
        id: String,
        model: String,
        display_name: Option<String>,
    ) -> Result<ModelDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self
            .state
            .connections
            .add_model(&actor, &id, &model, display_name.as_deref())
            .await?)
    }

    async fn discover_models(
        &self,
        session: &Session,
        id: String,
    ) -> Result<Vec<ModelDto>, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.connections.discover(&actor, &id).await?)
    }

    async fn update_connection(
        &self,
        session: &Session,
        id: String,
        change: ConnectionUpdateDto,
    ) -> Result<ConnectionDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.connections.update(&actor, &id, &change).await?)
    }

    async fn update_connection_key(
        &self,
        session: &Session,
        id: String,
        credentials: BTreeMap<String, String>,
    ) -> Result<(), AppError> {
        let actor = self.actor(session).await?;
        Ok(self
            .state
            .connections
            .update_key(&actor, &id, None, Some(&credentials))
            .await?)
    }

    async fn delete_connection(&self, session: &Session, id: String) -> Result<i64, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.connections.delete(&actor, &id).await?)
    }

    async fn create_provider(
        &self,
        session: &Session,
        key: String,
        name: String,
        api_family: String,
        base_url: String,
    ) -> Result<ProviderDto, AppError> {
        let actor = self.actor(session).await?;
        if !actor.is_admin {
            return Err(ApiError::from(crate::catalog::CatalogError::AdminOnly).into());
        }
        let new = providers::NewProvider {
            key,
            name,
            api_family,
            base_url,
            supports_model_listing: None,
            free: None,
            gateway_type: None,
            credential_fields: None,
            config_fields: None,
            allow_private: None,
        };
        Ok(providers::create(&self.state.db, new).await?.to_dto())
    }

    async fn set_provider_flags(
        &self,
        session: &Session,
        id: String,
        enabled: bool,
        free: bool,
    ) -> Result<ProviderDto, AppError> {
        let change = providers::ProviderUpdate {
            enabled: Some(enabled),
            free: Some(free),
            ..Default::default()
        };
        self.change_provider(session, &id, change).await
    }

    async fn update_provider(
        &self,
        session: &Session,
        id: String,
        name: String,
        base_url: String,
    ) -> Result<ProviderDto, AppError> {
        let change = providers::ProviderUpdate {
            name: Some(name),
            base_url: Some(base_url),
            ..Default::default()
        };
        self.change_provider(session, &id, change).await
    }

    async fn service_warnings(&self, session: &Session) -> Result<Vec<String>, AppError> {
        let me = self.principal(session).await?;
        let mut warnings = crate::health::current_warnings(&self.state);
        warnings
            .extend(crate::budget_settings::warnings(&self.state, &me.user_id, &me.handle).await?);
        Ok(warnings)
    }

    async fn playground(
        &self,
        session: &Session,
        req: PlaygroundRequestDto,
    ) -> Result<leptos::server_fn::codec::TextStream<AppError>, AppError> {
        let caller = self.principal(session).await?;
        let lines = super::playground::stream(self.state.clone(), caller, req);
        Ok(leptos::server_fn::codec::TextStream::new(
            futures_util::StreamExt::map(lines, Ok),
        ))
    }

    async fn dashboard(
        &self,
        session: &Session,
        period: String,
        org: Option<String>,
    ) -> Result<DashboardDto, AppError> {
        let id = self.user_id(session).await?;
        let org = org.as_deref().filter(|h| !h.is_empty());
        Ok(crate::logs::dashboard::dashboard(
            &self.state,
            &id,
            org,
            &period,
            crate::clock::now_ms(),
        )
        .await?)
    }

    async fn list_logs(
        &self,
        session: &Session,
        filter: LogFilterDto,
    ) -> Result<LogPageDto, AppError> {
        let actor = self.actor(session).await?;
        let query = crate::logs::export::console_query(&filter, crate::clock::now_ms());
        let page =
            crate::logs::list(&self.state.db, &actor.user_id, actor.is_admin, &query).await?;
        let mut logs = page.logs;
        self.state
            .routing
            .fill_connection_names(&actor.user_id, &mut logs)
            .await?;
        Ok(LogPageDto {
            logs,
            next_cursor: page.next_cursor,
        })
    }

    async fn list_collections(&self, session: &Session) -> Result<Vec<CollectionDto>, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.collections.list(&actor).await?)
    }

    async fn save_collection(
        &self,
        session: &Session,
        id: Option<String>,
        input: CollectionInputDto,
    ) -> Result<CollectionDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(match id {
            Some(id) => self.state.collections.update(&actor, &id, input).await?,
            None => self.state.collections.create(&actor, input).await?,
        })
    }

    async fn delete_collection(&self, session: &Session, id: String) -> Result<(), AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.collections.delete(&actor, &id).await?)
    }

    async fn list_aliases(&self, session: &Session) -> Result<Vec<AliasDto>, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.aliases.list(&actor).await?)
    }

    async fn save_alias(
        &self,
        session: &Session,
        id: Option<String>,
        input: AliasInputDto,
    ) -> Result<AliasDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(match id {
            Some(id) => self.state.aliases.update(&actor, &id, input).await?,
            None => self.state.aliases.create(&actor, input).await?,
        })
    }

    async fn delete_alias(&self, session: &Session, id: String) -> Result<(), AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.aliases.delete(&actor, &id).await?)
    }

    async fn body_capture(&self, session: &Session) -> Result<Option<i64>, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.body_capture.setting(&id).await?)
    }

    async fn set_body_capture(
        &self,
        session: &Session,
        enabled: bool,
        retention_days: String,
    ) -> Result<Option<i64>, AppError> {
        let id = self.user_id(session).await?;
        let days = if enabled {
            let days = retention_days.trim().parse::<i64>().map_err(|_| {
                crate::error::ApiError::from(crate::error::RequestError::InvalidField {
                    field: "retention_days",
                    message: format!(
                        "\"{}\" is not a whole number of days",
                        retention_days.trim()
                    ),
                })
            })?;
            Some(days)
        } else {
            None
        };
        Ok(self.state.body_capture.set(&id, days).await?)
    }

    async fn log_bodies(&self, session: &Session, id: String) -> Result<LogBodiesDto, AppError> {
        let user = self.user_id(session).await?;
        let (request, response) = self.state.body_capture.read(&user, &id).await?;
        Ok(LogBodiesDto { request, response })
    }

    async fn gateways(
        &self,
        session: &Session,
        host: Option<String>,
    ) -> Result<Vec<app::dto::GatewayDetailDto>, AppError> {
        let actor = self.actor(session).await?;
        let server = crate::gateways::server_url(&self.state.settings, host.as_deref());
        let mut out = Vec::new();
        for g in self.state.gateways.list(&actor).await? {
            out.push(self.state.gateways.detail(&actor, &g.id, &server).await?);
        }
        Ok(out)
    }

    async fn create_gateway(
        &self,
        session: &Session,
        new: app::dto::NewGatewayDto,
    ) -> Result<app::dto::CreatedGatewayDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.gateways.create(&actor, &new).await?)
    }

    async fn rotate_gateway(
        &self,
        session: &Session,
        id: String,
    ) -> Result<app::dto::CreatedGatewayDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.gateways.rotate(&actor, &id).await?)
    }

    async fn delete_gateway(&self, session: &Session, id: String) -> Result<(), AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.gateways.delete(&actor, &id).await?)
    }

    async fn notifications(&self, session: &Session) -> Result<NotificationsDto, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.notifications.list(&id).await?)
    }

    async fn mark_notifications_read(&self, session: &Session) -> Result<(), AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.notifications.mark_read(&id).await?)
    }

    async fn set_webhook(
        &self,
        session: &Session,
        url: String,
    ) -> Result<Option<String>, AppError> {
        let id = self.user_id(session).await?;
        Ok(self.state.notifications.set_webhook(&id, &url).await?)
    }

    async fn list_models(&self, session: &Session) -> Result<Vec<ModelRowDto>, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.collections.models(&actor).await?)
    }

    async fn reachable_models(
        &self,
        session: &Session,
    ) -> Result<Vec<ReachableModelDto>, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.collections.reachable_models(&actor).await?)
    }

    async fn explain_model(
        &self,
        session: &Session,
        model: String,
    ) -> Result<ExplainDto, AppError> {
        let id = self.user_id(session).await?;
        let size = crate::routing::RequestSize {
            prompt_tokens: crate::api::DEFAULT_PROMPT_TOKENS,
            completion_tokens: crate::api::DEFAULT_MAX_TOKENS,
            stream: false,
            prompt_bytes: crate::api::DEFAULT_PROMPT_TOKENS * 4,
            max_output: Some(crate::api::DEFAULT_MAX_TOKENS),
        };
        Ok(crate::routing::explain(&self.state, &id, model.trim(), size).await?)
    }

    async fn try_model(
        &self,
        session: &Session,
        model: String,
        prompt: String,
    ) -> Result<TryResultDto, AppError> {
        let caller = self.principal(session).await?;
        let prompt = if prompt.trim().is_empty() {
            "Say hello in five words.".to_owned()
        } else {
            prompt
        };
        Ok(
            crate::ingress::try_prompt(self.state.clone(), caller, model.trim().to_owned(), prompt)
                .await,
        )
    }

    async fn list_prices(&self, session: &Session) -> Result<Vec<PriceDto>, AppError> {
        self.user_id(session).await?;
        Ok(self.state.collections.prices().await?)
    }

    async fn set_price(&self, session: &Session, price: PriceDto) -> Result<PriceDto, AppError> {
        let actor = self.actor(session).await?;
        Ok(self.state.collections.set_price(&actor, price).await?)
    }
}
