//! Connections → Gateways: self-hosted gateways (type 3). Each shows whether an agent is
//! connected (green) or not (red), its agents (version, address, heartbeat, traffic), the
//! connections its agents announced, and the timeline of connects and disconnects. A new
//! gateway's token is shown once, with the command that runs an agent.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{gateways, CreateGateway, DeleteGateway, RotateGateway};
use crate::components::feedback::{successes, FieldError, FormError};
use crate::dto::{CreatedGatewayDto, GatewayDetailDto};
use crate::pages::settings::short_time;

/// A starting `gateway.toml` for the agent.
const EXAMPLE_TOML: &str = "[[upstream]]\nname = \"gpu-box\"\nprovider = \"ollama\"\nurl = \"http://127.0.0.1:11434/v1\"\n# api_key_env = \"GPU_BOX_KEY\"\n";

#[component]
pub fn GatewaysPage() -> impl IntoView {
    let create = ServerAction::<CreateGateway>::new();
    let rotate = ServerAction::<RotateGateway>::new();
    let delete = ServerAction::<DeleteGateway>::new();
    let refresh = RwSignal::new(0u32);
    let created = successes(create.value());
    let rotated = successes(rotate.value());
    let deleted = successes(delete.value());
    let data = Resource::new(
        move || (created.get(), rotated.get(), deleted.get(), refresh.get()),
        |_| gateways(),
    );
    // The token of the gateway made or rotated last: shown once.
    let token = move || {
        let made = create.value().get().and_then(Result::ok);
        let turned = rotate.value().get().and_then(Result::ok);
        turned.or(made)
    };
    view! {
        <header class="page-header row spread">
            <div>
                <p class="muted small"><A href="/connections">"Connections"</A>" → Gateways"</p>
                <h1>"Gateways"</h1>
                <p class="muted">
                    "Models on a network LangMart cannot reach: an agent next to them dials out to this server and relays its requests. Their URLs and keys stay with the agent."
                </p>
            </div>
            <button type="button" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
        </header>
        <section class="card">
            <h2>"New gateway"</h2>
            <ActionForm action=create>
                <div class="row">
                    <label class="field">
                        <span>"Name"</span>
                        <input type="text" name="name" required placeholder="lab-gpus" data-testid="gateway-name"/>
                        <FieldError result=create.value() field="name"/>
                    </label>
                    <label class="field">
                        <span>"Organization (optional)"</span>
                        <input type="text" name="organization" placeholder="an organization handle you administer"/>
                    </label>
                </div>
                <FormError result=create.value()/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create gateway"</button>
            </ActionForm>
            {move || token().map(|t| view! { <NewToken created=t/> })}
            <FormError result=rotate.value()/>
            <FormError result=delete.value()/>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty-state" data-testid="gateways-empty">
                            "No gateway yet. Create one, then run its agent next to your models."
                        </p>
                    }.into_any(),
                    Ok(list) => view! {
                        <div data-testid="gateways">
                            {list.into_iter().map(|g| view! { <GatewayCard detail=g rotate=rotate delete=delete/> }).collect_view()}
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A gateway's token, once, with what to run.
#[component]
fn NewToken(created: CreatedGatewayDto) -> impl IntoView {
    let copied = RwSignal::new(false);
    let token = created.token.clone();
    view! {
        <div class="new-key" role="status">
            <p>
                <strong>{format!("Token for \"{}\": copy it now.", created.name)}</strong>
                " It will not be shown again; LangMart keeps only a digest."
            </p>
            <div class="row">
                <code class="secret" data-testid="gateway-token">{created.token}</code>
                <button type="button" on:click=move |_| {
                    let _ = window().navigator().clipboard().write_text(&token);
                    copied.set(true);
                }>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="muted small">"Next to your models, save a gateway.toml such as:"</p>
            <pre class="code">{EXAMPLE_TOML}</pre>
            <p class="muted small">"and run the agent (the install command is on the gateway below)."</p>
        </div>
    }
}

#[component]
fn GatewayCard(
    detail: GatewayDetailDto,
    rotate: ServerAction<RotateGateway>,
    delete: ServerAction<DeleteGateway>,
) -> impl IntoView {
    let g = detail.gateway;
    let connected = g.status == "connected";
    let id = StoredValue::new(g.id.clone());
    let name = StoredValue::new(g.name.clone());
    let install = detail.install_command.clone();
    view! {
        <section class="card" data-testid="gateway" data-status=g.status.clone()>
            <div class="row spread">
                <h2>
                    {g.name.clone()}" "
                    <span class=if connected { "chip green" } else { "chip red" } data-testid="gateway-status">
                        {g.status.clone()}
                    </span>
                </h2>
                {g.can_edit.then(|| view! {
                    <div class="row">
                        <button type="button" on:click=move |_| {
                            let message = format!("Replace the token of \"{}\"? Its agents are disconnected until they use the new one.", name.get_value());
                            if window().confirm_with_message(&message).unwrap_or(false) {
                                rotate.dispatch(RotateGateway { id: id.get_value() });
                            }
                        }>"Rotate token"</button>
                        <button type="button" class="danger" on:click=move |_| {
                            let message = format!("Delete \"{}\" and its connections? Its agents are disconnected at once.", name.get_value());
                            if window().confirm_with_message(&message).unwrap_or(false) {
                                delete.dispatch(DeleteGateway { id: id.get_value() });
                            }
                        }>"Delete"</button>
                    </div>
                })}
            </div>
            <p class="muted small">
                {format!("@{} · token {}… · created {}", g.owner.handle, g.token_hint, short_time(&g.created_at))}
                {g.last_heartbeat_at.clone().map(|t| format!(" · last heartbeat {}", short_time(&t)))}
            </p>
            <p class="muted small">"Run an agent:"</p>
            <pre class="code" data-testid="install-command">{install}</pre>
            <h3>"Agents"</h3>
            {if g.agents.is_empty() {
                view! {
                    <p class="muted" data-testid="no-agents">
                        "No agent connected. Requests to this gateway's connections fall back to others, or get 503 GATEWAY3_CONN_001. Check that `langmart gateway` runs (`langmart gateway status` shows its link and last error)."
                    </p>
                }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Agent"</th><th>"Version"</th><th>"Address"</th><th>"Connected since"</th><th>"Last heartbeat"</th><th>"In flight"</th><th>"Requests"</th></tr></thead>
                        <tbody>
                            {g.agents.into_iter().map(|a| view! {
                                <tr data-testid="agent">
                                    <td><code>{a.id}</code></td>
                                    <td>{a.version}</td>
                                    <td>{a.address}</td>
                                    <td>{short_time(&a.connected_since)}</td>
                                    <td>{short_time(&a.last_heartbeat_at)}</td>
                                    <td>{a.in_flight}</td>
                                    <td>{a.requests}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <h3>"Connections"</h3>
            {if detail.connections.is_empty() {
                view! { <p class="muted">"None yet: each upstream an agent announces becomes one."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {detail.connections.into_iter().map(|c| {
                            let colour = match c.status.as_str() {
                                "active" => "green",
                                "rate_limited" => "amber",
                                "inactive" => "grey",
                                _ => "red",
                            };
                            view! {
                                <li data-testid="gateway-connection">
                                    <span class=format!("chip {colour}")>{c.status.clone()}</span>" "
                                    <A href=format!("/connections/{}", c.id)>{c.name.clone()}</A>
                                    <span class="muted small">{format!(" · {} · {} models", c.provider.name, c.model_count)}</span>
                                    {c.last_error.clone().filter(|_| c.status == "error").map(|e| view! { <div class="muted small">{e}</div> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <h3>"Timeline"</h3>
            {if detail.events.is_empty() {
                view! { <p class="muted">"No agent has connected yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain" data-testid="gateway-events">
                        {detail.events.into_iter().map(|e| {
                            let colour = match e.kind.as_str() {
                                "connected" => "green",
                                "refused" => "amber",
                                _ => "red",
                            };
                            view! {
                                <li>
                                    <span class=format!("chip {colour}")>{e.kind.clone()}</span>
                                    <span class="muted small">{format!(" {} · {} · {} {}", short_time(&e.at), e.address, e.version, e.agent_id)}</span>
                                    {(!e.detail.is_empty()).then(|| view! { <div class="muted small">{e.detail.clone()}</div> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
