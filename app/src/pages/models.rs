//! The Models page: every model the user can route to (enabled on a connection they may
//! use), with its provider, the connections serving it (and the pinned reference of each),
//! its price and the free flag, filtered as you type.

use leptos::prelude::*;

use crate::api::list_models;
use crate::dto::ModelRowDto;

fn price_label(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("${p:.2}"))
}

#[component]
pub fn ModelsPage() -> impl IntoView {
    let models = Resource::new(|| (), |()| list_models());
    let filter = RwSignal::new(String::new());
    let free_only = RwSignal::new(false);
    let keep = move |m: &ModelRowDto| {
        let f = filter.get().trim().to_lowercase();
        (f.is_empty()
            || m.reference.to_lowercase().contains(&f)
            || m.connections
                .iter()
                .any(|c| c.name.to_lowercase().contains(&f)))
            && (!free_only.get() || m.free)
    };
    view! {
        <header class="page-header">
            <h1>"Models"</h1>
            <p class="muted">
                "Every model you can route to: call it as provider/model (your connections first, then your organizations', then the platform's), or pin one owner's connections with handle/provider/model."
            </p>
        </header>
        <section class="card">
            <div class="row filters">
                <label>
                    "Model or connection"
                    <input
                        type="search"
                        placeholder="gpt-4o"
                        data-testid="models-filter"
                        prop:value=move || filter.get()
                        on:input=move |ev| filter.set(event_target_value(&ev))
                    />
                </label>
                <label class="checkbox">
                    <input type="checkbox" on:change=move |ev| free_only.set(event_target_checked(&ev))/>
                    "Free only"
                </label>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match models.await {
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty-state" data-testid="models-empty">
                                "No models yet. Add a connection (Connections → Add) and discover its models, or ask an administrator for a platform connection."
                            </p>
                        }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="models">
                                <thead>
                                    <tr>
                                        <th>"Model"</th>
                                        <th>"Provider"</th>
                                        <th>"Connections"</th>
                                        <th>"Input / 1M"</th>
                                        <th>"Output / 1M"</th>
                                        <th>"Free"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|m| {
                                        let visible = m.clone();
                                        view! {
                                            <Show when=move || keep(&visible)>
                                                <ModelRow m=m.clone()/>
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
    }
}

#[component]
fn ModelRow(m: ModelRowDto) -> impl IntoView {
    view! {
        <tr data-model=m.reference.clone()>
            <td><code>{m.reference.clone()}</code></td>
            <td>{m.provider.clone()}</td>
            <td>
                <ul class="plain">
                    {m.connections.iter().map(|c| view! {
                        <li>
                            {c.name.clone()}
                            " "
                            <span class="muted small">{format!("{} · {}", c.scope, c.status.replace('_', "-"))}</span>
                            <br/>
                            <code class="small">{c.pinned.clone()}</code>
                        </li>
                    }).collect_view()}
                </ul>
            </td>
            <td class="num">{price_label(m.input_per_mtok)}</td>
            <td class="num">{price_label(m.output_per_mtok)}</td>
            <td>{m.free.then(|| view! { <span class="chip green">"free"</span> })}</td>
        </tr>
    }
}
