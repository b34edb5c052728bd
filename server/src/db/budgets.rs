//! Rows of `spend_budgets`: budgets of users and organizations.

use sqlx::{AnyPool, FromRow};

#[derive(FromRow, Debug, Clone)]
pub struct SqlSpendBudget {
    /// `user`, `organization` or `member`.
    pub scope: String,
    pub owner_id: String,
    pub usd: f64,
    pub period: String,
}

pub async fn all(pool: &AnyPool) -> Result<Vec<SqlSpendBudget>, sqlx::Error> {
    sqlx::query_as::<_, SqlSpendBudget>("SELECT scope, owner_id, usd, period FROM spend_budgets")
        .fetch_all(pool)
        .await
}

/// Sets (`Some`) or removes (`None`) the budget of `scope` for `owner_id`.
pub async fn set(
    pool: &AnyPool,
    scope: &str,
    owner_id: &str,
    budget: Option<(f64, &str)>,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    match budget {
        Some((usd, period)) => {
            sqlx::query(
                "INSERT INTO spend_budgets (scope, owner_id, usd, period, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (scope, owner_id) DO UPDATE SET usd = $3, period = $4, \
                 updated_by = $5, updated_at = $6",
            )
            .bind(scope)
            .bind(owner_id)
            .bind(usd)
            .bind(period)
            .bind(by)
            .bind(now)
            .execute(pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM spend_budgets WHERE scope = $1 AND owner_id = $2")
                .bind(scope)
                .bind(owner_id)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}
