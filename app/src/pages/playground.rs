//! The playground: pick any model reference (reachable models, collections and aliases
//! suggested), a system prompt and a conversation, and stream the answer through the real
//! request path; shows the connection that served it, how it was resolved, latency, time
//! to first token, tokens, and the routing explain table for the reference.

use leptos::prelude::*;

use crate::api::{list_aliases, list_collections, playground, reachable_models, ExplainModel};
use crate::components::explain::ExplainTable;
use crate::dto::{ChatTurnDto, PlaygroundEventDto, PlaygroundRequestDto};

/// What the page knows of the answer being streamed or last streamed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Reply {
    served: Option<String>,
    figures: Option<String>,
    error: Option<String>,
}

#[component]
pub fn PlaygroundPage() -> impl IntoView {
    let model = RwSignal::new(String::new());
    let system = RwSignal::new(String::new());
    let draft = RwSignal::new(String::new());
    let turns = RwSignal::new(Vec::<ChatTurnDto>::new());
    let reply = RwSignal::new(Reply::default());
    let streaming = RwSignal::new(false);
    let explain = ServerAction::<ExplainModel>::new();
    let models = Resource::new(|| (), |_| reachable_models());
    let collections = Resource::new(|| (), |_| list_collections());
    let aliases = Resource::new(|| (), |_| list_aliases());

    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        let target = model.get_untracked().trim().to_owned();
        if text.trim().is_empty() || target.is_empty() || streaming.get_untracked() {
            return;
        }
        turns.update(|t| {
            t.push(ChatTurnDto {
                role: "user".into(),
                content: text,
            });
            t.push(ChatTurnDto {
                role: "assistant".into(),
                content: String::new(),
            });
        });
        draft.set(String::new());
        reply.set(Reply::default());
        streaming.set(true);
        explain.dispatch(ExplainModel {
            model: target.clone(),
        });
        let mut messages = turns.get_untracked();
        messages.pop(); // the empty assistant turn being filled
        let req = PlaygroundRequestDto {
            model: target,
            system: Some(system.get_untracked()),
            messages,
            max_tokens: None,
        };
        leptos::task::spawn_local(async move {
            stream_reply(req, turns, reply).await;
            streaming.set(false);
        });
    };
    let clear = move |_| {
        turns.set(Vec::new());
        reply.set(Reply::default());
    };

    view! {
        <header class="page-header">
            <h1>"Playground"</h1>
            <p class="muted">"Send a conversation to any model, collection or alias you can reach. It goes through the same routing, limits, budgets and request log as /v1 calls."</p>
        </header>
        <section class="card">
            <form class="playground" on:submit=send>
                <label>
                    "Model"
                    <input type="text" name="model" list="playground-models" required autocomplete="off"
                        placeholder="openai/gpt-4o, collection/NAME, auto(free)…"
                        prop:value=move || model.get() on:input=move |ev| model.set(event_target_value(&ev))/>
                </label>
                <datalist id="playground-models">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let mut refs: Vec<String> = Vec::new();
                            refs.extend(collections.await.unwrap_or_default().into_iter().map(|c| c.reference));
                            refs.extend(aliases.await.unwrap_or_default().into_iter().map(|a| a.name));
                            refs.extend(models.await.unwrap_or_default().into_iter().map(|m| m.reference));
                            refs.dedup();
                            refs.into_iter().map(|r| view! { <option value=r/> }).collect_view()
                        })}
                    </Transition>
                </datalist>
                <label>
                    "System prompt"
                    <textarea name="system" rows="2" placeholder="Optional"
                        prop:value=move || system.get() on:input=move |ev| system.set(event_target_value(&ev))></textarea>
                </label>
                <div class="conversation" data-testid="conversation" aria-live="polite">
                    {move || turns.get().into_iter().map(|t| view! {
                        <div class=format!("turn {}", t.role) data-role=t.role.clone()>
                            <span class="muted small">{t.role.clone()}</span>
                            <p>{t.content.clone()}</p>
                        </div>
                    }).collect_view()}
                </div>
                <label>
                    "Message"
                    <textarea name="message" rows="3" required
                        prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            // Enter sends; Shift+Enter is a new line.
                            if ev.key() == "Enter" && !ev.shift_key() {
                                ev.prevent_default();
                                if let Some(form) = event_target::<web_sys::HtmlElement>(&ev).closest("form").ok().flatten() {
                                    if let Ok(form) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlFormElement>(form) {
                                        let _ = form.request_submit();
                                    }
                                }
                            }
                        }></textarea>
                </label>
                <div class="row">
                    <button type="submit" class="primary" disabled=move || streaming.get()>
                        {move || if streaming.get() { "Streaming…" } else { "Send" }}
                    </button>
                    <button type="button" on:click=clear disabled=move || streaming.get()>"New conversation"</button>
                </div>
            </form>
            {move || {
                let r = reply.get();
                view! {
                    {r.served.map(|s| view! { <p class="muted" data-testid="served">{s}</p> })}
                    {r.figures.map(|f| view! { <p class="muted" data-testid="figures">{f}</p> })}
                    {r.error.map(|e| view! { <p class="form-error" role="alert" data-testid="playground-error">{e}</p> })}
                }
            }}
        </section>
        <section class="card">
            <h2>"How it was routed"</h2>
            {move || match explain.value().get() {
                None => view! { <p class="muted">"Send a message to see the candidates in order."</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                Some(Ok(plan)) => view! { <ExplainTable plan/> }.into_any(),
            }}
        </section>
    }
}

