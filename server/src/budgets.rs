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
//!
//! With `--redis-url` the ledgers are Redis's, shared by every replica: one script
//! reserves against all of a request's budgets at once ([`crate::cluster::Shared::reserve`]);
//! a ledger Redis does not have yet starts from what the log says. While Redis does not
//! answer, the failure policy decides: reserve here (`open`) or refuse (`closed`).

use std::collections::HashMap;
use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc, Mutex,
};

use crate::cluster::{FailurePolicy, LedgerArgs, Shared, Unavailable};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Whose spend a budget limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// An API key's requests, and those of the keys made with it.
    Key(String),
    /// Every request of a user (set by a platform admin).
    User(String),
    /// Requests served by an organization's connections (set by its admins).
    Organization(String),
    /// One member's requests served by an organization's connections (organization id,
    /// user id; the organization's default per member).
    Member(String, String),
}

impl Scope {
    /// `key`, `user`, `organization` or `member`, as the API names them.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Key(_) => "key",
            Scope::User(_) => "user",
            Scope::Organization(_) => "organization",
            Scope::Member(..) => "member",
        }
    }

    /// The scope as key parts: its kind and ids.
    pub fn parts(&self) -> Vec<&str> {
        match self {
            Scope::Key(id) | Scope::User(id) | Scope::Organization(id) => vec![self.kind(), id],
            Scope::Member(org, user) => vec![self.kind(), org, user],
        }
    }

    /// Whose budget it is, for the refusal's message.
    fn whose(&self) -> &'static str {
        match self {
            Scope::Key(_) => "This API key's budget",
            Scope::User(_) => "Your budget",
            Scope::Organization(_) => "The organization's budget",
            Scope::Member(..) => "Your budget in this organization",
        }
    }
}

impl Budget {
    /// Largest budget, in USD.
    const MAX_USD: f64 = 1e9;

    pub fn validate(&self) -> Result<(), crate::error::RequestError> {
        if !self.usd.is_finite() || !(0.0..=Self::MAX_USD).contains(&self.usd) {
            return Err(crate::error::RequestError::InvalidField {
                field: "budget",
                message: format!("budget.usd must be between 0 and {}", Self::MAX_USD),
            });
        }
        Ok(())
    }

