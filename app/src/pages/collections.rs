//! Model Collections: the list (own, organizations', system), the create/edit form with
//! an ordered member list picked from reachable models, the "Try it" panel (explain and a
//! test prompt), model aliases (fixed names agents ask for, mapped to any reference), and
//! model prices for cost-optimized routing.

use leptos::prelude::*;

use crate::api::{
    list_aliases, list_collections, list_orgs, list_prices, reachable_models, DeleteAlias,
    DeleteCollection, ExplainModel, SaveAlias, SaveCollection, SetPrice, TryModel,
};
use crate::components::explain::ExplainTable;
use crate::components::feedback::{FieldError, FormError};
use crate::dto::{
    AliasInputDto, CollectionDto, CollectionInputDto, CollectionMemberDto, MemberInput, OrgRole,
    PriceDto, ReachableModelDto, STRATEGIES,
};
use crate::Viewer;

/// What the form edits: a new collection or a copy of an existing one.
#[derive(Debug, Clone, Default, PartialEq)]
struct Draft {
    id: Option<String>,
    name: String,
    description: String,
    strategy: String,
    members: Vec<CollectionMemberDto>,
    dynamic: bool,
    max_price_usd: Option<f64>,
}

impl Draft {
    fn from_dto(c: &CollectionDto) -> Self {
        Draft {
            id: Some(c.id.clone()),
            name: c.name.clone(),
            description: c.description.clone(),
            strategy: c.strategy.clone(),
            members: c.models.clone(),
            dynamic: c.dynamic,
            max_price_usd: c.max_price_usd,
        }
    }
}

fn strategy_label(s: &str) -> String {
    s.replace('_', " ")
}

fn is_admin() -> bool {
    Viewer::current().is_admin()
}

