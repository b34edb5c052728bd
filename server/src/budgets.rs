//! Spend budgets that cannot be overshot. Before a call, its maximum cost (the prompt at
//! a byte a token, which no tokenizer exceeds, plus its `max_tokens` or
//! [`DEFAULT_MAX_OUTPUT`] at the model's price) is reserved against the budget, atomically
//! with every other reservation; after the call the reservation is settled to the real
//! cost. So the settled spend never passes the budget by more than one request's output
//! beyond its reservation, and not at all when requests set `max_tokens`. A budget of N
//! allows spend up to and including N.
//!
//! Spend is kept in memory (no SQL on the request path) and counted from the request log
//! (and `key_spend_daily`, which keeps the cost of pruned rows) the first time a budget is
//! used after a start, so it survives restarts.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;

use crate::clock::{rfc3339, Clock};
use crate::db::{Db, StoreError};
use crate::error::{codes, ApiError, Coded};
use crate::routing::{catalog::Price, RequestSize};

/// Output tokens reserved for a request that sets no maximum.
pub const DEFAULT_MAX_OUTPUT: u64 = 4096;
const DAY_MS: i64 = 86_400_000;
/// Spend within this of the budget counts as at the budget (float sums).
const EPSILON: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
    Total,
}

impl Period {
    pub fn parse(text: &str) -> Option<Period> {
        Some(match text {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            "total" => Period::Total,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Total => "total",
        }
    }

    /// The UTC period holding `now`: its start, and its end (none for `total`). Weeks
    /// start on Monday.
    pub fn bounds(self, now: i64) -> (i64, Option<i64>) {
        let day = now.div_euclid(DAY_MS);
        match self {
            Period::Day => (day * DAY_MS, Some((day + 1) * DAY_MS)),
            Period::Week => {
                // 1970-01-01 was a Thursday.
                let monday = day - (day + 3).rem_euclid(7);
                (monday * DAY_MS, Some((monday + 7) * DAY_MS))
            }
            Period::Month => {
                let date = time::OffsetDateTime::from_unix_timestamp(now.div_euclid(1000))
                    .map(|t| t.date())
                    .unwrap_or(time::Date::MIN);
                let first = date.replace_day(1).unwrap_or(date);
                let next = first
                    .replace_month(first.month().next())
                    .ok()
                    .map(|d| {
                        if first.month() == time::Month::December {
                            d.replace_year(first.year() + 1).unwrap_or(d)
                        } else {
                            d
                        }
                    })
                    .unwrap_or(first);
                let ms = |d: time::Date| d.midnight().assume_utc().unix_timestamp() * 1000;
                (ms(first), Some(ms(next)))
            }
            Period::Total => (0, None),
        }
    }
}

/// A spending limit in USD per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub usd: f64,
    pub period: Period,
}

impl Budget {
    /// A budget as a client sent it (`{"usd": N, "period": "day"}`).
    pub fn from_dto(b: app::dto::BudgetDto) -> Result<Budget, crate::error::RequestError> {
        let period = Period::parse(&b.period).ok_or(crate::error::RequestError::InvalidField {
            field: "budget",
            message: "budget.period must be day, week, month or total".into(),
        })?;
        Ok(Budget { usd: b.usd, period })
    }
}

/// What the budget of a key left a request.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("This API key's budget of ${limit} per {} is spent (${spent:.6} used{}); the request could cost up to ${wanted:.6}", period.as_str(), resets.map(|r| format!(", resets at {}", rfc3339(r))).unwrap_or_default())]
    Exceeded {
        limit: f64,
        spent: f64,
        wanted: f64,
        period: Period,
        /// Epoch ms when the period ends (none for `total`).
        resets: Option<i64>,
        /// When this was decided, for `Retry-After`.
        now: i64,
    },
    #[error("'{0}' has no price, so a key with a budget cannot call it (an administrator can price it under Model Collections)")]
    Unpriced(String),
}

