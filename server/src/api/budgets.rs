//! Budgets of people and organizations: `GET /api/budgets` (every budget that limits the
//! caller, with its spend), `PUT /api/users/{id}/budget` (platform admins) and
//! `GET`/`PUT /api/organizations/{handle}/budget` (the organization's admins), over
//! `budget_settings`. Key budgets are set on the key (`/api/keys`).

use axum::{
    extract::{Path, State},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::keys::present;
use super::{ApiJson, Manager};
use crate::budget_settings;
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{BudgetDto, BudgetUseDto, OrgBudgetsDto};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBudget {
    budget: Option<BudgetDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgBudgets {
    /// What the organization's connections may serve in all.
    #[serde(default, deserialize_with = "present")]
    budget: Option<Option<BudgetDto>>,
    /// What each member may spend on them.
    #[serde(default, deserialize_with = "present")]
    member_budget: Option<Option<BudgetDto>>,
}

/// Every budget that limits the caller, with what is spent of it.
#[derive(Serialize, ToSchema)]
pub struct BudgetList {
    budgets: Vec<BudgetUseDto>,
}

#[derive(Serialize, ToSchema)]
pub struct UserBudgetSet {
    user_id: String,
    budget: Option<BudgetDto>,
}

#[utoipa::path(
    get,
    path = "/api/budgets",
    tag = "budgets",
    responses((status = 200, body = BudgetList)),
)]
pub async fn mine(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<BudgetList>, ApiError> {
    let budgets = budget_settings::limiting(&state, &caller.user_id, &caller.handle).await?;
    Ok(Json(BudgetList { budgets }))
}

#[utoipa::path(
    put,
    path = "/api/users/{id}/budget",
    tag = "budgets",
    params(("id" = String, Path)),
    request_body = UserBudget,
    responses((status = 200, body = UserBudgetSet)),
)]
pub async fn set_for_user(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<UserBudget>,
) -> Result<Json<UserBudgetSet>, ApiError> {
    let budget = budget_settings::set_for_user(
        &state,
        &caller.user_id,
        caller.is_admin,
        &user_id,
        body.budget,
    )
    .await?;
    Ok(Json(UserBudgetSet { user_id, budget }))
}

#[utoipa::path(
    get,
    path = "/api/organizations/{handle}/budget",
    tag = "budgets",
    params(("handle" = String, Path, description = "The organization's handle")),
    responses((status = 200, body = OrgBudgetsDto)),
)]
pub async fn of_org(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<OrgBudgetsDto>, ApiError> {
    Ok(Json(
        budget_settings::of_org(&state, &caller.user_id, &handle).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/api/organizations/{handle}/budget",
    tag = "budgets",
    params(("handle" = String, Path, description = "The organization's handle")),
    request_body = OrgBudgets,
    responses((status = 200, body = OrgBudgetsDto)),
)]
pub async fn set_for_org(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
    ApiJson(body): ApiJson<OrgBudgets>,
) -> Result<Json<OrgBudgetsDto>, ApiError> {
    Ok(Json(
        budget_settings::set_for_org(
            &state,
            &caller.user_id,
            &handle,
            body.budget,
            body.member_budget,
        )
        .await?,
    ))
}
