//! One connection: settings, last error, models, test history with a latency chart, and
//! the audit trail.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

use super::{gateway_label, last_day_label, status_chip, used_by_label, when};
use std::collections::BTreeMap;

use super::numbers::NumberRule;
use crate::api::{
    connection_detail, list_providers, AddModel, DiscoverModels, TestConnection, UpdateConnection,
    UpdateConnectionKey,
};
use crate::components::feedback::FieldError;
use crate::components::feedback::{Done, FormError};
use crate::dto::{ConnectionDetailDto, TestResultDto};
use crate::dto::{ConnectionDto, ConnectionUpdateDto};
use crate::pages::settings::short_time;

#[component]
pub fn ConnectionDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let test = ServerAction::<TestConnection>::new();
    let discover = ServerAction::<DiscoverModels>::new();
    let add = ServerAction::<AddModel>::new();
    let edit = ServerAction::<UpdateConnection>::new();
    let rekey = ServerAction::<UpdateConnectionKey>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                test.version().get(),
                discover.version().get(),
                add.version().get(),
                edit.version().get(),
                rekey.version().get(),
            )
        },
        |(id, ..)| connection_detail(id),
    );
    // Created with the page, not inside the suspended detail view: a resource made while
    // server rendering is already suspended can leave the render waiting forever.
    let providers = Resource::new(|| (), |_| list_providers());
    view! {
        <p><A href="/connections">"← Connections"</A></p>
        <FormError result=test.value()/>
        <FormError result=discover.value()/>
        <Done result=discover.value() message={discovered}/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                    Ok(d) => {
                        let editable = d.connection.can_edit.then(|| d.connection.clone());
                        view! {
                            <Detail d test discover add/>
                            {editable.map(|c| view! { <EditConnection c edit rekey providers/> })}
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(
    d: ConnectionDetailDto,
    test: ServerAction<TestConnection>,
    discover: ServerAction<DiscoverModels>,
    add: ServerAction<AddModel>,
) -> impl IntoView {
    let c = d.connection;
    let id = StoredValue::new(c.id.clone());
    let can_edit = c.can_edit;
    let new_model = RwSignal::new(String::new());
    let new_name = RwSignal::new(String::new());
    let add_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add.dispatch(AddModel {
            id: id.get_value(),
            model: new_model.get_untracked(),
            display_name: Some(new_name.get_untracked()).filter(|n| !n.trim().is_empty()),
        });
    };
    let limits = |v: Option<i64>| {
        v.map(|n| n.to_string())
            .unwrap_or_else(|| "unlimited".into())
    };
    let config = c
        .config
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <header class="page-header row spread">
            <div>
                <h1>{c.name.clone()} " " {status_chip(&c.status)}</h1>
                <p class="muted">{c.description.clone()}</p>
            </div>
            <div class="row">
                <button on:click=move |_| {
                    test.dispatch(TestConnection { id: id.get_value() });
                }>"Test"</button>
                <Show when=move || c.can_edit>
                    <button on:click=move |_| {
                        discover.dispatch(DiscoverModels { id: id.get_value() });
                    }>"Discover models"</button>
                </Show>
            </div>
        </header>
        {c.last_error.clone().map(|e| view! { <section class="card error-box"><strong>"Last error: "</strong>{e}</section> })}
        <section class="card">
            <h2>"Settings"</h2>
            <dl class="facts">
                <dt>"Provider"</dt><dd>{c.provider.name.clone()}</dd>
                <dt>"Endpoint"</dt><dd><code>{c.endpoint_url.clone()}</code></dd>
                <dt>"Credential"</dt><dd><code>{c.credential_mask.clone()}</code></dd>
                <dt>"Owner"</dt><dd>{format!("{} ({})", c.owner.handle, c.scope)}</dd>
                <dt>"Gateway"</dt><dd>{gateway_label(c.gateway_type)}</dd>
                <dt>"Limits"</dt><dd>{format!("{} rpm, {} tpm", limits(c.rate_limits.rpm), limits(c.rate_limits.tpm))}</dd>
                <dt>"Priority"</dt><dd>{c.prefer_score}</dd>
                <dt>"Fallback"</dt><dd>{if c.allow_fallback { "allowed" } else { "off" }}</dd>
                <dt>"Timeout, retries"</dt><dd>{format!("{} ms, {}", c.timeout_ms, c.max_retries)}</dd>
                <dt>"Stream timeouts"</dt><dd>{timeouts_label(c.connect_timeout_ms, c.idle_timeout_ms, c.max_duration_ms)}</dd>
                <dt>"Settings"</dt><dd>{if config.is_empty() { "—".to_owned() } else { config }}</dd>
                <dt>"Last health check"</dt><dd>{when(&c.last_health_check_at)}</dd>
                <dt>"Rate-limited until"</dt><dd>{when(&c.rate_limited_until)}</dd>
                <dt>"Used by"</dt><dd data-testid="used-by">{used_by_label(&c.used_by)}</dd>
                <dt>"Last 24 hours"</dt><dd data-testid="last-day">{last_day_label(&c.last_day)}</dd>
                <dt>"Needs a look"</dt><dd data-testid="warning">{c.warning.clone().unwrap_or_else(|| "no".into())}</dd>
                <dt>"Created"</dt><dd>{short_time(&c.created_at)}</dd>
                <dt>"Updated"</dt><dd>{short_time(&c.updated_at)}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>{format!("Models ({})", d.models.len())}</h2>
            {if d.models.is_empty() {
                view! { <p class="muted">"No models yet: discover them from the provider, or add one by hand below."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="models">
                        <thead><tr><th>"Model"</th><th>"Name"</th><th>"Source"</th><th>"Enabled"</th></tr></thead>
                        <tbody>
                            {d.models.into_iter().map(|m| view! {
                                <tr>
                                    <td><code>{m.id}</code></td>
                                    <td>{m.display_name}</td>
                                    <td>{m.source}</td>
                                    <td>{if m.enabled { "yes" } else { "no (connection failing)" }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <Show when=move || can_edit>
                <form class="row add-model" on:submit=add_submit data-testid="add-model">
                    <label class="field">
                        <span>"Model id"</span>
                        <input type="text" name="model" placeholder="gpt-4o-2024-11-20" required
                            on:input=move |ev| new_model.set(event_target_value(&ev))/>
                        <FieldError result=add.value() field="id"/>
                    </label>
                    <label class="field">
                        <span>"Display name (optional)"</span>
                        <input type="text" name="display_name"
                            on:input=move |ev| new_name.set(event_target_value(&ev))/>
                    </label>
                    <button type="submit" disabled=move || add.pending().get()>
                        {move || if add.pending().get() { "Adding…" } else { "Add model" }}
                    </button>
                </form>
                <FormError result=add.value()/>
                {move || match add.value().get() {
                    Some(Ok(m)) => Some(view! { <p class="ok" role="status">{format!("Added {}.", m.id)}</p> }),
                    _ => None,
                }}
            </Show>
        </section>
        <section class="card">
            <h2>"Test history"</h2>
            <LatencyChart tests=d.tests.clone()/>
            <table class="table" data-testid="tests">
                <thead><tr><th>"When"</th><th>"Result"</th><th>"Latency"</th><th>"Models"</th><th>"Trigger"</th><th>"Error"</th></tr></thead>
                <tbody>
                    {d.tests.into_iter().map(|t| view! {
                        <tr>
                            <td>{short_time(&t.tested_at)}</td>
                            <td>{if t.success { view! { <span class="chip green">"ok"</span> } } else { view! { <span class="chip red">"failed"</span> } }}</td>
                            <td>{format!("{} ms", t.latency_ms)}</td>
                            <td>{t.model_count.map(|n| n.to_string()).unwrap_or_default()}</td>
                            <td>{t.trigger}</td>
                            <td class="muted">{t.error.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="card">
            <h2>"Audit log"</h2>
            <table class="table" data-testid="audit">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"What"</th></tr></thead>
                <tbody>
                    {d.audit.into_iter().map(|a| view! {
                        <tr>
                            <td>{short_time(&a.created_at)}</td>
                            <td>{a.actor.map(|h| format!("@{h}")).unwrap_or_else(|| "system".into())}</td>
                            <td>{a.action}</td>
                            <td>{a.detail}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// Latency of the recent tests, oldest left; failed tests as red dots on the axis.
#[component]
fn LatencyChart(tests: Vec<TestResultDto>) -> impl IntoView {
    const W: f64 = 600.0;
    const H: f64 = 120.0;
    let points: Vec<&TestResultDto> = tests.iter().rev().collect();
    if points.is_empty() {
        return view! { <p class="muted">"No tests yet."</p> }.into_any();
    }
    let max = points
        .iter()
        .map(|t| t.latency_ms)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let step = if points.len() > 1 {
        W / (points.len() - 1) as f64
    } else {
        0.0
    };
    let xy = |i: usize, t: &TestResultDto| {
        (
            i as f64 * step,
            H - (t.latency_ms as f64 / max) * (H - 10.0) - 5.0,
        )
    };
    let line = points
        .iter()
        .enumerate()
        .filter(|(_, t)| t.success)
        .map(|(i, t)| {
            let (x, y) = xy(i, t);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let failures = points
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.success)
        .map(|(i, _)| view! { <circle cx=format!("{:.1}", i as f64 * step) cy=format!("{:.1}", H - 4.0) r="4" class="fail"/> })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("-6 0 {} {}", W + 12.0, H) role="img" aria-label="Test latency over time">
            <polyline points=line class="line"/>
            {failures}
        </svg>
        <p class="muted small">{format!("Peak {max:.0} ms over the last {} tests", points.len())}</p>
    }
    .into_any()
}

/// Settings and credential forms, for those who may change the connection.
#[component]
fn EditConnection(
    c: ConnectionDto,
    edit: ServerAction<UpdateConnection>,
    rekey: ServerAction<UpdateConnectionKey>,
    providers: Resource<Result<Vec<crate::dto::ProviderDto>, crate::error::AppError>>,
) -> impl IntoView {
    let id = StoredValue::new(c.id.clone());
    let name = RwSignal::new(c.name.clone());
    let description = RwSignal::new(c.description.clone());
    let endpoint = RwSignal::new(c.endpoint_url.clone());
    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let rpm = RwSignal::new(num(c.rate_limits.rpm));
    let tpm = RwSignal::new(num(c.rate_limits.tpm));
    let rpd = RwSignal::new(num(c.rate_limits.rpd));
    let prefer = RwSignal::new(c.prefer_score.to_string());
    let timeout = RwSignal::new(c.timeout_ms.to_string());
    let connect_timeout = RwSignal::new(num(c.connect_timeout_ms));
    let idle_timeout = RwSignal::new(num(c.idle_timeout_ms));
    let max_duration = RwSignal::new(num(c.max_duration_ms));
    let retries = RwSignal::new(c.max_retries.to_string());
    let fallback = RwSignal::new(c.allow_fallback);
    let secrets = RwSignal::new(BTreeMap::<String, String>::new());
    let provider_key = c.provider.key.clone();
    let saved = edit.value();
    // What the browser found wrong, by field; nothing is sent until it is empty.
    let invalid = RwSignal::new(BTreeMap::<&'static str, String>::new());

    let text = move |label: &'static str, field: &'static str, sig: RwSignal<String>| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input type="text" name=field
                    aria-invalid=move || invalid.with(|m| m.contains_key(field)).to_string()
                    prop:value=move || sig.get() on:input=move |ev| sig.set(event_target_value(&ev))/>
                {move || invalid.with(|m| m.get(field).cloned()).map(|msg| view! {
                    <p class="field-error" data-field=field>{msg}</p>
                })}
                <FieldError result=saved field=field/>
            </label>
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut errors = BTreeMap::new();
        let mut number = |field: &'static str, sig: RwSignal<String>, rule: NumberRule| match rule
            .parse(&sig.get_untracked())
        {
            Ok(v) => v,
            Err(msg) => {
                errors.insert(field, msg);
                None
            }
        };
        let rpm_v = number("rate_limit_rpm", rpm, NumberRule::OPTIONAL_COUNT);
        let tpm_v = number("rate_limit_tpm", tpm, NumberRule::OPTIONAL_COUNT);
        let rpd_v = number("rate_limit_rpd", rpd, NumberRule::OPTIONAL_COUNT);
        let prefer_v = number("prefer_score", prefer, NumberRule::PRIORITY);
        let timeout_v = number("timeout_ms", timeout, NumberRule::REQUIRED_COUNT);
        let connect_v = number(
            "connect_timeout_ms",
            connect_timeout,
            NumberRule::OPTIONAL_COUNT,
        );
        let idle_v = number("idle_timeout_ms", idle_timeout, NumberRule::OPTIONAL_COUNT);
        let max_v = number("max_duration_ms", max_duration, NumberRule::OPTIONAL_COUNT);
        let retries_v = number("max_retries", retries, NumberRule::REQUIRED_COUNT);
        let ok = errors.is_empty();
        invalid.set(errors);
        if !ok {
            edit.value().set(None);
            return;
        }
        let change = ConnectionUpdateDto {
            name: Some(name.get_untracked()),
            description: Some(description.get_untracked()),
            endpoint_url: Some(endpoint.get_untracked()),
            rate_limit_rpm: Some(rpm_v),
            rate_limit_tpm: Some(tpm_v),
            rate_limit_rpd: Some(rpd_v),
            prefer_score: prefer_v,
            timeout_ms: timeout_v,
            connect_timeout_ms: Some(connect_v),
            idle_timeout_ms: Some(idle_v),
            max_duration_ms: Some(max_v),
            max_retries: retries_v,
            allow_fallback: Some(fallback.get_untracked()),
            ..Default::default()
        };
        edit.dispatch(UpdateConnection {
            id: id.get_value(),
            change,
        });
    };
    view! {
        <section class="card" data-testid="edit-connection">
            <h2>"Edit settings"</h2>
            <form on:submit=submit novalidate>
                <div class="grid2">
                    {text("Name", "name", name)}
                    {text("Description", "description", description)}
                    {text("Endpoint URL", "endpoint_url", endpoint)}
                    {text("Requests per minute (empty = unlimited)", "rate_limit_rpm", rpm)}
                    {text("Tokens per minute (empty = unlimited)", "rate_limit_tpm", tpm)}
                    {text("Requests per day (empty = unlimited)", "rate_limit_rpd", rpd)}
                    {text("Priority (prefer score, -10000 to 10000)", "prefer_score", prefer)}
                    {text("Timeout: a whole answer, or a stream's start (ms)", "timeout_ms", timeout)}
                    {text("Connect timeout (ms; empty = the timeout)", "connect_timeout_ms", connect_timeout)}
                    {text("Longest pause in a stream (ms; empty = the timeout)", "idle_timeout_ms", idle_timeout)}
                    {text("Longest stream (ms; empty = no limit)", "max_duration_ms", max_duration)}
                    {text("Max retries", "max_retries", retries)}
                </div>
                <label class="checkbox">
                    <input type="checkbox" prop:checked=move || fallback.get() on:change=move |ev| fallback.set(event_target_checked(&ev))/>
                    "Allow fallback to other connections"
                </label>
                <FormError result=saved/>
                <button type="submit" class="primary" disabled=move || edit.pending().get()>
                    {move || if edit.pending().get() { "Saving…" } else { "Save settings" }}
                </button>
                {move || matches!(saved.get(), Some(Ok(_))).then(|| view! { <span class="ok" role="status">"Saved."</span> })}
                {move || (!invalid.with(|m| m.is_empty())).then(|| view! {
                    <span class="form-error" role="alert">"Nothing was saved: correct the fields marked above."</span>
                })}
            </form>
        </section>
        <section class="card">
            <h2>"Replace credentials"</h2>
            <p class="muted">"The connection keeps its id, models and settings. The old secret is not shown and cannot be recovered."</p>
            <Transition fallback=|| ()>
                {move || {
                    let provider_key = provider_key.clone();
                    Suspend::new(async move {
                        let fields = providers
                            .await
                            .unwrap_or_default()
                            .into_iter()
                            .find(|p| p.key == provider_key)
                            .map(|p| p.credential_fields)
                            .unwrap_or_default();
                        fields
                            .into_iter()
                            .map(|f| {
                                let field_name = f.name.clone();
                                view! {
                                    <label>
                                        {f.label}
                                        <input type="password" autocomplete="off" name=f.name.clone() on:input=move |ev| {
                                            let value = event_target_value(&ev);
                                            secrets.update(|m| {
                                                m.insert(field_name.clone(), value);
                                            });
                                        }/>
                                    </label>
                                }
                            })
                            .collect_view()
                    })
                }}
            </Transition>
            <FormError result=rekey.value()/>
            <button on:click=move |_| {
                rekey.dispatch(UpdateConnectionKey { id: id.get_value(), credentials: secrets.get_untracked() });
            }>"Replace credentials"</button>
            {move || matches!(rekey.value().get(), Some(Ok(_))).then(|| view! { <span class="ok">"Credentials replaced."</span> })}
        </section>
    }
}

/// The stream timeouts as the detail page shows them.
fn timeouts_label(connect: Option<i64>, idle: Option<i64>, max: Option<i64>) -> String {
    let ms =
        |v: Option<i64>, default: &str| v.map_or_else(|| default.to_owned(), |n| format!("{n} ms"));
    format!(
        "connect {}, pause {}, longest {}",
        ms(connect, "= timeout"),
        ms(idle, "= timeout"),
        ms(max, "no limit")
    )
}

// `Done` hands the action's own value, a `Vec`.
#[allow(clippy::ptr_arg)]
fn discovered(models: &Vec<crate::dto::ModelDto>) -> String {
    format!("Discovered {} models.", models.len())
}
