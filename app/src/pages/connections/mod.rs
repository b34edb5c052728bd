//! The Connections page: list with filters and row actions, the create form, and the
//! detail view with models, test history and audit trail.

mod detail;
mod form;
mod numbers;

pub use detail::ConnectionDetailPage;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{
    list_connections, list_providers, DeleteConnection, TestConnection, UpdateConnection,
    UpdateConnectionKey,
};
use crate::components::feedback::{Done, FormError};
use crate::dto::{ConnectionDto, ConnectionUpdateDto, FieldSpec, ProviderDto};
use form::CreateConnection;

/// Status chip colours: green active, grey inactive, red error, amber rate-limited.
pub fn status_chip(status: &str) -> impl IntoView {
    let colour = match status {
        "active" => "green",
        "inactive" => "grey",
        "rate_limited" => "amber",
        _ => "red",
    };
    let label = status.replace('_', "-");
    view! { <span class=format!("chip {colour}") data-status=status.to_owned()>{label}</span> }
}

pub fn gateway_label(t: i64) -> &'static str {
    if t == 3 {
        "Self-hosted"
    } else {
        "Cloud"
    }
}

/// A connection's last 24 hours in a few words: requests, errors, median latency.
pub fn last_day_label(day: &Option<crate::dto::ConnectionDayDto>) -> String {
    match day {
        None => "no requests".into(),
        Some(d) => format!(
            "{} req · {} err{}",
            d.requests,
            d.errors,
            d.p50_ms
                .map(|p| format!(" · p50 {p:.0} ms"))
                .unwrap_or_default()
        ),
    }
}

/// The "Used by" cell: what routes through the connection, or a dash.
pub fn used_by_label(used_by: &[String]) -> String {
    if used_by.is_empty() {
        "—".into()
    } else {
        used_by.join(", ")
    }
}

/// The delete confirmation: what goes with the connection and what will stop reaching it.
fn delete_message(name: &str, models: i64, used_by: &[String]) -> String {
    let users = match used_by {
        [] => "Nothing you can see routes through it.".to_owned(),
        [one] => format!("{one} routes through it and will no longer reach it."),
        many => format!(
            "{} route through it and will no longer reach it.",
            many.join(", ")
        ),
    };
    format!("Delete connection \"{name}\"? Its {models} models will be removed with it. {users}")
}