#[component]
pub fn CollectionsPage() -> impl IntoView {
    let save = ServerAction::<SaveCollection>::new();
    let delete = ServerAction::<DeleteCollection>::new();
    let collections = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_collections(),
    );
    // Made with the page: a resource created inside a suspended render can hang SSR.
    let reachable = Resource::new(|| (), |_| reachable_models());
    let orgs = Resource::new(|| (), |_| list_orgs());
    let editing = RwSignal::new(None::<Draft>);
    let try_target = RwSignal::new(String::new());
    let open = move |draft: Draft| {
        save.value().set(None);
        editing.set(Some(draft));
    };
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            editing.set(None);
            try_target.set(saved.reference);
        }
    });

    view! {
        <header class="page-header row spread">
            <div>
                <h1>"Model Collections"</h1>
                <p class="muted">
                    "Named, ordered groups of models with a routing strategy. Call one with "
                    <code>"collection/NAME"</code>" or, for system collections, "<code>"auto(NAME)"</code>"."
                </p>
            </div>
            <button class="primary" on:click=move |_| {
                open(Draft { strategy: "fallback".into(), ..Default::default() })
            }>"Create collection"</button>
        </header>
        {move || editing.get().map(|draft| view! {
            <CollectionForm draft save reachable orgs on_close=move || editing.set(None)/>
        })}
        <section class="card">
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match collections.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="collections">
                                <thead><tr><th>"Collection"</th><th>"Owner"</th><th>"Strategy"</th><th>"Members"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|c| {
                                        let draft = Draft::from_dto(&c);
                                        let id = c.id.clone();
                                        let reference = c.reference.clone();
                                        let members = if c.dynamic {
                                            format!("free providers' models{}", if c.models.is_empty() { String::new() } else { format!(" + {}", c.models.len()) })
                                        } else {
                                            c.models.len().to_string()
                                        };
                                        let deletable = c.can_edit && !c.dynamic;
                                        let confirm_name = c.name.clone();
                                        view! {
                                            <tr data-collection=c.name.clone()>
                                                <td>
                                                    <strong>{c.name.clone()}</strong>
                                                    <div><code>{c.reference.clone()}</code></div>
                                                    <div class="muted small">{c.description.clone()}</div>
                                                </td>
                                                <td>{format!("{} ({})", c.owner.handle, c.owner.kind)}</td>
                                                <td>{strategy_label(&c.strategy)}</td>
                                                <td data-testid="member-count">{members}</td>
                                                <td class="actions">
                                                    <button on:click=move |_| try_target.set(reference.clone())>"Try"</button>
                                                    <Show when=move || c.can_edit>
                                                        {
                                                            let draft = draft.clone();
                                                            view! { <button on:click=move |_| open(draft.clone())>"Edit"</button> }
                                                        }
                                                    </Show>
                                                    <Show when=move || deletable>
                                                        {
                                                            let id = id.clone();
                                                            let name = confirm_name.clone();
                                                            view! {
                                                                <button class="danger" on:click=move |_| {
                                                                    let sure = window()
                                                                        .confirm_with_message(&format!("Delete collection {name}? Requests naming it will fail."))
                                                                        .unwrap_or(false);
                                                                    if sure {
                                                                        delete.dispatch(DeleteCollection { id: id.clone() });
                                                                    }
                                                                }>"Delete"</button>
                                                            }
                                                        }
                                                    </Show>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <FormError result=delete.value()/>
        </section>
        <TryPanel target=try_target collections/>
        <Aliases orgs/>
        <Prices/>
    }
}

/// Aliases: names agents ask for (`claude-*`, `gpt-5-codex`) mapped to a model reference.
#[component]
fn Aliases(
    orgs: Resource<Result<Vec<crate::dto::OrgDto>, crate::error::AppError>>,
) -> impl IntoView {
    let save = ServerAction::<SaveAlias>::new();
    let delete = ServerAction::<DeleteAlias>::new();
    let aliases = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_aliases(),
    );
    let name = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let saved = save.value();
    Effect::new(move |_| {
        if let Some(Ok(_)) = saved.get() {
            name.set(String::new());
            target.set(String::new());
            description.set(String::new());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let org = owner.get_untracked();
        save.dispatch(SaveAlias {
            id: None,
            input: AliasInputDto {
                name: name.get_untracked(),
                target: target.get_untracked(),
                description: Some(description.get_untracked()),
                scope: Some(
                    if org.is_empty() {
                        "individual"
                    } else {
                        "organization"
                    }
                    .to_owned(),
                ),
                organization: (!org.is_empty()).then_some(org),
            },
        });
    };
    view! {
        <section class="card" data-testid="aliases">
            <h2>"Aliases"</h2>
            <p class="muted">
                "Coding agents ask for fixed model names (Claude Code for "<code>"claude-opus-…"</code>", Codex for "
                <code>"gpt-5-codex"</code>"). An alias maps such a name — or a pattern with "<code>"*"</code>
                " — to any model reference. Yours come before your organizations'; an exact name before a pattern."
            </p>
            <form class="stack" on:submit=submit>
                <div class="grid2">
                    <label>
                        "Name or pattern"
                        <input type="text" name="alias-name" placeholder="claude-*" required prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))/>
                    </label>
                    <label>
                        "Routes to"
                        <input type="text" name="alias-target" placeholder="collection/coding" required prop:value=move || target.get()
                            on:input=move |ev| target.set(event_target_value(&ev))/>
                    </label>
                </div>
                <FieldError result=saved field="name"/>
                <FieldError result=saved field="target"/>
                <div class="grid2">
                    <label>
                        "Description (optional)"
                        <input type="text" name="alias-description" prop:value=move || description.get()
                            on:input=move |ev| description.set(event_target_value(&ev))/>
                    </label>
                    <label>
                        "Owner"
                        <select name="alias-owner" on:change=move |ev| owner.set(event_target_value(&ev))>
                            <option value="">"Me"</option>
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    orgs.await.unwrap_or_default().into_iter()
                                        .filter(|o| o.role == OrgRole::Admin)
                                        .map(|o| view! { <option value=o.handle.clone()>{o.name.clone()}</option> })
                                        .collect_view()
                                })}
                            </Transition>
                        </select>
                    </label>
                </div>
                <FieldError result=saved field="organization"/>
                <FormError result=saved/>
                <div class="row">
                    <button class="primary" type="submit" prop:disabled=move || save.pending().get()>"Add alias"</button>
                </div>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match aliases.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty-state">"No aliases yet."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="alias-list">
                                <thead><tr><th>"Name"</th><th>"Routes to"</th><th>"Owner"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|a| {
                                        let id = a.id.clone();
                                        let label = a.name.clone();
                                        view! {
                                            <tr data-alias=a.name.clone()>
                                                <td><code>{a.name.clone()}</code><div class="muted small">{a.description.clone()}</div></td>
                                                <td><code>{a.target.clone()}</code></td>
                                                <td>{format!("{} ({})", a.owner.handle, a.owner.kind)}</td>
                                                <td class="actions">
                                                    <Show when=move || a.can_edit>
                                                        {
                                                            let id = id.clone();
                                                            let label = label.clone();
                                                            view! {
                                                                <button class="danger" on:click=move |_| {
                                                                    let sure = window()
                                                                        .confirm_with_message(&format!("Delete alias {label}? Requests naming it will route by the model grammar again."))
                                                                        .unwrap_or(false);
                                                                    if sure {
                                                                        delete.dispatch(DeleteAlias { id: id.clone() });
                                                                    }
                                                                }>"Delete"</button>
                                                            }
                                                        }
                                                    </Show>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <FormError result=delete.value()/>
        </section>
    }
}

