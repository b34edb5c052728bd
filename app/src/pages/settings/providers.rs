//! Settings → Providers (platform admins): the catalogue, enable/disable, the `free`
//! flag for auto(free), and new providers of an existing API family.

use leptos::prelude::*;

use crate::api::{list_providers, CreateProvider, SetProviderFlags, UpdateProvider};
use crate::components::feedback::{FieldError, FormError};
use crate::components::layout::AdminOnly;

/// Platform admins only: nobody else gets the panel, its data or its buttons.
#[component]
pub fn ProvidersTab() -> impl IntoView {
    view! { <AdminOnly><ProvidersPanel/></AdminOnly> }
}

#[component]
fn ProvidersPanel() -> impl IntoView {
    let create = ServerAction::<CreateProvider>::new();
    let flags = ServerAction::<SetProviderFlags>::new();
    let edit = ServerAction::<UpdateProvider>::new();
    let editing = RwSignal::new(None::<String>);
    let providers = Resource::new(
        move || {
            (
                create.version().get(),
                flags.version().get(),
                edit.version().get(),
            )
        },
        |_| list_providers(),
    );
    Effect::new(move |_| {
        if let Some(Ok(_)) = edit.value().get() {
            editing.set(None);
        }
    });
    let created = create.value();
    view! {
        <section class="card">
            <h2>"Providers"</h2>
            <p class="muted">"Disabled providers cannot get new connections. Models of free providers join auto(free)."</p>
            <FormError result=flags.value()/>
            <FormError result=edit.value()/>
            {move || matches!(edit.value().get(), Some(Ok(_))).then(|| view! { <p class="ok" role="status">"Provider saved."</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match providers.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="providers">
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"API family"</th><th>"Base URL"</th><th>"Status"</th><th>"Free"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|p| {
                                        let id = StoredValue::new(p.id.clone());
                                        let (enabled, free) = (p.enabled, p.free);
                                        let row_id = p.id.clone();
                                        let key = p.key.clone();
                                        let is_editing = move || editing.get().as_deref() == Some(row_id.as_str());
                                        let name = RwSignal::new(p.name.clone());
                                        let base_url = RwSignal::new(p.base_url.clone());
                                        view! {
                                            <tr data-provider=key>
                                                <td>{p.name}</td>
                                                <td><code>{p.key}</code></td>
                                                <td>{p.api_family}</td>
                                                <td class="muted small">{if p.base_url.is_empty() { "set per connection".to_owned() } else { p.base_url }}</td>
                                                <td>{if enabled { view! { <span class="chip green">"enabled"</span> } } else { view! { <span class="chip grey">"disabled"</span> } }}</td>
                                                <td>{if free { "yes" } else { "no" }}</td>
                                                <td class="actions">
                                                    <button class="small" on:click=move |_| {
                                                        flags.dispatch(SetProviderFlags { id: id.get_value(), enabled: !enabled, free });
                                                    }>{if enabled { "Disable" } else { "Enable" }}</button>
                                                    <button class="small" on:click=move |_| {
                                                        flags.dispatch(SetProviderFlags { id: id.get_value(), enabled, free: !free });
                                                    }>{if free { "Not free" } else { "Mark free" }}</button>
                                                    <button class="small" on:click=move |_| {
                                                        edit.value().set(None);
                                                        editing.set(Some(id.get_value()));
                                                    }>"Edit"</button>
                                                </td>
                                            </tr>
                                            <Show when=is_editing.clone()>
                                                <tr class="inline-form">
                                                    <td colspan="7">
                                                        <form class="row" on:submit=move |ev| {
                                                            ev.prevent_default();
                                                            edit.dispatch(UpdateProvider {
                                                                id: id.get_value(),
                                                                name: name.get_untracked(),
                                                                base_url: base_url.get_untracked(),
                                                            });
                                                        }>
                                                            <label>"Name" <input type="text" name="provider-name" required maxlength="100"
                                                                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                                                            <label>"Default base URL" <input type="url" name="provider-base-url" placeholder="empty: set per connection"
                                                                prop:value=move || base_url.get() on:input=move |ev| base_url.set(event_target_value(&ev))/></label>
                                                            <button type="submit" class="primary" disabled=move || edit.pending().get()>
                                                                {move || if edit.pending().get() { "Saving…" } else { "Save" }}
                                                            </button>
                                                            <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                                                        </form>
                                                        <FieldError result=edit.value() field="name"/>
                                                    </td>
                                                </tr>
                                            </Show>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card">
            <h2>"Add a provider"</h2>
            <ActionForm action=create>
                <div class="grid2">
                    <label>"Key" <input type="text" name="key" required placeholder="acme-llm"/></label>
                    <label>"Name" <input type="text" name="name" required placeholder="Acme LLM"/></label>
                    <label>
                        "API family"
                        <select name="api_family">
                            <option value="openai_compat">"OpenAI-compatible"</option>
                            <option value="anthropic">"Anthropic"</option>
                            <option value="gemini">"Google Gemini"</option>
                            <option value="azure_openai">"Azure OpenAI"</option>
                            <option value="bedrock">"AWS Bedrock"</option>
                            <option value="cohere">"Cohere"</option>
                        </select>
                    </label>
                    <label>"Default base URL" <input type="url" name="base_url" placeholder="https://api.example.com/v1"/></label>
                </div>
                <FieldError result=created field="key"/>
                <FieldError result=created field="name"/>
                <FormError result=created/>
                <button type="submit" class="primary">"Add provider"</button>
            </ActionForm>
        </section>
    }
}