    /// As the API shows it.
    pub fn to_dto(self) -> app::dto::BudgetDto {
        app::dto::BudgetDto {
            usd: self.usd,
            period: self.period.as_str().to_owned(),
        }
    }

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
    #[error("{whose} of ${limit} per {} is spent (${spent:.6} used{}); the request could cost up to ${wanted:.6}", period.as_str(), resets.map(|r| format!(", resets at {}", rfc3339(r))).unwrap_or_default())]
    Exceeded {
        whose: &'static str,
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

/// One scope's spend in the current period of one budget period kind.
#[derive(Debug, Clone, Copy)]
struct Ledger {
    start: i64,
    spent: f64,
    reserved: f64,
}

/// A reservation against a budget, settled once with the call's real cost.
#[derive(Debug)]
pub struct Hold {
    ledger: (Scope, Period),
    start: i64,
    usd: f64,
    /// The Redis ledger it was made in, when shared.
    shared: Option<String>,
}

pub struct Budgets {
    db: Db,
    pub clock: Clock,
    /// One ledger per scope and period: a budget whose period changes starts a ledger of
    /// its own, counted from the log; one whose amount changes keeps its spend.
    ledgers: Mutex<HashMap<(Scope, Period), Ledger>>,
    changes: crate::changes::Changes,
    /// Redis, where replicas share the ledgers.
    shared: Option<Arc<Shared>>,
    /// The Redis epoch the local ledgers were counted in: after Redis was away, they are
    /// counted from the log again (a restarted Redis starts from them).
    shared_epoch: AtomicI64,
}

impl Budgets {
    pub fn new(db: Db, changes: crate::changes::Changes, shared: Option<Arc<Shared>>) -> Self {
        Budgets {
            db,
            clock: Clock::default(),
            ledgers: Mutex::new(HashMap::new()),
            changes,
            shared,
            shared_epoch: AtomicI64::new(0),
        }
    }

    fn ledgers(&self) -> std::sync::MutexGuard<'_, HashMap<(Scope, Period), Ledger>> {
        self.ledgers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most `size` can cost at `price`; a request that sets no maximum output is
    /// counted at `default_output` tokens (the key's `default_max_tokens`), else at
    /// [`DEFAULT_MAX_OUTPUT`].
    pub fn max_cost(price: &Price, size: &RequestSize, default_output: Option<u64>) -> f64 {
        let per_token = |per_mtok: f64| per_mtok / 1_000_000.0;
        let output = size
            .max_output
            .or(default_output)
            .unwrap_or(DEFAULT_MAX_OUTPUT) as f64;
        size.prompt_bytes as f64 * per_token(price.input_per_mtok)
            + output * per_token(price.output_per_mtok)
    }

    /// The scope's ledger for the period holding `now`, counted from the log the first time.
    async fn current(&self, scope: &Scope, period: Period, now: i64) -> Result<Ledger, ApiError> {
        let (start, _) = period.bounds(now);
        let key = (scope.clone(), period);
        if let Some(l) = self.ledgers().get(&key).filter(|l| l.start == start) {
            return Ok(*l);
        }
        let known = self.ledgers().contains_key(&key);
        // A period that rolled over while running starts at zero; after a start, what the
        // log says was spent in it.
        let spent = if known {
            0.0
        } else {
            self.spent_since(scope, start).await?
        };
        let mut ledgers = self.ledgers();
        let ledger = ledgers
            .entry(key)
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
    pub async fn reserve(&self, scope: &Scope, budget: Budget, usd: f64) -> Result<Hold, ApiError> {
        let now = self.clock.now_ms();
        let start = self.current(scope, budget.period, now).await?.start;
        let key = (scope.clone(), budget.period);
        let mut ledgers = self.ledgers();
        let Some(ledger) = ledgers.get_mut(&key).filter(|l| l.start == start) else {
            // The period rolled between the two steps: refuse rather than guess.
            return Err(exceeded(scope, budget, 0.0, usd, now));
        };
        if ledger.spent + ledger.reserved + usd > budget.usd + EPSILON {
            let spent = ledger.spent;
            drop(ledgers);
            return Err(exceeded(scope, budget, spent, usd, now));
        }
        ledger.reserved += usd;
        Ok(Hold {
            ledger: key,
            start,
            usd,
            shared: None,
        })
    }

    /// Reserves `usd` against every budget in `budgets`, or none of them: in Redis when
    /// replicas share ledgers, else here.
    pub async fn reserve_all(
        &self,
        budgets: &[(Scope, Budget)],
        usd: f64,
    ) -> Result<Vec<Hold>, ApiError> {
        if let Some(shared) = &self.shared {
            match self.reserve_shared(shared, budgets, usd).await {
                Ok(result) => return result,
                Err(Unavailable) if shared.policy == FailurePolicy::Closed => {
                    return Err(crate::error::RequestError::SharedStateUnavailable.into())
                }
                Err(Unavailable) => {}
            }
        }
        self.reserve_here(budgets, usd).await
    }

    /// Reserves in Redis, every ledger or none; `Err` when Redis does not answer.
    async fn reserve_shared(
        &self,
        shared: &Shared,
        budgets: &[(Scope, Budget)],
        usd: f64,
    ) -> Result<Result<Vec<Hold>, ApiError>, Unavailable> {
        if !shared.is_up() {
            return Err(Unavailable);
        }
        let epoch = shared.epoch();
        if self.shared_epoch.swap(epoch, Ordering::AcqRel) != epoch {
            // Redis came back, perhaps empty: seed it from the log, not from old memory.
            self.ledgers().clear();
        }
        let now = self.clock.now_ms();
        let mut args = Vec::with_capacity(budgets.len());
        let mut holds = Vec::with_capacity(budgets.len());
        for (scope, budget) in budgets {
            let ledger = match self.current(scope, budget.period, now).await {
                Ok(l) => l,
                Err(e) => return Ok(Err(e)),
            };
            let (start, end) = budget.period.bounds(now);
            let key = shared.ledger_key(&scope.parts(), budget.period.as_str(), start);
            args.push(LedgerArgs {
                key: key.clone(),
                limit: budget.usd,
                seed: ledger.spent,
                ttl: end.map(|end| {
                    std::time::Duration::from_millis(u64::try_from(end - now + DAY_MS).unwrap_or(0))
                }),
            });
            holds.push(Hold {
                ledger: (scope.clone(), budget.period),
                start,
                usd,
                shared: Some(key),
            });
        }
        match shared.reserve(&args, usd).await? {
            Ok(()) => Ok(Ok(holds)),
            Err((i, spent)) => {
                let (scope, budget) = &budgets[i.min(budgets.len().saturating_sub(1))];
                Ok(Err(exceeded(scope, *budget, spent, usd, now)))
            }
        }
    }

    async fn reserve_here(
        &self,
        budgets: &[(Scope, Budget)],
        usd: f64,
    ) -> Result<Vec<Hold>, ApiError> {
        let mut holds = Vec::with_capacity(budgets.len());
        for (scope, budget) in budgets {
            match self.reserve(scope, *budget, usd).await {
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

    /// Replaces a reservation with what the call really cost. A call that outlived its
    /// period is charged to the period it was reserved in, which is gone: nothing to do.
    pub fn settle(&self, hold: Hold, cost: f64) {
        let cost = cost.max(0.0);
        // Reserved here only when not shared; spent is kept here either way, so a
        // replica that falls back to its own ledgers still knows what it spent.
        let reserved_here = if hold.shared.is_some() { 0.0 } else { hold.usd };
        if let Some(l) = self
            .ledgers()
            .get_mut(&hold.ledger)
            .filter(|l| l.start == hold.start)
        {
            l.reserved = (l.reserved - reserved_here).max(0.0);
            l.spent += cost;
        }
        if let (Some(key), Some(shared)) = (hold.shared, &self.shared) {
            shared.settle_budget(key, hold.usd, cost);
        }
    }

    /// What the scope has spent in the current period, and when the period ends.
    pub async fn spent(
        &self,
        scope: &Scope,
        period: Period,
    ) -> Result<(f64, Option<i64>), ApiError> {
        let now = self.clock.now_ms();
        let ledger = self.current(scope, period, now).await?;
        let (start, end) = period.bounds(now);
        if let Some(shared) = &self.shared {
            let key = shared.ledger_key(&scope.parts(), period.as_str(), start);
            if let Ok(Some(spent)) = shared.spent(&key).await {
                return Ok((spent, end));
            }
        }
        Ok((ledger.spent, end))
    }

    /// Fills in what each active key with a budget has spent in its current period, and
    /// when that period ends.
    pub async fn fill_key_spend(&self, keys: &mut [app::dto::ApiKeyDto]) -> Result<(), ApiError> {
        for key in keys.iter_mut().filter(|k| k.revoked_at.is_none()) {
            let Some(period) = key
                .policy
                .budget
                .as_ref()
                .and_then(|b| Period::parse(&b.period))
            else {
                continue;
            };
            let (spent, resets) = self.spent(&Scope::Key(key.id.clone()), period).await?;
            key.spent_usd = Some(spent);
            key.budget_resets_at = resets.map(rfc3339);
        }
        Ok(())
    }

    /// Sets (`Some`) or removes the budget of a user (`scope` "user"), an organization
    /// ("organization") or each member of one ("member"), after the caller's right to was
    /// checked; routing sees it at once.
    pub async fn set_spend_budget(
        &self,
        scope: &'static str,
        owner_id: &str,
        budget: Option<Budget>,
        by: &str,
    ) -> Result<(), ApiError> {
        if let Some(b) = budget {
            b.validate()?;
        }
        crate::db::budgets::set(
            &self.db.pool,
            scope,
            owner_id,
            budget.map(|b| (b.usd, b.period.as_str())),
            by,
            crate::clock::now_ms(),
        )
        .await
        .map_err(StoreError::from)?;
        self.changes.bump();
        Ok(())
    }

    /// Spend since `start` from the log, and from the daily totals for pruned rows.
    async fn spent_since(&self, scope: &Scope, start: i64) -> Result<f64, ApiError> {
        // Which rows count: `$1`/`$2` name the scope; `$3` is `start`, `$4` its day.
        let (rows, pruned, a, b) = match scope {
            // The key's own rows and those of the keys made with it (their
            // `budget_chain` names it).
            Scope::Key(id) => (
                "(key_id = $1 OR key_id IN (SELECT id FROM api_keys WHERE budget_chain LIKE $2))",
                "SELECT COALESCE(SUM(cost_usd), 0.0) FROM key_spend_daily WHERE day >= $4 AND \
                 (key_id = $1 OR key_id IN (SELECT id FROM api_keys WHERE budget_chain LIKE $2))",
                id.clone(),
                format!("%\"{id}\"%"),
            ),
            Scope::User(id) => (
                "(user_id = $1 AND $2 = $2)",
                "SELECT COALESCE(SUM(cost_usd), 0.0) FROM request_log_daily WHERE day >= $4 AND \
                 user_id = $1 AND $2 = $2",
                id.clone(),
                String::new(),
            ),
            Scope::Organization(org) => (
                "(connection_id IN (SELECT id FROM connections WHERE owner_org_id = $1) AND $2 = $2)",
                "SELECT COALESCE(SUM(cost_usd), 0.0) FROM request_log_daily WHERE day >= $4 AND \
                 connection_id IN (SELECT id FROM connections WHERE owner_org_id = $1) AND $2 = $2",
                org.clone(),
                String::new(),
            ),
            Scope::Member(org, user) => (
                "(connection_id IN (SELECT id FROM connections WHERE owner_org_id = $1) \
                 AND user_id = $2)",
                "SELECT COALESCE(SUM(cost_usd), 0.0) FROM request_log_daily WHERE day >= $4 AND \
                 connection_id IN (SELECT id FROM connections WHERE owner_org_id = $1) \
                 AND user_id = $2",
                org.clone(),
                user.clone(),
            ),
        };
        let (logged, pruned): (f64, f64) = sqlx::query_as(&format!(
            "SELECT (SELECT COALESCE(SUM(cost_usd), 0.0) FROM request_logs \
               WHERE created_at >= $3 AND cost_usd IS NOT NULL AND {rows}), ({pruned})"
        ))
        .bind(a)
        .bind(b)
        .bind(start)
        .bind(start.div_euclid(DAY_MS))
        .fetch_one(&self.db.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(logged + pruned)
    }
}

fn exceeded(scope: &Scope, budget: Budget, spent: f64, wanted: f64, now: i64) -> ApiError {
    ApiError::from(BudgetError::Exceeded {
        whose: scope.whose(),
        limit: budget.usd,
        spent,
        wanted,
        period: budget.period,
        resets: budget.period.bounds(now).1,
        now,
    })
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
        assert!((Budgets::max_cost(&price, &size, None) - (1000.0 + 1000.0) / 1e6).abs() < 1e-15);
        let open = RequestSize {
            prompt_bytes: 0,
            max_output: None,
            ..Default::default()
        };
        assert!(
            (Budgets::max_cost(&price, &open, None) - DEFAULT_MAX_OUTPUT as f64 * 2.0 / 1e6).abs()
                < 1e-15
        );
    }
}
