//! Settings → Providers (platform admins): the catalogue, enable/disable, the `free`
//! flag for auto(free), and new providers of an existing API family.

use leptos::prelude::*;

use crate::api::{list_providers, CreateProvider, SetProviderFlags};
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
    let providers = Resource::new(
        move || (create.version().get(), flags.version().get()),
        |_| list_providers(),
    );
    let created = create.value();
    view! {
        <section class="card">
            <h2>"Providers"</h2>
            <p class="muted">"Disabled providers cannot get new connections. Models of free providers join auto(free)."</p>
            <FormError result=flags.value()/>
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
                                        view! {
                                            <tr>
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
