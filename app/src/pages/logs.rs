//! Request Logs: every routed call with how it was resolved, which connection served it,
//! status, latency and tokens; a row opens the attempts made.

use leptos::prelude::*;

use crate::api::list_logs;
use crate::dto::RequestLogDto;
use crate::pages::settings::short_time;

#[component]
pub fn LogsPage() -> impl IntoView {
    let model = RwSignal::new(String::new());
    let connection = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let resolution = RwSignal::new(String::new());
    let refresh = RwSignal::new(0u32);
    let logs = Resource::new(
        move || {
            (
                model.get(),
                connection.get(),
                status.get(),
                resolution.get(),
                refresh.get(),
            )
        },
        |(model, connection, status, resolution, _)| {
            list_logs(
                Some(model),
                Some(connection),
                status.parse().ok(),
                Some(resolution),
            )
        },
    );
    let open = RwSignal::new(None::<String>);
    view! {
        <header class="page-header row spread">
            <div>
                <h1>"Request Logs"</h1>
                <p class="muted">"Every request to /v1: the endpoint, which connection served it, how it was resolved, latency and tokens. Requests that never reached a connection (a bad key, an unknown route, a malformed body) are here too."</p>
            </div>
            <button on:click=move |_| refresh.update(|v| *v += 1)>"Refresh"</button>
        </header>
        <section class="card">
            <div class="row filters">
                <label>"Model" <input type="text" placeholder="openai/gpt-4o" on:change=move |ev| model.set(event_target_value(&ev))/></label>
                <label>"Connection" <input type="text" placeholder="conn-…" on:change=move |ev| connection.set(event_target_value(&ev))/></label>
                <label>
                    "Status"
                    <select on:change=move |ev| status.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        <option value="200">"200"</option>
                        <option value="400">"400"</option>
                        <option value="401">"401"</option>
                        <option value="404">"404"</option>
                        <option value="429">"429"</option>
                        <option value="499">"499 (client left)"</option>
                        <option value="502">"502"</option>
                        <option value="503">"503"</option>
                        <option value="504">"504"</option>
                    </select>
                </label>
                <label>
                    "Resolution"
                    <select on:change=move |ev| resolution.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        <option value="priority">"priority"</option>
                        <option value="handle">"handle"</option>
                        <option value="direct">"direct"</option>
                        <option value="collection">"collection"</option>
                        <option value="auto">"auto"</option>
                        <option value="alias">"alias"</option>
                        <option value="none">"not routed"</option>
                    </select>
                </label>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match logs.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! {
                            <p class="empty-state">"No requests logged yet. Point an OpenAI-compatible client at /v1 with one of your API keys."</p>
                        }.into_any(),
                        Ok(rows) => view! {
                            <table class="table" data-testid="logs">
                                <thead><tr><th>"Time"</th><th>"Endpoint"</th><th>"Model"</th><th>"Resolution"</th><th>"Connection"</th><th>"Status"</th><th>"Latency"</th><th>"Tokens"</th><th>"Cost"</th></tr></thead>
                                <tbody>{rows.into_iter().map(|r| view! { <LogRow r open/> }).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LogRow(r: RequestLogDto, open: RwSignal<Option<String>>) -> impl IntoView {
    let id = r.id.clone();
    let toggle_id = id.clone();
    let is_open = move || open.get().as_deref() == Some(id.as_str());
    let tokens = match (r.prompt_tokens, r.completion_tokens) {
        (None, None) => "—".to_owned(),
        (p, c) => format!("{} / {}", p.unwrap_or(0), c.unwrap_or(0)),
    };
    let chip = if r.status < 300 {
        "chip green"
    } else if r.status == 429 || r.status == 499 {
        "chip amber"
    } else {
        "chip red"
    };
    let attempts = r.attempts.clone();
    view! {
        <tr class="clickable" on:click=move |_| open.update(|o| *o = if o.as_deref() == Some(toggle_id.as_str()) { None } else { Some(toggle_id.clone()) })>
            <td>{short_time(&r.created_at)}</td>
            <td><code>{if r.path.is_empty() { format!("/v1/{}", r.endpoint) } else { r.path.clone() }}</code></td>
            <td>
                <code>{r.model.clone()}</code>{r.stream.then_some(" (stream)")}
                {r.collection.clone().filter(|c| *c != r.model).map(|c| view! { <div class="muted small">{c}</div> })}
            </td>
            <td>{r.resolution.clone()}</td>
            <td>{r.connection_id.clone().unwrap_or_else(|| "—".into())}</td>
            <td><span class=chip>{r.status}</span>" "{r.error_code.clone().unwrap_or_default()}</td>
            <td>{format!("{} ms", r.latency_ms)}</td>
            <td>{tokens}</td>
            <td data-testid="log-cost">{cost_text(r.cost_usd, r.cost_basis.as_deref())}</td>
        </tr>
        <Show when=is_open.clone()>
            <tr class="inline-form">
                <td colspan="9">
                    <strong>"Attempts"</strong>
                    <ol class="attempts">
                        {attempts.clone().into_iter().map(|a| view! {
                            <li>{format!("{} ({}) — {}{} in {} ms", a.connection_id, a.provider, a.outcome,
                                a.status.map(|s| format!(" [{s}]")).unwrap_or_default(), a.latency_ms)}</li>
                        }).collect_view()}
                    </ol>
                    <p class="muted small">{format!("request id {}", r.request_id)}</p>
                    {r.user_agent.clone().map(|ua| view! { <p class="muted small">{format!("client {ua}")}</p> })}
                    {(r.cache_read_tokens.is_some() || r.cache_write_tokens.is_some()).then(|| view! {
                        <p class="muted small">{format!("prompt cache: {} read, {} written",
                            r.cache_read_tokens.unwrap_or(0), r.cache_write_tokens.unwrap_or(0))}</p>
                    })}
                </td>
            </tr>
        </Show>
    }
}

/// A row's cost as the table shows it: dollars, `~` before an estimate, `unpriced` when
/// the model has no price, a dash when nothing was charged.
fn cost_text(usd: Option<f64>, basis: Option<&str>) -> String {
    match (usd, basis) {
        (Some(usd), Some("estimated")) => format!("~${usd:.6}"),
        (Some(usd), _) => format!("${usd:.6}"),
        (None, Some("unpriced")) => "unpriced".to_owned(),
        (None, _) => "—".to_owned(),
    }
}
