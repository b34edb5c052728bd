//! How routing resolves a model reference, as a table: the order of candidates, their
//! status, latency, estimated cost and why any is skipped. Used by "Try it" on Model
//! Collections and by the playground.

use leptos::prelude::*;

use crate::dto::ExplainDto;

#[component]
pub fn ExplainTable(plan: ExplainDto) -> impl IntoView {
    view! {
        <div data-testid="explain">
            <p>
                {format!("Resolved by {}. ", plan.resolution)}
                {plan.alias.clone().map(|a| format!("Alias: {a}. "))}
                {plan.strategy.clone().map(|s| format!("Strategy: {}. ", s.replace('_', " ")))}
                {plan.order.clone()}
            </p>
            {plan.notes.clone().into_iter().map(|n| view! { <p class="hint">{n}</p> }).collect_view()}
            <div class="table-scroll">
                <table class="table">
                    <thead><tr><th>"#"</th><th>"Member"</th><th>"Connection"</th><th>"Status"</th><th>"Latency"</th><th>"Est. cost"</th><th>"Usable"</th></tr></thead>
                    <tbody>
                        {plan.candidates.into_iter().enumerate().map(|(i, c)| view! {
                            <tr>
                                <td>{i + 1}</td>
                                <td><code>{c.member.clone().unwrap_or_else(|| format!("{}/{}", c.provider, c.upstream_model))}</code></td>
                                <td>{format!("{} ({})", c.name, c.connection_id)}</td>
                                <td>{crate::pages::connections::status_chip(&c.status)}</td>
                                <td>{c.latency_ms.map(|l| format!("{l:.0} ms")).unwrap_or_else(|| "—".into())}</td>
                                <td>{c.estimated_cost_usd.map(|v| format!("${v:.6}")).unwrap_or_else(|| "no price".into())}</td>
                                <td>{if c.usable { "yes".to_owned() } else { format!("no: {}", c.reason.clone().unwrap_or_default()) }}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
}
