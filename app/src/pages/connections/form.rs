//! The create form: pick a provider, then its credential fields (masked) and settings,
//! name, limits, priority and fallback. "Test" checks the credentials before saving.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api::{list_orgs, CreateConnection as CreateConnectionFn, TestDraftConnection};
use crate::components::feedback::{FieldError, FormError};
use crate::dto::{FieldSpec, NewConnectionDto, OrgRole, ProviderDto};
use crate::Viewer;

fn parse_opt(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

#[component]
pub fn CreateConnection(
    providers: Vec<ProviderDto>,
    on_created: impl Fn() + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let providers = StoredValue::new(providers);
    let provider_key = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let endpoint = RwSignal::new(String::new());
    let rpm = RwSignal::new(String::new());
    let tpm = RwSignal::new(String::new());
    let rpd = RwSignal::new(String::new());
    let prefer = RwSignal::new(String::new());
    let fallback = RwSignal::new(true);
    let scope = RwSignal::new("individual".to_owned());
    let organization = RwSignal::new(String::new());
    let credentials = RwSignal::new(BTreeMap::<String, String>::new());
    let config = RwSignal::new(BTreeMap::<String, String>::new());

    let selected = move || {
        let key = provider_key.get();
        providers.with_value(|list| list.iter().find(|p| p.key == key).cloned())
    };
    let draft = move || NewConnectionDto {
        provider: Some(provider_key.get_untracked()).filter(|k| !k.is_empty()),
        name: name.get_untracked(),
        description: Some(description.get_untracked()),
        credentials: Some(credentials.get_untracked()),
        endpoint_url: Some(endpoint.get_untracked()).filter(|e| !e.trim().is_empty()),
        config: Some(config.get_untracked()),
        rate_limit_rpm: parse_opt(&rpm.get_untracked()),
        rate_limit_tpm: parse_opt(&tpm.get_untracked()),
        rate_limit_rpd: parse_opt(&rpd.get_untracked()),
        prefer_score: parse_opt(&prefer.get_untracked()),
        allow_fallback: Some(fallback.get_untracked()),
        scope: Some(scope.get_untracked()),
        organization: Some(organization.get_untracked()).filter(|o| !o.is_empty()),
        ..Default::default()
    };

    let test = ServerAction::<TestDraftConnection>::new();
    let create = ServerAction::<CreateConnectionFn>::new();
    let created = create.value();
    Effect::new(move |_| {
        if let Some(Ok(_)) = created.get() {
            on_created();
        }
    });
    let admin_orgs = Resource::new(|| (), |_| list_orgs());
    let admin = Viewer::current().is_admin();
    let is_admin = move || admin;

    let field_input = move |spec: FieldSpec, secret: bool| {
        let target = if secret { credentials } else { config };
        let field_name = spec.name.clone();
        let label = format!(
            "{}{}",
            spec.label,
            if spec.required { "" } else { " (optional)" }
        );
        view! {
            <label>
                {label}
                <input
                    type=if secret { "password" } else { "text" }
                    name=spec.name.clone()
                    autocomplete="off"
                    placeholder=spec.placeholder.clone().or(spec.default.clone()).unwrap_or_default()
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        target.update(|m| {
                            m.insert(field_name.clone(), value);
                        });
                    }
                />
            </label>
        }
    };

    view! {
        <section class="card" data-testid="create-connection">
            <h2>"Add a connection"</h2>
            <label>
                "Provider"
                <select
                    name="provider"
                    on:change=move |ev| {
                        provider_key.set(event_target_value(&ev));
                        credentials.set(BTreeMap::new());
                        config.set(BTreeMap::new());
                    }
                >
                    <option value="">"Choose a provider…"</option>
                    {providers
                        .get_value()
                        .into_iter()
                        .map(|p| view! { <option value=p.key.clone()>{p.name}</option> })
                        .collect_view()}
                </select>
            </label>
            <FieldError result=created field="provider"/>
            {move || {
                selected()
                    .map(|p| {
                        let default_url = if p.base_url.is_empty() {
                            "required for this provider".to_owned()
                        } else {
                            p.base_url.clone()
                        };
                        view! {
                            <div class="grid2">
                                {p.credential_fields.into_iter().map(|f| field_input(f, true)).collect_view()}
                                {p.config_fields.into_iter().map(|f| field_input(f, false)).collect_view()}
                                <label>
                                    "Base URL"
                                    <input
                                        type="url"
                                        name="endpoint_url"
                                        placeholder=default_url
                                        on:input=move |ev| endpoint.set(event_target_value(&ev))
                                    />
                                </label>
                            </div>
                        }
                    })
            }}
            <div class="grid2">
                <label>
                    "Name"
                    <input type="text" name="name" placeholder="OpenAI Production" on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Description (optional)"
                    <input type="text" name="description" on:input=move |ev| description.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Requests per minute (empty = unlimited)"
                    <input type="number" min="1" name="rate_limit_rpm" on:input=move |ev| rpm.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Tokens per minute (empty = unlimited)"
                    <input type="number" min="1" name="rate_limit_tpm" on:input=move |ev| tpm.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Requests per day (daily quota; empty = unlimited)"
                    <input type="number" min="1" name="rate_limit_rpd" on:input=move |ev| rpd.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Priority (prefer score)"
                    <input type="number" name="prefer_score" placeholder="100 individual, 50 organization, 0 platform" on:input=move |ev| prefer.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Owner"
                    <select name="scope" on:change=move |ev| scope.set(event_target_value(&ev))>
                        <option value="individual">"Just me"</option>
                        <option value="organization">"An organization"</option>
                        <Show when=is_admin>
                            <option value="platform">"The platform (everyone)"</option>
                        </Show>
                    </select>
                </label>
                <Show when=move || scope.get() == "organization">
                    <label>
                        "Organization"
                        <select name="organization" on:change=move |ev| organization.set(event_target_value(&ev))>
                            <option value="">"Choose…"</option>
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    admin_orgs
                                        .await
                                        .unwrap_or_default()
                                        .into_iter()
                                        .filter(|o| o.role == OrgRole::Admin)
                                        .map(|o| view! { <option value=o.handle.clone()>{o.name}</option> })
                                        .collect_view()
                                })}
                            </Transition>
                        </select>
                    </label>
                </Show>
            </div>
            <label class="checkbox">
                <input type="checkbox" prop:checked=move || fallback.get() on:change=move |ev| fallback.set(event_target_checked(&ev))/>
                "Allow fallback to other connections when this one fails"
            </label>
            <FieldError result=created field="name"/>
            <FieldError result=created field="endpoint_url"/>
            <FormError result=created/>
            <FormError result=test.value()/>
            {move || {
                test.value()
                    .get()
                    .and_then(|r| r.ok())
                    .map(|t| {
                        view! {
                            <p class=if t.success { "ok" } else { "form-error" } data-testid="draft-test">
                                {if t.success {
                                    format!("Works: {} ms, {} models.", t.latency_ms, t.model_count.unwrap_or(0))
                                } else {
                                    format!("Failed: {}", t.error.unwrap_or_default())
                                }}
                            </p>
                        }
                    })
            }}
            <div class="row">
                <button type="button" disabled=move || test.pending().get() on:click=move |_| {
                    test.dispatch(TestDraftConnection { req: draft() });
                }>"Test"</button>
                <button type="button" class="primary" disabled=move || create.pending().get() on:click=move |_| {
                    create.dispatch(CreateConnectionFn { req: draft() });
                }>"Save connection"</button>
            </div>
        </section>
    }
}