/// Reads the answer's JSON lines as they arrive into the last (assistant) turn and the
/// reply's figures.
async fn stream_reply(
    req: PlaygroundRequestDto,
    turns: RwSignal<Vec<ChatTurnDto>>,
    reply: RwSignal<Reply>,
) {
    use futures_util::StreamExt;
    let stream = match playground(req).await {
        Ok(s) => s,
        Err(e) => {
            reply.update(|r| r.error = Some(e.message));
            return;
        }
    };
    let mut chunks = stream.into_inner();
    let mut pending = String::new();
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(text) => pending.push_str(&text),
            Err(e) => {
                reply.update(|r| r.error = Some(e.message));
                return;
            }
        }
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            if let Ok(event) = serde_json::from_str::<PlaygroundEventDto>(line.trim()) {
                apply(event, turns, reply);
            }
        }
    }
}

fn apply(event: PlaygroundEventDto, turns: RwSignal<Vec<ChatTurnDto>>, reply: RwSignal<Reply>) {
    match event {
        PlaygroundEventDto::Served {
            connection_id,
            connection,
            provider,
            resolution,
            ..
        } => {
            let name = connection
                .or(connection_id.clone())
                .unwrap_or_else(|| "—".into());
            reply.update(|r| {
                r.served = Some(format!(
                    "Served by {name} ({}) · resolved by {}",
                    provider.unwrap_or_default(),
                    resolution.unwrap_or_default()
                ))
            });
        }
        PlaygroundEventDto::Delta { text } => turns.update(|t| {
            if let Some(last) = t.last_mut() {
                last.content.push_str(&text);
            }
        }),
        PlaygroundEventDto::Done {
            latency_ms,
            ttft_ms,
            prompt_tokens,
            completion_tokens,
        } => {
            let n = |v: Option<i64>| v.map_or_else(|| "?".to_owned(), |n| n.to_string());
            reply.update(|r| {
                r.figures = Some(format!(
                    "{latency_ms} ms, first token after {} · {} prompt + {} completion tokens",
                    ttft_ms.map_or_else(|| "—".to_owned(), |t| format!("{t} ms")),
                    n(prompt_tokens),
                    n(completion_tokens)
                ))
            });
        }
        PlaygroundEventDto::Error { status, message } => {
            reply.update(|r| r.error = Some(format!("{status}: {message}")));
        }
    }
}
