//! Budgets of people and organizations: `GET /api/budgets` (every budget that limits the
//! caller, with its spend), `PUT /api/users/{id}/budget` (platform admins) and
//! `PUT /api/organizations/{handle}/budget` (the organization's admins). Key budgets are
//! set on the key (`/api/keys`).

use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::keys::present;
use super::{ApiJson, Manager};
use crate::auth::AuthError;
use crate::budgets::{Budget, Scope};
use crate::clock::rfc3339;
use crate::error::{ApiError, RequestError};
use crate::state::AppState;
use app::dto::BudgetDto;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBudget {
    budget: Option<BudgetDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgBudgets {
    /// What the organization's connections may serve in all.
    #[serde(default, deserialize_with = "present")]
    budget: Option<Option<BudgetDto>>,
    /// What each member may spend on them.
    #[serde(default, deserialize_with = "present")]
    member_budget: Option<Option<BudgetDto>>,
}

fn parsed(b: Option<BudgetDto>) -> Result<Option<Budget>, RequestError> {
    b.map(Budget::from_dto).transpose()
}

/// One budget as the caller sees it: whose, how much, and what is spent.
async fn entry(
    state: &AppState,
    scope: Scope,
    owner: &str,
    budget: Budget,
) -> Result<Value, ApiError> {
    let (spent, resets) = state.budgets.spent(&scope, budget.period).await?;
    Ok(json!({
        "scope": scope.kind(),
        "owner": owner,
        "usd": budget.usd,
        "period": budget.period.as_str(),
        "spent_usd": spent,
        "resets_at": resets.map(rfc3339),
    }))
}

pub async fn mine(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.routing.snapshot().await?;
    let spend = &snapshot.spend_budgets;
    let mut budgets = Vec::new();
    if let Some(b) = spend.users.get(&caller.user_id) {
        let scope = Scope::User(caller.user_id.clone());
        budgets.push(entry(&state, scope, &caller.handle, *b).await?);
    }
    for org in state.orgs.list(&caller.user_id).await? {
        if let Some(b) = spend.organizations.get(&org.id) {
            let scope = Scope::Organization(org.id.clone());
            budgets.push(entry(&state, scope, &org.handle, *b).await?);
        }
        if let Some(b) = spend.members.get(&org.id) {
            let scope = Scope::Member(org.id.clone(), caller.user_id.clone());
            budgets.push(entry(&state, scope, &org.handle, *b).await?);
        }
    }
    Ok(Json(json!({ "budgets": budgets })))
}

pub async fn set_for_user(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<UserBudget>,
) -> Result<Json<Value>, ApiError> {
    if !caller.is_admin {
        return Err(AuthError::AdminOnly.into());
    }
    if state.accounts.find(&user_id).await?.is_none() {
        return Err(RequestError::NotFound("user").into());
    }
    let budget = parsed(body.budget)?;
    // A new budget is counted from the log: what is queued for it is written first.
    state.request_log.flush().await;
    state
        .budgets
        .set_spend_budget("user", &user_id, budget, &caller.user_id)
        .await?;
    Ok(Json(json!({
        "user_id": user_id,
        "budget": budget.map(Budget::to_dto),
    })))
}

pub async fn set_for_org(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
    ApiJson(body): ApiJson<OrgBudgets>,
) -> Result<Json<Value>, ApiError> {
    let org_id = state.orgs.admin_org_id(&caller.user_id, &handle).await?;
    state.request_log.flush().await;
    for (scope, change) in [
        ("organization", body.budget),
        ("member", body.member_budget),
    ] {
        if let Some(change) = change {
            let budget = parsed(change)?;
            state
                .budgets
                .set_spend_budget(scope, &org_id, budget, &caller.user_id)
                .await?;
        }
    }
    let snapshot = state.routing.snapshot().await?;
    let view = |b: Option<&Budget>| b.copied().map(Budget::to_dto);
    Ok(Json(json!({
        "organization": handle,
        "budget": view(snapshot.spend_budgets.organizations.get(&org_id)),
        "member_budget": view(snapshot.spend_budgets.members.get(&org_id)),
    })))
}
