//! The create form: pick a provider, then its credential fields (masked) and settings,
//! name, limits, priority, timeout, retries and fallback. "Test" checks the credentials
//! before saving; "Save" (or Enter) saves and checks, so the list shows what the check
//! found. A number the browser cannot read is an error on its field and nothing is sent.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api::{list_orgs, CreateConnection as CreateConnectionFn, TestDraftConnection};
use crate::components::feedback::{FieldError, FormError};
use crate::dto::{FieldSpec, NewConnectionDto, OrgRole, ProviderDto};
use crate::Viewer;

use super::numbers::NumberRule;

/// The form's number fields: name, label, rule.
const NUMBERS: [(&str, &str, NumberRule); 6] = [
    (
        "rate_limit_rpm",
        "Requests per minute (empty = unlimited)",
        NumberRule::OPTIONAL_COUNT,
    ),
    (
        "rate_limit_tpm",
        "Tokens per minute (empty = unlimited)",
        NumberRule::OPTIONAL_COUNT,
    ),
    (
        "rate_limit_rpd",
        "Requests per day (daily quota; empty = unlimited)",
        NumberRule::OPTIONAL_COUNT,
    ),
    (
        "prefer_score",
        "Priority (prefer score)",
        NumberRule::OPTIONAL_PRIORITY,
    ),
    ("timeout_ms", "Timeout (ms)", NumberRule::OPTIONAL_COUNT),
    (
        "max_retries",
        "Retries on failure (0–10)",
        NumberRule::RETRIES,
    ),
];

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
    // The number fields' text, in `NUMBERS` order.
    let numbers: [RwSignal<String>; 6] = std::array::from_fn(|_| RwSignal::new(String::new()));
    // What the browser found wrong, by field.
    let invalid = RwSignal::new(BTreeMap::<&'static str, String>::new());
    let fallback = RwSignal::new(true);
    let scope = RwSignal::new("individual".to_owned());
    let organization = RwSignal::new(String::new());
    let credentials = RwSignal::new(BTreeMap::<String, String>::new());
    let config = RwSignal::new(BTreeMap::<String, String>::new());

    let selected = move || {
        let key = provider_key.get();
        providers.with_value(|list| list.iter().find(|p| p.key == key).cloned())
    };
    // The form as a request; `None` (and the fields' errors shown) when a number is wrong.
    let draft = move || {
        let mut errors = BTreeMap::new();
        let mut values = [None; 6];
        for (i, (field, _, rule)) in NUMBERS.iter().enumerate() {
            match rule.parse(&numbers[i].get_untracked()) {
                Ok(v) => values[i] = v,
                Err(msg) => {
                    errors.insert(*field, msg);
                }
            }
        }
        let ok = errors.is_empty();
        invalid.set(errors);
        let [rpm, tpm, rpd, prefer, timeout, retries] = values;
        ok.then(|| NewConnectionDto {
            provider: Some(provider_key.get_untracked()).filter(|k| !k.is_empty()),
            name: name.get_untracked(),
            description: Some(description.get_untracked()),
            credentials: Some(credentials.get_untracked()),
            endpoint_url: Some(endpoint.get_untracked()).filter(|e| !e.trim().is_empty()),
            config: Some(config.get_untracked()),
            rate_limit_rpm: rpm,
            rate_limit_tpm: tpm,
            rate_limit_rpd: rpd,
            prefer_score: prefer,
            timeout_ms: timeout,
            max_retries: retries,
            allow_fallback: Some(fallback.get_untracked()),
            scope: Some(scope.get_untracked()),
            organization: Some(organization.get_untracked()).filter(|o| !o.is_empty()),
            ..Default::default()
        })
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

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(req) = draft() {
            create.dispatch(CreateConnectionFn { req });
        }
    };

    view! {
        <section class="card" data-testid="create-connection">
            <h2>"Add a connection"</h2>
            <form on:submit=submit>
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
                {NUMBERS.iter().enumerate().map(|(i, (field, label, _))| {
                    let field: &'static str = field;
                    let sig = numbers[i];
                    let placeholder = match field {
                        "prefer_score" => "100 individual, 50 organization, 0 platform",
                        "timeout_ms" => "30000",
                        "max_retries" => "2",
                        _ => "",
                    };
                    view! {
                        <label class="field">
                            <span>{*label}</span>
                            <input type="text" inputmode="numeric" name=field placeholder=placeholder
                                aria-invalid=move || invalid.with(|m| m.contains_key(field)).to_string()
                                on:input=move |ev| sig.set(event_target_value(&ev))/>
                            {move || invalid.with(|m| m.get(field).cloned()).map(|msg| view! {
                                <p class="field-error" data-field=field>{msg}</p>
                            })}
                            <FieldError result=created field=field/>
                        </label>
                    }
                }).collect_view()}
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
                    if let Some(req) = draft() {
                        test.dispatch(TestDraftConnection { req });
                    }
                }>{move || if test.pending().get() { "Testing…" } else { "Test" }}</button>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Saving and checking…" } else { "Save connection" }}
                </button>
            </div>
            </form>
        </section>
    }
}