pub fn when(ts: &Option<String>) -> String {
    ts.as_deref()
        .map(crate::pages::settings::short_time)
        .unwrap_or_else(|| "never".into())
}

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let test = ServerAction::<TestConnection>::new();
    let update = ServerAction::<UpdateConnection>::new();
    let rotate = ServerAction::<UpdateConnectionKey>::new();
    let delete = ServerAction::<DeleteConnection>::new();
    let created = RwSignal::new(0u32);
    let shown = StoredValue::new(None::<Vec<ConnectionDto>>);
    let connections = Resource::new(
        move || {
            (
                created.get(),
                test.version().get(),
                update.version().get(),
                rotate.version().get(),
                delete.version().get(),
            )
        },
        |_| list_connections(),
    );
    let providers = Resource::new(|| (), |_| list_providers());
    let show_form = RwSignal::new(false);

    let provider_filter = RwSignal::new(String::new());
    let status_filter = RwSignal::new(String::new());
    let scope_filter = RwSignal::new(String::new());
    let gateway_filter = RwSignal::new(String::new());
    let keep = move |c: &ConnectionDto| {
        let p = provider_filter.get();
        let s = status_filter.get();
        let sc = scope_filter.get();
        let g = gateway_filter.get();
        (p.is_empty() || c.provider.key == p)
            && (s.is_empty() || c.status == s)
            && (sc.is_empty() || c.scope == sc)
            && (g.is_empty() || c.gateway_type.to_string() == g)
    };

    view! {
        <header class="page-header row spread">
            <div>
                <h1>"Connections"</h1>
                <p class="muted">
                    "Your provider credentials, stored once, encrypted, and used by every request you route."
                </p>
                <p class="muted small">
                    "Models behind a firewall? "
                    <A href="/gateways">"Gateways"</A>
                    " relay them through an agent that dials out."
                </p>
            </div>
            <button class="primary" on:click=move |_| show_form.update(|v| *v = !*v)>
                {move || if show_form.get() { "Close" } else { "Add connection" }}
            </button>
        </header>
        <Show when=move || show_form.get()>
            <Transition fallback=|| view! { <p class="muted">"Loading providers…"</p> }>
                {move || Suspend::new(async move {
                    match providers.await {
                        Ok(list) => {
                            view! {
                                <CreateConnection
                                    providers=list
                                    on_created=move || {
                                        created.update(|v| *v += 1);
                                        show_form.set(false);
                                    }
                                />
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </Show>
        <section class="card">
            <div class="row filters">
                <label>
                    "Provider"
                    <select on:change=move |ev| provider_filter.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                providers
                                    .await
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|p: ProviderDto| view! { <option value=p.key.clone()>{p.name}</option> })
                                    .collect_view()
                            })}
                        </Transition>
                    </select>
                </label>
                <label>
                    "Status"
                    <select on:change=move |ev| status_filter.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        <option value="active">"active"</option>
                        <option value="inactive">"inactive"</option>
                        <option value="error">"error"</option>
                        <option value="rate_limited">"rate-limited"</option>
                    </select>
                </label>
                <label>
                    "Scope"
                    <select on:change=move |ev| scope_filter.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        <option value="individual">"individual"</option>
                        <option value="organization">"organization"</option>
                        <option value="platform">"platform"</option>
                    </select>
                </label>
                <label>
                    "Gateway"
                    <select on:change=move |ev| gateway_filter.set(event_target_value(&ev))>
                        <option value="">"All"</option>
                        <option value="2">"Cloud"</option>
                        <option value="3">"Self-hosted"</option>
                    </select>
                </label>
            </div>
            <FormError result=test.value()/>
            <FormError result=update.value()/>
            <FormError result=rotate.value()/>
            <Done result=rotate.value() message={|_| "Credentials updated.".to_owned()}/>
            <Done result=delete.value() message={|_| "Connection deleted.".to_owned()}/>
            <Done result=update.value() message={saved}/>
            <FormError result=delete.value()/>
            {move || {
                // While a test runs, say so instead of showing the previous result.
                if test.input().get().is_some() {
                    return Some(view! {
                        <p class="muted" role="status" data-testid="test-result">"Testing the connection…"</p>
                    }.into_any());
                }
                test.value()
                    .get()
                    .and_then(|r| r.ok())
                    .map(|t| {
                        view! {
                            <p class=if t.success { "ok" } else { "form-error" } role="status" data-testid="test-result">
                                {if t.success {
                                    format!(
                                        "Test passed in {} ms{}",
                                        t.latency_ms,
                                        t.model_count.map(|n| format!(", {n} models available")).unwrap_or_default(),
                                    )
                                } else {
                                    format!("Test failed: {}", t.error.unwrap_or_default())
                                }}
                            </p>
                        }.into_any()
                    })
            }}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    // A refresh that fails (offline, a restart) says so and keeps the
                    // table that was on screen.
                    let (list, failed) = match connections.await {
                        Ok(list) => {
                            shown.set_value(Some(list.clone()));
                            (Some(list), None)
                        }
                        Err(e) => (shown.get_value(), Some(e.message)),
                    };
                    let failed = failed.map(|msg| view! {
                        <p class="form-error" role="alert" data-testid="refresh-failed">
                            {format!("Could not refresh the list: {msg}")}
                        </p>
                    });
                    // Each row's "Update credentials" asks for its provider's own fields
                    // (Bedrock's are an access key pair, not an API key).
                    let catalogue = providers.await.unwrap_or_default();
                    let fields_of = move |key: &str| {
                        catalogue
                            .iter()
                            .find(|p| p.key == key)
                            .map(|p| p.credential_fields.clone())
                            .filter(|f| !f.is_empty())
                            .unwrap_or_else(|| vec![FieldSpec {
                                name: "api_key".into(),
                                label: "API key".into(),
                                required: true,
                                placeholder: None,
                                default: None,
                            }])
                    };
                    let body = match list {
                        None => None,
                        Some(list) if list.is_empty() => Some(view! {
                            <p class="empty-state">
                                "No connections yet. Add one to store a provider key once and route requests through it."
                            </p>
                        }.into_any()),
                        Some(list) => Some(view! {
                            <table class="table" data-testid="connections">
                                <thead>
                                    <tr>
                                        <th>"Name"</th>
                                        <th>"Provider"</th>
                                        <th>"Status"</th>
                                        <th>"Gateway"</th>
                                        <th>"Scope"</th>
                                        <th>"Models"</th>
                                        <th>"Last 24 h"</th>
                                        <th>"Used by"</th>
                                        <th>"Last check"</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|c| {
                                            let visible = c.clone();
                                            let fields = fields_of(&c.provider.key);
                                            view! {
                                                <Show when=move || keep(&visible)>
                                                    <Row c=c.clone() fields=fields.clone() test update rotate delete/>
                                                </Show>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        }.into_any()),
                    };
                    view! { {failed} {body} }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Row(
    c: ConnectionDto,
    /// The provider's credential fields.
    fields: Vec<FieldSpec>,
    test: ServerAction<TestConnection>,
    update: ServerAction<UpdateConnection>,
    rotate: ServerAction<UpdateConnectionKey>,
    delete: ServerAction<DeleteConnection>,
) -> impl IntoView {
    let id = StoredValue::new(c.id.clone());
    let name = StoredValue::new(c.name.clone());
    let models = c.model_count;
    let used_by = StoredValue::new(c.used_by.clone());
    let active = c.status != "inactive";
    let can_edit = c.can_edit;
    let rotating = RwSignal::new(false);
    let new_credentials = RwSignal::new(std::collections::BTreeMap::<String, String>::new());
    let fields = StoredValue::new(fields);
    let link_text = c.name.clone();
    view! {
        <tr data-connection=c.name.clone()>
            <td>
                <A href=format!("/connections/{}", c.id)>{link_text}</A>
                <div class="muted small">{c.credential_mask.clone()}</div>
            </td>
            <td>{c.provider.name.clone()}</td>
            <td>
                {status_chip(&c.status)}
                {c.warning.clone().map(|w| view! {
                    " "<span class="chip yellow" title=w.clone() data-testid="warning">"warning"</span>
                    <div class="muted small">{w}</div>
                })}
            </td>
            <td>{gateway_label(c.gateway_type)}</td>
            <td>{c.scope.clone()}</td>
            <td data-testid="model-count">{c.model_count}</td>
            <td class="small" data-testid="last-day">{last_day_label(&c.last_day)}</td>
            <td class="small" data-testid="used-by">{used_by_label(&c.used_by)}</td>
            <td>{when(&c.last_health_check_at)}</td>
            <td class="actions">
                <button class="small" disabled=move || test.pending().get() on:click=move |_| {
                    test.dispatch(TestConnection { id: id.get_value() });
                }>
                    {move || if test.input().get().is_some_and(|t| t.id == id.get_value()) { "Testing…" } else { "Test" }}
                </button>
                <Show when=move || can_edit>
                    <A href=format!("/connections/{}", id.get_value()) attr:class="button small">"Edit"</A>
                    <button class="small" on:click=move |_| rotating.update(|r| *r = !*r)>"Update credentials"</button>
                    <button
                        class="small"
                        on:click=move |_| {
                            update.dispatch(UpdateConnection {
                                id: id.get_value(),
                                change: ConnectionUpdateDto {
                                    status: Some(if active { "inactive" } else { "active" }.into()),
                                    ..Default::default()
                                },
                            });
                        }
                    >
                        {if active { "Disable" } else { "Enable" }}
                    </button>
                    <button
                        class="danger small"
                        on:click=move |_| {
                            let message = delete_message(&name.get_value(), models, &used_by.get_value());
                            if window().confirm_with_message(&message).unwrap_or(false) {
                                delete.dispatch(DeleteConnection { id: id.get_value() });
                            }
                        }
                    >
                        "Delete"
                    </button>
                </Show>
            </td>
        </tr>
        <Show when=move || rotating.get()>
            <tr class="inline-form">
                <td colspan="10">
                    <form class="row" on:submit=move |ev| {
                        ev.prevent_default();
                        rotate.dispatch(UpdateConnectionKey {
                            id: id.get_value(),
                            credentials: new_credentials.get_untracked(),
                        });
                        new_credentials.set(Default::default());
                        rotating.set(false);
                    }>
                        {fields.get_value().into_iter().map(|f| {
                            let name = f.name.clone();
                            let shown = f.name.clone();
                            view! {
                                <label>
                                    {format!("New {}", f.label)}
                                    <input
                                        type="password"
                                        autocomplete="off"
                                        name=f.name.clone()
                                        required=f.required
                                        prop:value=move || new_credentials.with(|m| m.get(&shown).cloned().unwrap_or_default())
                                        on:input=move |ev| {
                                            let value = event_target_value(&ev);
                                            new_credentials.update(|m| {
                                                m.insert(name.clone(), value);
                                            });
                                        }
                                    />
                                </label>
                            }
                        }).collect_view()}
                        <button type="submit" class="primary">"Update"</button>
                    </form>
                </td>
            </tr>
        </Show>
    }
}

fn saved(c: &ConnectionDto) -> String {
    format!("{} is now {}.", c.name, c.status)
}
