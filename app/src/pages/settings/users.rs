//! Settings → Users (platform admins): the accounts of this instance and single-use
//! sign-up invite links, which the `invite` sign-up policy requires.

use leptos::prelude::*;

use super::short_time;
use crate::api::{
    list_signup_invites, list_users, user_budgets, CreateSignupInvite, SetUserBudget,
    WithdrawSignupInvite,
};
use crate::components::feedback::{FieldError, FormError};
use crate::components::layout::AdminOnly;
use crate::components::spend::BUDGET_PERIODS;
use crate::dto::CreatedSignupInviteDto;

/// Platform admins only: nobody else gets the panel, its data or its buttons.
#[component]
pub fn UsersTab() -> impl IntoView {
    view! { <AdminOnly><UsersPanel/></AdminOnly> }
}

#[component]
fn UsersPanel() -> impl IntoView {
    let create = ServerAction::<CreateSignupInvite>::new();
    let withdraw = ServerAction::<WithdrawSignupInvite>::new();
    let created = create.value();
    let invites = Resource::new(
        move || (create.version().get(), withdraw.version().get()),
        |_| list_signup_invites(),
    );
    let set_budget = ServerAction::<SetUserBudget>::new();
    let users = Resource::new(
        move || set_budget.version().get(),
        |_| async move { Ok::<_, crate::error::AppError>((list_users().await?, user_budgets().await?)) },
    );
    view! {
        <section class="card">
            <h2>"Invite someone"</h2>
            <p class="muted">
                "An invite link lets one person create an account (when sign-up is "<code>"invite"</code>
                ", the default). It works once, until it expires; LangMart keeps only a digest."
            </p>
            <ActionForm action=create>
                <div class="row">
                    <label>"For" <input type="text" name="note" placeholder="e.g. Grace, data team"/></label>
                    <label>
                        "Works for"
                        <select name="days">
                            <option value="1">"1 day"</option>
                            <option value="7" selected>"7 days"</option>
                            <option value="30">"30 days"</option>
                            <option value="90">"90 days"</option>
                        </select>
                    </label>
                    <button type="submit" class="primary" disabled=move || create.pending().get()>
                        "Create invite link"
                    </button>
                </div>
                <FieldError result=created field="note"/>
                <FormError result=created/>
            </ActionForm>
            {move || created.get().and_then(|r| r.ok()).map(|created| view! { <NewInvite created/> })}
        </section>
        <section class="card">
            <h2>"Invite links"</h2>
            <FormError result=withdraw.value()/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match invites.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No invite links yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="signup-invites">
                                <thead><tr><th>"For"</th><th>"Made by"</th><th>"Expires"</th><th>"Status"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|invite| {
                                        let id = invite.id.clone();
                                        let unused = invite.status == "unused";
                                        let status = match invite.used_by.clone() {
                                            Some(email) => format!("used by {email}"),
                                            None => invite.status.clone(),
                                        };
                                        view! {
                                            <tr>
                                                <td>{invite.note}</td>
                                                <td>{invite.created_by}</td>
                                                <td>{short_time(&invite.expires_at)}</td>
                                                <td><span class=if unused { "chip green" } else { "chip grey" }>{status}</span></td>
                                                <td>
                                                    <Show when=move || unused>
                                                        <button class="danger small" on:click={
                                                            let id = id.clone();
                                                            move |_| { withdraw.dispatch(WithdrawSignupInvite { id: id.clone() }); }
                                                        }>"Withdraw"</button>
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
        </section>
        <section class="card">
            <h2>"Accounts"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok((list, budgets)) => view! {
                            <p class="muted">"A user's budget limits every request they make, through any key; an empty amount removes it."</p>
                            <FieldError result=set_budget.value() field="usd"/>
                            <FormError result=set_budget.value()/>
                            <table class="table" data-testid="users">
                                <thead><tr><th>"Email"</th><th>"Handle"</th><th>"Role"</th><th>"Since"</th><th>"Budget (USD)"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|user| {
                                        let current = budgets.iter().find(|(id, _)| *id == user.id).map(|(_, b)| b.clone());
                                        let amount = current.as_ref().map(|b| b.usd.to_string()).unwrap_or_default();
                                        let period = current.map_or_else(|| "month".to_owned(), |b| b.period);
                                        let label = format!("Budget of @{}", user.handle);
                                        view! {
                                            <tr data-user=user.handle.clone()>
                                                <td>{user.email}</td>
                                                <td><code>{user.handle.clone()}</code></td>
                                                <td>{if user.is_admin { "platform admin" } else { "user" }}</td>
                                                <td>{short_time(&user.created_at)}</td>
                                                <td>
                                                    <ActionForm action=set_budget>
                                                        <input type="hidden" name="user_id" value=user.id/>
                                                        <div class="row">
                                                            <input type="text" inputmode="decimal" name="usd" value=amount placeholder="none"
                                                                aria-label=label/>
                                                            <select name="period" aria-label="per">
                                                                {BUDGET_PERIODS
                                                                    .map(|(value, text)| view! { <option value=value selected=period == value>{text}</option> })
                                                                    .collect_view()}
                                                            </select>
                                                            <button type="submit" class="small" disabled=move || set_budget.pending().get()>"Save"</button>
                                                        </div>
                                                    </ActionForm>
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
    }
}

/// The one time an invite link is visible, with a copy button.
#[component]
fn NewInvite(created: CreatedSignupInviteDto) -> impl IntoView {
    let copied = RwSignal::new(false);
    let link = RwSignal::new(created.path.clone());
    // The site's origin is known in the browser only.
    Effect::new(move |_| {
        if let Ok(origin) = window().location().origin() {
            link.set(format!("{origin}{}", created.path));
        }
    });
    view! {
        <div class="new-key" role="status">
            <p>
                <strong>"Send this link to the person you invite."</strong>
                " It works once and will not be shown again."
            </p>
            <div class="row">
                <code class="secret" data-testid="new-invite-link">{move || link.get()}</code>
                <button
                    type="button"
                    on:click=move |_| {
                        let clipboard = window().navigator().clipboard();
                        let _ = clipboard.write_text(&link.get_untracked());
                        copied.set(true);
                    }
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}
