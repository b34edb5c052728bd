//! The notifications panel: a person's connections failing their checks, rate-limited and
//! recovering, newest first, marked read on "Mark all as read"; and the webhook each new
//! notification is also POSTed to.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{notifications, MarkNotificationsRead, SetWebhook};
use crate::components::feedback::{successes, Done, FieldError, FormError};
use crate::components::layout::NotificationsSeen;
use crate::pages::settings::short_time;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let mark = ServerAction::<MarkNotificationsRead>::new();
    let webhook = ServerAction::<SetWebhook>::new();
    let marked = successes(mark.value());
    if let Some(seen) = use_context::<NotificationsSeen>() {
        // The sidebar's unread count follows.
        Effect::new(move |_| {
            if marked.get() > 0 {
                seen.0.update(|n| *n += 1);
            }
        });
    }
    // Read again after a change that took: a refused webhook keeps what was typed.
    let saved = successes(webhook.value());
    let data = Resource::new(move || (marked.get(), saved.get()), |_| notifications());
    view! {
        <header class="page-header row spread">
            <div>
                <h1>"Notifications"</h1>
                <p class="muted">"Your connections' failed checks, rate limits and recoveries (kept 30 days)."</p>
            </div>
            <button type="button" disabled=move || mark.pending().get()
                on:click=move |_| { mark.dispatch(MarkNotificationsRead {}); }>
                "Mark all as read"
            </button>
        </header>
        <FormError result=mark.value()/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(d) => {
                        let current = d.webhook_url.clone().unwrap_or_default();
                        view! {
                            <section class="card">
                                {if d.items.is_empty() {
                                    view! { <p class="empty-state" data-testid="notifications-empty">"Nothing yet: when a connection fails a check or recovers, it shows here."</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="plain notifications" data-testid="notifications">
                                            {d.items.into_iter().map(|n| {
                                                let colour = match n.kind.as_str() {
                                                    "recovered" => "green",
                                                    "rate_limited" => "amber",
                                                    _ => "red",
                                                };
                                                view! {
                                                    <li class:unread=!n.read data-kind=n.kind.clone()>
                                                        <span class=format!("chip {colour}")>{n.kind.replace('_', "-")}</span>
                                                        " "
                                                        <A href=format!("/connections/{}", n.connection_id)>{n.title.clone()}</A>
                                                        <span class="muted small">" · "{short_time(&n.created_at)}</span>
                                                        {n.detail.clone().map(|d| view! { <div class="muted small">{d}</div> })}
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            </section>
                            <section class="card">
                                <h2>"Webhook"</h2>
                                <p class="muted">"Each new notification is also POSTed here as JSON ({\"type\": \"langmart.notification\", \"notification\": …}). Leave empty for none."</p>
                                <ActionForm action=webhook>
                                    <label class="field">
                                        <span>"Webhook URL"</span>
                                        <input type="url" name="url" placeholder="https://hooks.example.com/langmart" value=current/>
                                        <FieldError result=webhook.value() field="webhook_url"/>
                                    </label>
                                    <FormError result=webhook.value()/>
                                    <button type="submit" disabled=move || webhook.pending().get()>"Save webhook"</button>
                                </ActionForm>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <Done result=webhook.value() message={webhook_saved}/>
    }
}

fn webhook_saved(url: &Option<String>) -> String {
    match url {
        Some(u) => format!("Notifications will also go to {u}."),
        None => "Webhook removed.".to_owned(),
    }
}