#[component]
fn CollectionForm(
    draft: Draft,
    save: ServerAction<SaveCollection>,
    reachable: Resource<Result<Vec<ReachableModelDto>, crate::error::AppError>>,
    orgs: Resource<Result<Vec<crate::dto::OrgDto>, crate::error::AppError>>,
    on_close: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let creating = draft.id.is_none();
    let id = StoredValue::new(draft.id.clone());
    let dynamic = draft.dynamic;
    let name = RwSignal::new(draft.name.clone());
    let description = RwSignal::new(draft.description.clone());
    let strategy = RwSignal::new(draft.strategy.clone());
    let members = RwSignal::new(draft.members.clone());
    let max_price = RwSignal::new(
        draft
            .max_price_usd
            .map(|p| p.to_string())
            .unwrap_or_default(),
    );
    let scope = RwSignal::new("individual".to_owned());
    let organization = RwSignal::new(String::new());
    let filter = RwSignal::new(String::new());
    let custom = RwSignal::new(String::new());
    let saved = save.value();

    let add = move |reference: String| {
        let reference = reference.trim().to_owned();
        if reference.is_empty() {
            return;
        }
        members.update(|m| {
            if !m.iter().any(|x| x.model == reference) {
                m.push(CollectionMemberDto {
                    model: reference,
                    weight: None,
                });
            }
        });
    };
    let shift = move |i: usize, up: bool| {
        members.update(|m| {
            let j = if up {
                i.checked_sub(1)
            } else {
                Some(i + 1).filter(|j| *j < m.len())
            };
            if let Some(j) = j {
                m.swap(i, j);
            }
        });
    };
    let explanation = move || {
        let s = strategy.get();
        STRATEGIES
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, e)| *e)
            .unwrap_or_default()
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = CollectionInputDto {
            name: name.get_untracked(),
            description: Some(description.get_untracked()),
            strategy: strategy.get_untracked(),
            models: members
                .get_untracked()
                .into_iter()
                .map(MemberInput::Weighted)
                .collect(),
            scope: creating.then(|| scope.get_untracked()),
            organization: Some(organization.get_untracked()).filter(|o| creating && !o.is_empty()),
            max_price_usd: Some(max_price.get_untracked())
                .filter(|p| !p.trim().is_empty())
                // Not a number: sent as -1, which the server refuses with its message.
                .map(|p| p.trim().parse::<f64>().unwrap_or(-1.0)),
        };
        save.dispatch(SaveCollection {
            id: id.get_value(),
            input,
        });
    };

    view! {
        <section class="card" data-testid="collection-form">
            <h2>{if creating { "New collection" } else { "Edit collection" }}</h2>
            <form on:submit=submit>
            <div class="grid2">
                <label>
                    "Name"
                    <input type="text" name="name" placeholder="coding-models" prop:value=move || name.get()
                        prop:disabled=dynamic on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Description (optional)"
                    <input type="text" name="description" prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))/>
                </label>
                <label>
                    "Max price per request (USD, optional)"
                    <input type="number" min="0" step="any" name="max_price_usd" prop:value=move || max_price.get()
                        on:input=move |ev| max_price.set(event_target_value(&ev))/>
                </label>
            </div>
            <FieldError result=saved field="max_price_usd"/>
            <FieldError result=saved field="name"/>
            <label>
                "Strategy"
                <select name="strategy" on:change=move |ev| strategy.set(event_target_value(&ev))>
                    {STRATEGIES.iter().map(|(key, _)| {
                        let key = *key;
                        view! { <option value=key selected=move || strategy.get() == key>{strategy_label(key)}</option> }
                    }).collect_view()}
                </select>
            </label>
            <p class="hint" data-testid="strategy-explanation">{explanation}</p>
            <FieldError result=saved field="strategy"/>
            <Show when=move || creating>
                <div class="grid2">
                    <label>
                        "Owner"
                        <select name="scope" on:change=move |ev| scope.set(event_target_value(&ev))>
                            <option value="individual">"Me"</option>
                            <option value="organization">"An organization"</option>
                            <Show when=is_admin>
                                <option value="system">"System (auto(NAME), everyone)"</option>
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
                                        orgs.await.unwrap_or_default().into_iter()
                                            .filter(|o| o.role == OrgRole::Admin)
                                            .map(|o| view! { <option value=o.handle.clone()>{o.name.clone()}</option> })
                                            .collect_view()
                                    })}
                                </Transition>
                            </select>
                        </label>
                    </Show>
                </div>
                <FieldError result=saved field="scope"/>
                <FieldError result=saved field="organization"/>
            </Show>
            <Show when=move || dynamic>
                <p class="hint">"auto(free) always includes the models of providers marked free and models priced at zero; members listed here are added to them."</p>
            </Show>

            <h3>"Members, in order"</h3>
            <ol class="members" data-testid="member-list">
                {move || members.get().into_iter().enumerate().map(|(i, m)| {
                    let model = m.model.clone();
                    let weight = m.weight.map(|w| w.to_string()).unwrap_or_default();
                    view! {
                        <li data-member=model.clone()>
                            <code>{model.clone()}</code>
                            <Show when=move || strategy.get() == "random">
                                {
                                    let weight = weight.clone();
                                    view! {
                                        <input class="weight" type="number" min="0" step="any" placeholder="weight 1"
                                            aria-label="Weight" prop:value=weight
                                            on:change=move |ev| {
                                                let w = event_target_value(&ev).trim().parse::<f64>().ok();
                                                members.update(|list| if let Some(x) = list.get_mut(i) { x.weight = w; });
                                            }/>
                                    }
                                }
                            </Show>
                            <span class="member-actions">
                                <button type="button" aria-label=format!("Move {model} up") on:click=move |_| shift(i, true)>"↑"</button>
                                <button type="button" aria-label=format!("Move {model} down") on:click=move |_| shift(i, false)>"↓"</button>
                                <button type="button" aria-label=format!("Remove {model}") on:click=move |_| members.update(|l| { l.remove(i); })>"✕"</button>
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <Show when=move || members.with(Vec::is_empty)>
                <p class="muted">"No members yet: add models below."</p>
            </Show>
            <FieldError result=saved field="models"/>

            <div class="picker">
                <label>
                    "Find a model you can reach"
                    <input type="search" name="member-filter" placeholder="gpt-4o, groq/…" on:input=move |ev| filter.set(event_target_value(&ev))
                        on:keydown=move |ev| if ev.key() == "Enter" {
                            // Enter filters; it does not save a half-made collection.
                            ev.prevent_default();
                        }/>
                </label>
                <Transition fallback=|| view! { <p class="muted">"Loading models…"</p> }>
                    {move || Suspend::new(async move {
                        let all = reachable.await.unwrap_or_default();
                        view! {
                            <ul class="picker-list" data-testid="model-picker">
                                {move || {
                                    let f = filter.get().to_lowercase();
                                    all.iter()
                                        .filter(|m| f.is_empty() || m.pinned.to_lowercase().contains(&f))
                                        .take(30)
                                        .map(|m| {
                                            let reference = m.reference.clone();
                                            let pinned = m.pinned.clone();
                                            let pinned_add = m.pinned.clone();
                                            view! {
                                                <li>
                                                    <button type="button" on:click=move |_| add(reference.clone())>{format!("Add {}", m.reference)}</button>
                                                    <button type="button" class="link" title="Only this owner's connections" on:click=move |_| add(pinned_add.clone())>{format!("pin {pinned}")}</button>
                                                    <span class="muted small">{m.connection_name.clone()}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()
                                }}
                            </ul>
                        }
                    })}
                </Transition>
                <div class="row">
                    <label>
                        "Or type a reference"
                        <input type="text" name="custom-member" placeholder="provider/model or handle/provider/model"
                            prop:value=move || custom.get() on:input=move |ev| custom.set(event_target_value(&ev))
                            on:keydown=move |ev| if ev.key() == "Enter" {
                                // Enter here adds the reference; it does not save the form.
                                ev.prevent_default();
                                add(custom.get_untracked());
                                custom.set(String::new());
                            }/>
                    </label>
                    <button type="button" on:click=move |_| { add(custom.get_untracked()); custom.set(String::new()); }>"Add"</button>
                </div>
            </div>

            <FormError result=saved/>
            <div class="row">
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save collection"</button>
                <button type="button" on:click=move |_| on_close()>"Cancel"</button>
            </div>
            </form>
        </section>
    }
}

#[component]
fn TryPanel(
    target: RwSignal<String>,
    collections: Resource<Result<Vec<CollectionDto>, crate::error::AppError>>,
) -> impl IntoView {
    let explain = ServerAction::<ExplainModel>::new();
    let attempt = ServerAction::<TryModel>::new();
    let prompt = RwSignal::new("Say hello in five words.".to_owned());
    // Explain whenever a collection is picked.
    Effect::new(move |_| {
        let model = target.get();
        if !model.is_empty() {
            explain.dispatch(ExplainModel { model });
        }
    });
    view! {
        <section class="card" data-testid="try-panel">
            <h2>"Try it"</h2>
            <p class="muted">"See which connection a collection would use, in what order and why, then send a test prompt through it."</p>
            <div class="row">
                <label>
                    "Collection or model"
                    <select name="try-target" on:change=move |ev| target.set(event_target_value(&ev))>
                        <option value="">"Choose…"</option>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                collections.await.unwrap_or_default().into_iter().map(|c| {
                                    let r = c.reference.clone();
                                    let selected = r.clone();
                                    view! { <option value=r.clone() selected=move || target.get() == selected>{r.clone()}</option> }
                                }).collect_view()
                            })}
                        </Transition>
                    </select>
                </label>
                <label>
                    "Or any model string"
                    <input type="text" name="try-model" placeholder="claude-opus-4-8, openai/gpt-4o…"
                        on:change=move |ev| target.set(event_target_value(&ev))/>
                </label>
                <button on:click=move |_| { explain.dispatch(ExplainModel { model: target.get_untracked() }); }>"Explain"</button>
            </div>
            {move || explain.value().get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                Ok(plan) => view! { <ExplainTable plan/> }.into_any(),
            })}
            <label>
                "Test prompt"
                <textarea name="prompt" rows="2" prop:value=move || prompt.get() on:input=move |ev| prompt.set(event_target_value(&ev))></textarea>
            </label>
            <button class="primary" prop:disabled=move || target.get().is_empty() || attempt.pending().get()
                on:click=move |_| { attempt.dispatch(TryModel { model: target.get_untracked(), prompt: prompt.get_untracked() }); }>
                {move || if attempt.pending().get() { "Sending…" } else { "Send test prompt" }}
            </button>
            {move || attempt.value().get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                Ok(t) => {
                    let ok = t.status < 300;
                    view! {
                        <div class=if ok { "ok" } else { "error-box" } data-testid="try-result">
                            <p>
                                <span class=if ok { "chip green" } else { "chip red" }>{t.status}</span>
                                {format!(" in {} ms", t.latency_ms)}
                                {t.connection_id.clone().map(|c| format!(" — served by {c} ({})", t.provider.clone().unwrap_or_default()))}
                            </p>
                            <p>{t.content.clone().or(t.error.clone()).unwrap_or_default()}</p>
                        </div>
                    }.into_any()
                }
            })}
        </section>
    }
}

