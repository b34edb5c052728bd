use leptos::prelude::*;

use super::short_time;
use crate::api::{list_api_keys, my_budgets, CreateApiKey, RevokeApiKey};
use crate::components::feedback::{Done, FieldError, FormError};
use crate::components::spend::spend_bar;
use crate::dto::{ApiKeyDto, BudgetDto, CreatedApiKeyDto};

#[component]
pub fn ApiKeysTab() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let created = create.value();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );

    view! {
        <BudgetsLimitingYou/>
        <section class="card">
            <h2>"Create an API key"</h2>
            <p class="muted">
                "Applications send it as "<code>"Authorization: Bearer sk-langmart-…"</code>
                ". It is shown once; LangMart keeps only a digest."
            </p>
            <ActionForm action=create>
                <div class="row">
                    <label>
                        "Name" <input type="text" name="name" required placeholder="e.g. production"/>
                    </label>
                    <label>
                        "Expires"
                        <select name="lifetime">
                            <option value="never" selected>"never"</option>
                            <option value="7">"in 7 days"</option>
                            <option value="30">"in 30 days"</option>
                            <option value="90">"in 90 days"</option>
                            <option value="365">"in a year"</option>
                        </select>
                    </label>
                    <button type="submit" class="primary" disabled=move || create.pending().get()>
                        "Create key"
                    </button>
                </div>
                <fieldset class="row scopes">
                    <legend>"Scopes"</legend>
                    <label class="checkbox">
                        <input type="checkbox" name="inference" checked/>
                        "inference — call models ("<code>"/v1"</code>")"
                    </label>
                    <label class="checkbox">
                        <input type="checkbox" name="manage" checked/>
                        "manage — keys, connections, collections, organizations ("<code>"/api"</code>")"
                    </label>
                </fieldset>
                <fieldset class="row limits">
                    <legend>"Limits (optional)"</legend>
                    <label>
                        "Allowed models"
                        <input type="text" name="models" placeholder="e.g. openai/*, collection/*"/>
                    </label>
                    <label>
                        "Requests / min" <input type="number" min="1" name="rate_limit_rpm"/>
                    </label>
                    <label>
                        "Tokens / min" <input type="number" min="1" name="rate_limit_tpm"/>
                    </label>
                    <label>
                        "Budget (USD)" <input type="number" min="0" step="any" name="budget_usd"/>
                    </label>
                    <label>
                        "per"
                        <select name="budget_period">
                            <option value="day">"day"</option>
                            <option value="week">"week"</option>
                            <option value="month" selected>"month"</option>
                            <option value="total">"total"</option>
                        </select>
                    </label>
                    <label title="Output tokens a budget reserves for a request that sets no max_tokens (default 4096)">
                        "Default max tokens" <input type="number" min="1" name="default_max_tokens"/>
                    </label>
                </fieldset>
                <FieldError result=created field="name"/>
                <FieldError result=created field="scopes"/>
                <FieldError result=created field="models"/>
                <FieldError result=created field="rate_limit_rpm"/>
                <FieldError result=created field="rate_limit_tpm"/>
                <FieldError result=created field="budget"/>
                <FieldError result=created field="default_max_tokens"/>
                <FormError result=created/>
            </ActionForm>
            {move || created.get().and_then(|r| r.ok()).map(|created| view! { <NewKey created/> })}
        </section>
        <FormError result=revoke.value()/>
        <Done result=revoke.value() message={|_| "Key revoked.".to_owned()}/>
        <section class="card">
            <h2>"Your keys"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! { <p class="muted">"No keys yet."</p> }.into_any()
                        }
                        Ok(list) => {
                            view! {
                                <table class="table" data-testid="api-keys">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Key"</th>
                                            <th>"Scopes"</th>
                                            <th>"Limits"</th>
                                            <th>"Spend"</th>
                                            <th>"Created"</th>
                                            <th>"Expires"</th>
                                            <th>"Last used"</th>
                                            <th>"Status"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|key| {
                                                let id = key.id.clone();
                                                let key_name = StoredValue::new(key.name.clone());
                                                let revoked = key.revoked_at.is_some();
                                                let expired = !revoked && key.expired;
                                                let limits = limits_text(&key);
                                                let spend = spend_view(&key);
                                                view! {
                                                    <tr>
                                                        <td>{key.name}</td>
                                                        <td><code>{key.prefix}"…"</code></td>
                                                        <td>
                                                            {key
                                                                .scopes
                                                                .iter()
                                                                .map(|s| view! { <span class="chip">{s.as_str()}</span> })
                                                                .collect_view()}
                                                            {key
                                                                .parent_key_id
                                                                .is_some()
                                                                .then(|| view! { <span class="muted" title="Made with another API key; revoked with it">" (made with a key)"</span> })}
                                                        </td>
                                                        <td>{limits}</td>
                                                        <td>{spend}</td>
                                                        <td>{short_time(&key.created_at)}</td>
                                                        <td>
                                                            {key
                                                                .expires_at
                                                                .map(|t| short_time(&t))
                                                                .unwrap_or_else(|| "never".into())}
                                                        </td>
                                                        <td>
                                                            {key
                                                                .last_used_at
                                                                .map(|t| short_time(&t))
                                                                .unwrap_or_else(|| "never".into())}
                                                        </td>
                                                        <td>
                                                            {if revoked {
                                                                view! { <span class="chip grey">"revoked"</span> }
                                                            } else if expired {
                                                                view! { <span class="chip grey">"expired"</span> }
                                                            } else {
                                                                view! { <span class="chip green">"active"</span> }
                                                            }}
                                                        </td>
                                                        <td>
                                                            <button
                                                                class="danger small"
                                                                disabled=revoked
                                                                on:click=move |_| {
                                                                    let message = format!(
                                                                        "Revoke the key \"{}\"? Clients using it, and every key made with it, stop working at once. This cannot be undone.",
                                                                        key_name.get_value()
                                                                    );
                                                                    if window().confirm_with_message(&message).unwrap_or(false) {
                                                                        revoke.dispatch(RevokeApiKey { id: id.clone() });
                                                                    }
                                                                }
                                                            >
                                                                "Revoke"
                                                            </button>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// The one time a key is visible, with a copy button.
#[component]
fn NewKey(created: CreatedApiKeyDto) -> impl IntoView {
    let copied = RwSignal::new(false);
    let key = created.key.clone();
    view! {
        <div class="new-key" role="status">
            <p>
                <strong>"Copy your new key now."</strong>
                " It will not be shown again."
            </p>
            <div class="row">
                <code class="secret" data-testid="new-api-key">{created.key}</code>
                <button
                    type="button"
                    on:click=move |_| {
                        let clipboard = window().navigator().clipboard();
                        let _ = clipboard.write_text(&key);
                        copied.set(true);
                    }
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}

/// A key's own limits in a line: its models, and its rates.
fn limits_text(key: &ApiKeyDto) -> String {
    let mut parts = Vec::new();
    if let Some(models) = &key.policy.models {
        parts.push(models.join(", "));
    }
    if let Some(rpm) = key.policy.rate_limit_rpm {
        parts.push(format!("{rpm} req/min"));
    }
    if let Some(tpm) = key.policy.rate_limit_tpm {
        parts.push(format!("{tpm} tok/min"));
    }
    if parts.is_empty() {
        "—".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// Spend against the budget as a bar (amber from 80%), or what was spent.
fn spend_view(key: &ApiKeyDto) -> AnyView {
    match &key.policy.budget {
        Some(budget) => spend_bar(key.spent_usd.unwrap_or(0.0), budget, "key-spend"),
        None => view! { <span class="muted">"no budget"</span> }.into_any(),
    }
}

/// The budgets of people and organizations that limit the signed-in user (hidden when
/// there are none): set by a platform admin or an organization's admins.
#[component]
fn BudgetsLimitingYou() -> impl IntoView {
    let budgets = Resource::new(|| (), |_| my_budgets());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = budgets.await.unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <section class="card" data-testid="my-budgets">
                        <h2>"Budgets that limit you"</h2>
                        <p class="muted">"Requests past one of these are refused with 402 until it resets; your keys' own budgets are below."</p>
                        <table class="table">
                            <thead><tr><th>"Whose"</th><th>"Spent"</th><th>"Resets"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|b| {
                                    let whose = match b.scope.as_str() {
                                        "user" => "yours (set by a platform admin)".to_owned(),
                                        "organization" => format!("@{} in all", b.owner),
                                        _ => format!("yours in @{}", b.owner),
                                    };
                                    let budget = BudgetDto { usd: b.usd, period: b.period.clone() };
                                    view! {
                                        <tr data-budget=b.scope.clone()>
                                            <td>{whose}</td>
                                            <td>{spend_bar(b.spent_usd, &budget, "budget-spend")}</td>
                                            <td>{b.resets_at.as_deref().map(short_time).unwrap_or_else(|| "never".into())}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                })
            })}
        </Transition>
    }
}
