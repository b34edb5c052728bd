//! Budgets of people and organizations: `GET /api/budgets` (every budget that limits the
//! caller, with its spend), `PUT /api/users/{id}/budget` (platform admins) and
//! `GET`/`PUT /api/organizations/{handle}/budget` (the organization's admins), over
//! `budget_settings`. Key budgets are set on the key (`/api/keys`).

use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::keys::present;
use super::{ApiJson, Manager};
use crate::budget_settings;
use crate::error::ApiError;
use crate::state::AppState;
use app::dto::{BudgetDto, OrgBudgetsDto};

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

pub async fn mine(
    State(state): State<AppState>,
    Manager(caller): Manager,
) -> Result<Json<Value>, ApiError> {
    let budgets = budget_settings::limiting(&state, &caller.user_id, &caller.handle).await?;
    Ok(Json(json!({ "budgets": budgets })))
}

pub async fn set_for_user(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<UserBudget>,
) -> Result<Json<Value>, ApiError> {
    let budget = budget_settings::set_for_user(
        &state,
        &caller.user_id,
        caller.is_admin,
        &user_id,
        body.budget,
    )
    .await?;
    Ok(Json(json!({ "user_id": user_id, "budget": budget })))
}

pub async fn of_org(
    State(state): State<AppState>,
    Manager(caller): Manager,
    Path(handle): Path<String>,
) -> Result<Json<OrgBudgetsDto>, ApiError> {
    Ok(Json(
        budget_settings::of_org(&state, &caller.user_id, &handle).await?,
    ))
}

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