impl Coded for BudgetError {
    fn code(&self) -> &'static str {
        match self {
            BudgetError::Exceeded { .. } => codes::BUDGET_EXCEEDED,
            BudgetError::Unpriced(_) => codes::MODEL_UNPRICED,
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::PAYMENT_REQUIRED
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            BudgetError::Exceeded {
                resets: Some(at),
                now,
                ..
            } => u64::try_from((at - now).max(1000) / 1000).ok(),
            _ => None,
        }
    }
}

/// One key's current period.
#[derive(Debug, Clone, Copy)]
struct Ledger {
    start: i64,
    spent: f64,
    reserved: f64,
}

/// A reservation against a key's budget, settled once with the call's real cost.
#[derive(Debug)]
pub struct Hold {
    key_id: String,
    start: i64,
    usd: f64,
}

pub struct Budgets {
    db: Db,
    pub clock: Clock,
    ledgers: Mutex<HashMap<String, Ledger>>,
}

impl Budgets {
    pub fn new(db: Db) -> Self {
        Budgets {
            db,
            clock: Clock::default(),
            ledgers: Mutex::new(HashMap::new()),
        }
    }

    fn ledgers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ledger>> {
        self.ledgers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most `size` can cost at `price`.
    pub fn max_cost(price: &Price, size: &RequestSize) -> f64 {
        let per_token = |per_mtok: f64| per_mtok / 1_000_000.0;
        let output = size.max_output.unwrap_or(DEFAULT_MAX_OUTPUT) as f64;
        size.prompt_bytes as f64 * per_token(price.input_per_mtok)
            + output * per_token(price.output_per_mtok)
    }

    /// The key's ledger for the period holding `now`, counted from the log the first time.
    async fn current(&self, key_id: &str, period: Period, now: i64) -> Result<Ledger, ApiError> {
        let (start, _) = period.bounds(now);
        if let Some(l) = self.ledgers().get(key_id).filter(|l| l.start == start) {
            return Ok(*l);
        }
        let known = self.ledgers().contains_key(key_id);
        // A period that rolled over while running starts at zero; after a start, what the
        // log says was spent in it.
        let spent = if known {
            0.0
        } else {
            self.spent_since(key_id, start).await?
        };
        let mut ledgers = self.ledgers();
        let ledger = ledgers
            .entry(key_id.to_owned())
            .and_modify(|l| {
                if l.start != start {
                    *l = Ledger {
                        start,
                        spent,
                        reserved: 0.0,
                    };
                }
            })
            .or_insert(Ledger {
                start,
                spent,
                reserved: 0.0,
            });
        Ok(*ledger)
    }

    /// Reserves `usd` against `budget`, or says the budget has no room for it.
    pub async fn reserve(&self, key_id: &str, budget: Budget, usd: f64) -> Result<Hold, ApiError> {
        let now = self.clock.now_ms();
        let start = self.current(key_id, budget.period, now).await?.start;
        let mut ledgers = self.ledgers();
        let Some(ledger) = ledgers.get_mut(key_id).filter(|l| l.start == start) else {
            // The period rolled between the two steps: refuse rather than guess.
            return Err(self.exceeded(budget, 0.0, usd, now));
        };
        if ledger.spent + ledger.reserved + usd > budget.usd + EPSILON {
            let spent = ledger.spent;
            drop(ledgers);
            return Err(self.exceeded(budget, spent, usd, now));
        }
        ledger.reserved += usd;
        Ok(Hold {
            key_id: key_id.to_owned(),
            start,
            usd,
        })
    }

    /// Reserves `usd` against every budget in `budgets` (key id, budget), or none of them.
    pub async fn reserve_all(
        &self,
        budgets: &[(String, Budget)],
        usd: f64,
    ) -> Result<Vec<Hold>, ApiError> {
        let mut holds = Vec::with_capacity(budgets.len());
        for (key_id, budget) in budgets {
            match self.reserve(key_id, *budget, usd).await {
                Ok(h) => holds.push(h),
                Err(e) => {
                    for h in holds {
                        self.settle(h, 0.0);
                    }
                    return Err(e);
                }
            }
        }
        Ok(holds)
    }

    fn exceeded(&self, budget: Budget, spent: f64, wanted: f64, now: i64) -> ApiError {
        ApiError::from(BudgetError::Exceeded {
            limit: budget.usd,
            spent,
            wanted,
            period: budget.period,
            resets: budget.period.bounds(now).1,
            now,
        })
    }

    /// Replaces a reservation with what the call really cost. A call that outlived its
    /// period is charged to the period it was reserved in, which is gone: nothing to do.
    pub fn settle(&self, hold: Hold, cost: f64) {
        if let Some(l) = self
            .ledgers()
            .get_mut(&hold.key_id)
            .filter(|l| l.start == hold.start)
        {
            l.reserved = (l.reserved - hold.usd).max(0.0);
            l.spent += cost.max(0.0);
        }
    }

    /// What the key has spent in the current period, and when the period ends.
    pub async fn spent(
        &self,
        key_id: &str,
        period: Period,
    ) -> Result<(f64, Option<i64>), ApiError> {
        let now = self.clock.now_ms();
        let ledger = self.current(key_id, period, now).await?;
        Ok((ledger.spent, period.bounds(now).1))
    }

    /// Forgets a key's ledger (its budget changed): it is counted again from the log.
    pub fn forget(&self, key_id: &str) {
        self.ledgers().remove(key_id);
    }

    async fn spent_since(&self, key_id: &str, start: i64) -> Result<f64, ApiError> {
        // The key's own rows and those of the keys made with it (their `budget_chain`
        // names it).
        let (logged, pruned): (f64, f64) = sqlx::query_as(
            "SELECT \
               (SELECT COALESCE(SUM(cost_usd), 0.0) FROM request_logs \
                WHERE created_at >= $2 AND cost_usd IS NOT NULL AND (key_id = $1 OR key_id IN \
                  (SELECT id FROM api_keys WHERE budget_chain LIKE $4))), \
               (SELECT COALESCE(SUM(cost_usd), 0.0) FROM key_spend_daily \
                WHERE day >= $3 AND (key_id = $1 OR key_id IN \
                  (SELECT id FROM api_keys WHERE budget_chain LIKE $4)))",
        )
        .bind(key_id)
        .bind(start)
        .bind(start.div_euclid(DAY_MS))
        .bind(format!("%\"{key_id}\"%"))
        .fetch_one(&self.db.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(logged + pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        crate::clock::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn periods_are_utc_days_weeks_from_monday_and_calendar_months() {
        let now = at("2026-12-09T15:30:00Z"); // a Wednesday
        assert_eq!(
            Period::Day.bounds(now),
            (at("2026-12-09T00:00:00Z"), Some(at("2026-12-10T00:00:00Z")))
        );
        assert_eq!(
            Period::Week.bounds(now),
            (at("2026-12-07T00:00:00Z"), Some(at("2026-12-14T00:00:00Z")))
        );
        assert_eq!(
            Period::Month.bounds(now),
            (at("2026-12-01T00:00:00Z"), Some(at("2027-01-01T00:00:00Z")))
        );
        assert_eq!(
            Period::Month.bounds(at("2027-02-28T23:59:59Z")),
            (at("2027-02-01T00:00:00Z"), Some(at("2027-03-01T00:00:00Z")))
        );
        assert_eq!(
            Period::Week.bounds(at("2026-12-07T00:00:00Z")).0,
            at("2026-12-07T00:00:00Z"),
            "Monday midnight starts a week"
        );
        assert_eq!(Period::Total.bounds(now), (0, None));
    }

    #[test]
    fn the_most_a_request_can_cost_covers_its_prompt_bytes_and_output() {
        let price = Price {
            input_per_mtok: 1.0,
            output_per_mtok: 2.0,
            cached_input_per_mtok: None,
            cache_write_per_mtok: None,
        };
        let size = RequestSize {
            prompt_bytes: 1000,
            max_output: Some(500),
            ..Default::default()
        };
        assert!((Budgets::max_cost(&price, &size) - (1000.0 + 1000.0) / 1e6).abs() < 1e-15);
        let open = RequestSize {
            prompt_bytes: 0,
            max_output: None,
            ..Default::default()
        };
        assert!(
            (Budgets::max_cost(&price, &open) - DEFAULT_MAX_OUTPUT as f64 * 2.0 / 1e6).abs()
                < 1e-15
        );
    }
}
