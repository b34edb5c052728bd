//! Request Logs: every routed call with how it was resolved, which connection served it,
//! status, latency, tokens and cost; filters (model substring, connection, status,
//! resolution, time range), cursor paging ("Load more"), a detail row opened by click or
//! keyboard, and CSV / JSON Lines export of the filtered range.

use leptos::prelude::*;

use crate::api::{list_connections, list_logs, log_bodies};
use crate::dto::{LogFilterDto, LogPageDto, RequestLogDto};
use crate::error::AppError;

/// The time-range choices: label and hours back (0: all).
const RANGES: [(&str, i64); 5] = [
    ("Last hour", 1),
    ("Last 24 hours", 24),
    ("Last 7 days", 168),
    ("Last 30 days", 720),
    ("All", 0),
];

#[component]
pub fn LogsPage() -> impl IntoView {
    let model = RwSignal::new(String::new());
    let connection = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let resolution = RwSignal::new(String::new());
    let since_hours = RwSignal::new(24i64);
    let refresh = RwSignal::new(0u32);
    let filter = Memo::new(move |_| LogFilterDto {
        model: Some(model.get()).filter(|m| !m.trim().is_empty()),
        connection_id: Some(connection.get()).filter(|c| !c.is_empty()),
        status: status.get().parse().ok(),
        resolution: Some(resolution.get()).filter(|r| !r.is_empty()),
        since_hours: Some(since_hours.get()).filter(|h| *h > 0),
        before: None,
    });
    let first = Resource::new(move || (filter.get(), refresh.get()), |(f, _)| list_logs(f));
    let connections = Resource::new(|| (), |_| list_connections());
    // Pages after the first, fetched by "Load more"; dropped when the filters change.
    let more = RwSignal::new(Vec::<RequestLogDto>::new());
    let load_more = Action::new(move |before: &String| {
        let f = LogFilterDto {
            before: Some(before.clone()),
            ..filter.get_untracked()
        };
        list_logs(f)
    });
    Effect::new(move |_| {
        filter.track();
        refresh.track();
        more.set(Vec::new());
        load_more.value().set(None);
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = load_more.value().get() {
            more.update(|rows| rows.extend(page.logs));
        }
    });
    let next_cursor = move |first_page: &LogPageDto| -> Option<String> {
        match load_more.value().get() {
            Some(Ok(page)) => page.next_cursor,
            _ => first_page.next_cursor.clone(),
        }
    };
    let export_href =
        move |ext: &str| format!("/console/logs.{ext}?{}", query_string(&filter.get()));
    let open = RwSignal::new(None::<String>);
    view! {
        <header class="page-header row spread">
            <div>
                <h1>"Request Logs"</h1>
                <p class="muted">"Every request to /v1: the endpoint, which connection served it, how it was resolved, latency, tokens and cost. Requests that never reached a connection (a bad key, an unknown route, a malformed body) are here too."</p>
            </div>
            <div class="row">
                <a class="button" href=move || export_href("csv") download data-testid="export-csv">"Export CSV"</a>
                <a class="button" href=move || export_href("jsonl") download data-testid="export-jsonl">"Export JSONL"</a>
                <button type="button" on:click=move |_| refresh.update(|v| *v += 1)>"Refresh"</button>
            </div>
        </header>
        <section class="card">
            <div class="row filters">
                <label>"Model contains" <input type="search" placeholder="gpt-4o" on:change=move |ev| model.set(event_target_value(&ev))/></label>
                <label>
                    "Connection"
                    <select on:change=move |ev| connection.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                connections.await.unwrap_or_default().into_iter().map(|c| view! {
                                    <option value=c.id.clone()>{c.name}</option>
                                }).collect_view()
                            })}
                        </Transition>
                    </select>
                </label>
                <label>
                    "Status"
                    <select on:change=move |ev| status.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        {[200, 400, 401, 402, 403, 404, 429, 499, 500, 502, 503, 504].into_iter().map(|s| view! {
                            <option value=s.to_string()>{if s == 499 { "499 (client left)".to_owned() } else { s.to_string() }}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "Resolution"
                    <select on:change=move |ev| resolution.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        {["priority", "handle", "direct", "collection", "auto", "alias"].into_iter().map(|r| view! {
                            <option value=r>{r}</option>
                        }).collect_view()}
                        <option value="none">"not routed"</option>
                    </select>
                </label>
                <label>
                    "Time"
                    <select on:change=move |ev| since_hours.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {RANGES.into_iter().map(|(label, hours)| view! {
                            <option value=hours.to_string() selected=hours == 24>{label}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let page: Result<LogPageDto, AppError> = first.await;
                    match page {
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                        Ok(page) if page.logs.is_empty() => {
                            let f = filter.get_untracked();
                            let filtered = f.model.is_some() || f.connection_id.is_some() || f.status.is_some() || f.resolution.is_some();
                            view! {
                                <p class="empty-state">{if filtered {
                                    "No requests match these filters."
                                } else {
                                    "No requests in this time range. Point an OpenAI-compatible client at /v1 with one of your API keys."
                                }}</p>
                            }.into_any()
                        }
                        Ok(page) => {
                            let first_rows = page.logs.clone();
                            view! {
                                <div class="table-scroll">
                                    <table class="table" data-testid="logs">
                                        <thead><tr><th>"Time (UTC)"</th><th>"Endpoint"</th><th>"Model"</th><th>"Resolution"</th><th>"Connection"</th><th>"Status"</th><th>"Latency"</th><th>"Tokens"</th><th>"Cost"</th></tr></thead>
                                        <tbody>
                                            {first_rows.into_iter().map(|r| view! { <LogRow r open/> }).collect_view()}
                                            <For each=move || more.get() key=|r| r.id.clone() let:r>
                                                <LogRow r open/>
                                            </For>
                                        </tbody>
                                    </table>
                                </div>
                                {move || next_cursor(&page).map(|cursor| view! {
                                    <button type="button" class="load-more" disabled=move || load_more.pending().get()
                                        on:click=move |_| { load_more.dispatch(cursor.clone()); }>
                                        {move || if load_more.pending().get() { "Loading…" } else { "Load more" }}
                                    </button>
                                })}
                                {move || load_more.value().get().and_then(|r| r.err()).map(|e| view! {
                                    <p class="form-error" role="alert">{e.message}</p>
                                })}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// The filters as the export link's query string.
fn query_string(f: &LogFilterDto) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: String| parts.push(format!("{k}={}", encode(&v)));
    if let Some(m) = &f.model {
        add("model", m.clone());
    }
    if let Some(c) = &f.connection_id {
        add("connection_id", c.clone());
    }
    if let Some(s) = f.status {
        add("status", s.to_string());
    }
    if let Some(r) = &f.resolution {
        add("resolution", r.clone());
    }
    if let Some(h) = f.since_hours {
        add("since_hours", h.to_string());
    }
    parts.join("&")
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn LogRow(r: RequestLogDto, open: RwSignal<Option<String>>) -> impl IntoView {
    let id = StoredValue::new(r.id.clone());
    let is_open = move || open.get().as_deref() == Some(id.get_value().as_str());
    let toggle = move || {
        let id = id.get_value();
        open.update(|o| {
            *o = if o.as_deref() == Some(id.as_str()) {
                None
            } else {
                Some(id)
            }
        });
    };
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
    let connection = connection_label(&r);
    let detail = r.clone();
    view! {
        <tr class="clickable" tabindex="0" aria-expanded=move || is_open().to_string()
            on:click=move |_| toggle()
            on:keydown=move |ev| {
                if ev.key() == "Enter" || ev.key() == " " {
                    ev.prevent_default();
                    toggle();
                }
            }>
            <td class="nowrap">{log_time(&r.created_at)}</td>
            <td><code>{if r.path.is_empty() { format!("/v1/{}", r.endpoint) } else { r.path.clone() }}</code></td>
            <td>
                <code>{r.model.clone()}</code>{r.stream.then_some(" (stream)")}
                {r.collection.clone().filter(|c| *c != r.model).map(|c| view! { <div class="muted small">{c}</div> })}
            </td>
            <td>{r.resolution.clone()}</td>
            <td data-testid="log-connection">{connection}</td>
            <td><span class=chip>{r.status}</span>" "{r.error_code.clone().unwrap_or_default()}</td>
            <td>{format!("{} ms", r.latency_ms)}</td>
            <td>{tokens}</td>
            <td data-testid="log-cost">{cost_text(r.cost_usd, r.cost_basis.as_deref())}</td>
        </tr>
        <Show when=is_open>
            <tr class="inline-form">
                <td colspan="9"><LogDetail r=detail.clone()/></td>
            </tr>
        </Show>
    }
}

/// Everything a row knows: timings, tokens, cost, where it went and every attempt.
#[component]
fn LogDetail(r: RequestLogDto) -> impl IntoView {
    let ms = |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |n| format!("{n} ms"));
    let n = |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |n| n.to_string());
    view! {
        <div class="log-detail" data-testid="log-detail">
            <dl class="facts">
                <dt>"Time"</dt><dd>{r.created_at.clone()}</dd>
                <dt>"Request id"</dt><dd><code>{r.request_id.clone()}</code></dd>
                <dt>"Client"</dt><dd>{r.user_agent.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Served by"</dt><dd>{format!("{} · {} · {}", connection_label(&r), r.provider.clone().unwrap_or_else(|| "—".into()), r.upstream_model.clone().unwrap_or_else(|| "—".into()))}</dd>
                <dt>"Latency"</dt><dd>{format!("{} ms total, first token {}", r.latency_ms, ms(r.ttft_ms))}</dd>
                <dt>"Tokens"</dt><dd>{format!("{} prompt, {} completion, {} cache read, {} cache written",
                    n(r.prompt_tokens), n(r.completion_tokens), n(r.cache_read_tokens), n(r.cache_write_tokens))}</dd>
                <dt>"Cost"</dt><dd>{format!("{} ({})", cost_text(r.cost_usd, r.cost_basis.as_deref()), r.cost_basis.clone().unwrap_or_else(|| "none".into()))}</dd>
            </dl>
            <strong>"Attempts"</strong>
            <ol class="attempts">
                {r.attempts.iter().map(|a| view! {
                    <li>{format!("{} ({}) — {}{} in {} ms", a.connection_id, a.provider, a.outcome,
                        a.status.map(|s| format!(" [{s}]")).unwrap_or_default(), a.latency_ms)}</li>
                }).collect_view()}
            </ol>
            <Bodies id=r.id.clone()/>
        </div>
    }
}

/// The call's request and response bodies, fetched when asked for: kept only when the
/// owner turned body capture on (Settings → Account).
#[component]
fn Bodies(id: String) -> impl IntoView {
    let load = Action::new(move |id: &String| log_bodies(id.clone()));
    let id = StoredValue::new(id);
    view! {
        <div class="bodies">
            <button type="button" class="small" disabled=move || load.pending().get()
                on:click=move |_| { load.dispatch(id.get_value()); }>
                "Show bodies"
            </button>
            {move || load.value().get().map(|r| match r {
                Ok(b) => view! {
                    <div data-testid="log-bodies">
                        <strong>"Request"</strong>
                        <pre class="body">{b.request}</pre>
                        <strong>"Response"</strong>
                        <pre class="body">{b.response}</pre>
                    </div>
                }.into_any(),
                Err(e) if e.status == 404 => view! {
                    <p class="muted small" data-testid="log-bodies">
                        "No bodies kept for this request: turn body capture on in Settings → Account to keep those of later requests."
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
            })}
        </div>
    }
}

/// The connection's name, else its id (deleted, or no longer yours), else a dash.
fn connection_label(r: &RequestLogDto) -> String {
    r.connection_name
        .clone()
        .or_else(|| r.connection_id.clone())
        .unwrap_or_else(|| "—".into())
}

/// `YYYY-MM-DD HH:MM:SS` of an RFC 3339 timestamp (UTC).
fn log_time(ts: &str) -> String {
    ts.replace('T', " ").chars().take(19).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_link_carries_the_filters_encoded() {
        let f = LogFilterDto {
            model: Some("gpt 4o/x&y".into()),
            status: Some(502),
            since_hours: Some(24),
            ..Default::default()
        };
        assert_eq!(
            query_string(&f),
            "model=gpt%204o%2Fx%26y&status=502&since_hours=24"
        );
        assert_eq!(log_time("2026-12-07T09:30:15.123Z"), "2026-12-07 09:30:15");
    }
}
