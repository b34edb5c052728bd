//! Budgets of people and organizations as they are set and seen: a platform admin sets a
//! user's, an organization's admins set the organization's and its per-member one, and
//! everyone sees the budgets that limit them with what is spent. The REST handlers
//! (`api/budgets.rs`) and the console share these rules; the ledgers are `budgets.rs`.

use app::dto::{ApiKeyDto, BudgetDto, BudgetUseDto, MemberSpendDto, OrgBudgetsDto};

use crate::auth::AuthError;
use crate::budgets::{Budget, Scope};
use crate::clock::rfc3339;
use crate::error::{ApiError, RequestError};
use crate::state::AppState;

fn parsed(b: Option<BudgetDto>) -> Result<Option<Budget>, RequestError> {
    b.map(Budget::from_dto).transpose()
}

/// One budget as the person it limits sees it.
async fn use_of(
    state: &AppState,
    scope: Scope,
    owner: &str,
    budget: Budget,
) -> Result<BudgetUseDto, ApiError> {
    let (spent, resets) = state.budgets.spent(&scope, budget.period).await?;
    Ok(BudgetUseDto {
        scope: scope.kind().to_owned(),
        owner: owner.to_owned(),
        usd: budget.usd,
        period: budget.period.as_str().to_owned(),
        spent_usd: spent,
        resets_at: resets.map(rfc3339),
    })
}

/// Every budget that limits `user_id` (whose handle is `handle`): their own, and those of
/// their organizations and their share in each.
pub async fn limiting(
    state: &AppState,
    user_id: &str,
    handle: &str,
) -> Result<Vec<BudgetUseDto>, ApiError> {
    let snapshot = state.routing.snapshot().await?;
    let spend = &snapshot.spend_budgets;
    let mut budgets = Vec::new();
    if let Some(b) = spend.users.get(user_id) {
        budgets.push(use_of(state, Scope::User(user_id.to_owned()), handle, *b).await?);
    }
    for org in state.orgs.list(user_id).await? {
        if let Some(b) = spend.organizations.get(&org.id) {
            let scope = Scope::Organization(org.id.clone());
            budgets.push(use_of(state, scope, &org.handle, *b).await?);
        }
        if let Some(b) = spend.members.get(&org.id) {
            let scope = Scope::Member(org.id.clone(), user_id.to_owned());
            budgets.push(use_of(state, scope, &org.handle, *b).await?);
        }
    }
    Ok(budgets)
}

/// Sets or removes a user's budget; platform admins only.
pub async fn set_for_user(
    state: &AppState,
    by: &str,
    by_admin: bool,
    user_id: &str,
    budget: Option<BudgetDto>,
) -> Result<Option<BudgetDto>, ApiError> {
    if !by_admin {
        return Err(AuthError::AdminOnly.into());
    }
    if state.accounts.find(user_id).await?.is_none() {
        return Err(RequestError::NotFound("user").into());
    }
    let budget = parsed(budget)?;
    // A new budget is counted from the log: what is queued for it is written first.
    state.request_log.flush().await;
    state
        .budgets
        .set_spend_budget("user", user_id, budget, by)
        .await?;
    Ok(budget.map(Budget::to_dto))
}

/// Every user's budget (user id → budget), for platform admins' list of users.
pub async fn of_users(
    state: &AppState,
    by_admin: bool,
) -> Result<std::collections::HashMap<String, BudgetDto>, ApiError> {
    if !by_admin {
        return Err(AuthError::AdminOnly.into());
    }
    let snapshot = state.routing.snapshot().await?;
    Ok(snapshot
        .spend_budgets
        .users
        .iter()
        .map(|(id, b)| (id.clone(), b.to_dto()))
        .collect())
}

/// An organization's budgets, for its admins; with what its connections served this
/// period, and what each member spent on them.
pub async fn of_org(state: &AppState, by: &str, handle: &str) -> Result<OrgBudgetsDto, ApiError> {
    let org_id = state.orgs.admin_org_id(by, handle).await?;
    let snapshot = state.routing.snapshot().await?;
    let budget = snapshot.spend_budgets.organizations.get(&org_id).copied();
    let spent = match budget {
        Some(b) => Some(
            state
                .budgets
                .spent(&Scope::Organization(org_id.clone()), b.period)
                .await?
                .0,
        ),
        None => None,
    };
    let member_budget = snapshot.spend_budgets.members.get(&org_id).copied();
    let mut members = Vec::new();
    if let Some(b) = member_budget {
        for m in state.orgs.members(by, handle).await? {
            let scope = Scope::Member(org_id.clone(), m.user_id);
            let (spent_usd, _) = state.budgets.spent(&scope, b.period).await?;
            members.push(MemberSpendDto {
                handle: m.handle,
                spent_usd,
            });
        }
    }
    Ok(OrgBudgetsDto {
        organization: handle.to_owned(),
        budget: budget.map(Budget::to_dto),
        member_budget: member_budget.map(Budget::to_dto),
        spent_usd: spent,
        members,
    })
}

/// Changes an organization's budget and its per-member one (`None`: leave as is;
/// `Some(None)`: remove); its admins only.
pub async fn set_for_org(
    state: &AppState,
    by: &str,
    handle: &str,
    budget: Option<Option<BudgetDto>>,
    member_budget: Option<Option<BudgetDto>>,
) -> Result<OrgBudgetsDto, ApiError> {
    let org_id = state.orgs.admin_org_id(by, handle).await?;
    let changes = [
        ("organization", budget.map(parsed).transpose()?),
        ("member", member_budget.map(parsed).transpose()?),
    ];
    state.request_log.flush().await;
    for (scope, change) in changes {
        if let Some(budget) = change {
            state
                .budgets
                .set_spend_budget(scope, &org_id, budget, by)
                .await?;
        }
    }
    of_org(state, by, handle).await
}

/// Share of a budget past which the console warns about it.
const WARNING_SHARE: f64 = 0.8;

/// The console's warnings for `user_id`'s budgets at 80% or more: their keys' and those
/// that limit them ("Key 'ci' has used 85% of its $10 per month budget").
pub async fn warnings(
    state: &AppState,
    user_id: &str,
    handle: &str,
) -> Result<Vec<String>, ApiError> {
    let mut keys = state.keys.list(user_id).await?;
    state.budgets.fill_key_spend(&mut keys).await?;
    let mut warnings: Vec<String> = keys.iter().filter_map(key_warning).collect();
    for b in limiting(state, user_id, handle).await? {
        if b.usd > 0.0 && b.spent_usd >= WARNING_SHARE * b.usd {
            let whose = match b.scope.as_str() {
                "user" => "Your".to_owned(),
                "organization" => format!("@{}'s", b.owner),
                _ => format!("Your @{}", b.owner),
            };
            warnings.push(format!(
                "{whose} budget is {:.0}% used (${} per {})",
                (b.spent_usd / b.usd * 100.0).min(100.0),
                b.usd,
                b.period
            ));
        }
    }
    Ok(warnings)
}

fn key_warning(key: &ApiKeyDto) -> Option<String> {
    let budget = key.policy.budget.as_ref()?;
    let spent = key.spent_usd?;
    if key.revoked_at.is_some() || budget.usd <= 0.0 || spent < WARNING_SHARE * budget.usd {
        return None;
    }
    Some(format!(
        "Key '{}' has used {:.0}% of its ${} per {} budget",
        key.name,
        (spent / budget.usd * 100.0).min(100.0),
        budget.usd,
        budget.period
    ))
}