#[component]
fn Prices() -> impl IntoView {
    let set = ServerAction::<SetPrice>::new();
    let prices = Resource::new(move || set.version().get(), |_| list_prices());
    let provider = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let input = RwSignal::new(String::new());
    let output = RwSignal::new(String::new());
    let cached = RwSignal::new(String::new());
    let cache_write = RwSignal::new(String::new());
    let saved = set.value();
    view! {
        <section class="card" data-testid="prices">
            <h2>"Model prices"</h2>
            <p class="muted">"USD per million tokens. Every request-log row is costed at these prices (cache reads and writes at their own rates, else the input price); cost_optimized collections put the cheapest model first; auto(free) includes models priced at zero."</p>
            <Show when=is_admin>
                <div class="row">
                    <label>"Provider" <input type="text" name="price-provider" placeholder="openai" on:input=move |ev| provider.set(event_target_value(&ev))/></label>
                    <label>"Model" <input type="text" name="price-model" placeholder="gpt-4o" on:input=move |ev| model.set(event_target_value(&ev))/></label>
                    <label>"Input" <input type="number" step="any" min="0" name="input_per_mtok" on:input=move |ev| input.set(event_target_value(&ev))/></label>
                    <label>"Output" <input type="number" step="any" min="0" name="output_per_mtok" on:input=move |ev| output.set(event_target_value(&ev))/></label>
                    <label>"Cache read" <input type="number" step="any" min="0" name="cached_input_per_mtok" placeholder="= input" on:input=move |ev| cached.set(event_target_value(&ev))/></label>
                    <label>"Cache write" <input type="number" step="any" min="0" name="cache_write_per_mtok" placeholder="= input" on:input=move |ev| cache_write.set(event_target_value(&ev))/></label>
                    <button on:click=move |_| {
                        let num = |s: String| s.trim().parse::<f64>().unwrap_or(f64::NAN);
                        let optional = |s: String| (!s.trim().is_empty()).then(|| num(s));
                        set.dispatch(SetPrice { price: PriceDto {
                            provider: provider.get_untracked(),
                            model: model.get_untracked(),
                            input_per_mtok: num(input.get_untracked()),
                            output_per_mtok: num(output.get_untracked()),
                            cached_input_per_mtok: optional(cached.get_untracked()),
                            cache_write_per_mtok: optional(cache_write.get_untracked()),
                        }});
                    }>"Set price"</button>
                </div>
                <FieldError result=saved field="provider"/>
                <FieldError result=saved field="model"/>
                <FieldError result=saved field="input_per_mtok"/>
                <FieldError result=saved field="output_per_mtok"/>
                <FieldError result=saved field="cached_input_per_mtok"/>
                <FieldError result=saved field="cache_write_per_mtok"/>
                <FormError result=saved/>
            </Show>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match prices.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead><tr><th>"Model"</th><th>"Input"</th><th>"Output"</th><th>"Cache read"</th><th>"Cache write"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|p| view! {
                                        <tr>
                                            <td><code>{format!("{}/{}", p.provider, p.model)}</code></td>
                                            <td>{format!("${}", p.input_per_mtok)}</td>
                                            <td>{format!("${}", p.output_per_mtok)}</td>
                                            <td>{p.cached_input_per_mtok.map_or_else(|| "—".to_owned(), |v| format!("${v}"))}</td>
                                            <td>{p.cache_write_per_mtok.map_or_else(|| "—".to_owned(), |v| format!("${v}"))}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
