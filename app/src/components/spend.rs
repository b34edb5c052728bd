//! Spend against a budget as a bar, amber from 80%: keys, people and organizations.

use leptos::prelude::*;

use crate::dto::BudgetDto;

/// Budget periods as budgets take them, with how the forms say them.
pub const BUDGET_PERIODS: [(&str, &str); 4] = [
    ("day", "a day"),
    ("week", "a week"),
    ("month", "a month"),
    ("total", "in total"),
];

/// `spent` of `budget` as a bar with the figures beside it; `testid` names it for tests.
pub fn spend_bar(spent: f64, budget: &BudgetDto, testid: &'static str) -> AnyView {
    let share = if budget.usd > 0.0 {
        (spent / budget.usd).min(1.0)
    } else {
        1.0
    };
    let class = if share >= 0.8 {
        "bar-fill warn"
    } else {
        "bar-fill"
    };
    view! {
        <div class="spend" data-testid=testid>
            <div class="bar"><div class=class style=format!("width: {:.0}%", share * 100.0)></div></div>
            <span class="small">{format!("${spent:.4} of ${} / {}", budget.usd, budget.period)}</span>
        </div>
    }
    .into_any()
}
