//! Settings → Organizations: invitations to answer, the organizations you are in (with your
//! choices about their connections), members and invitations (admins), and a new one.

use crate::api::{
    list_members, list_orgs, my_invitations, org_budgets, org_invitations, AnswerInvitation,
    CreateOrg, InviteMember, LeaveOrg, RemoveMember, SetMemberRole, SetMembership, SetOrgBudgets,
    WithdrawInvitation,
};
use crate::components::feedback::{Done, FieldError, FormError};
use crate::components::spend::{spend_bar, BUDGET_PERIODS};
use crate::dto::{BudgetDto, OrgDto, OrgRole};
use leptos::prelude::*;

use super::short_time;

#[component]
pub fn OrganizationsTab() -> impl IntoView {
    let create = ServerAction::<CreateOrg>::new();
    let leave = ServerAction::<LeaveOrg>::new();
    let answer = ServerAction::<AnswerInvitation>::new();
    let prefs = ServerAction::<SetMembership>::new();
    let created = create.value();
    let orgs = Resource::new(
        move || {
            (
                create.version().get(),
                leave.version().get(),
                answer.version().get(),
                prefs.version().get(),
            )
        },
        |_| list_orgs(),
    );
    let invitations = Resource::new(move || answer.version().get(), |_| my_invitations());
    let selected = RwSignal::new(None::<String>);

    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = invitations.await.unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <section class="card" data-testid="invitations">
                        <h2>"Invitations"</h2>
                        <p class="muted">"Joining lets the organization's connections serve your requests (you choose how, below). Its admins see nothing of your own connections or keys."</p>
                        <ul class="plain">
                            {list.into_iter().map(|inv| {
                                let (accept_id, decline_id) = (inv.id.clone(), inv.id.clone());
                                view! {
                                    <li class="row spread" data-invitation=inv.organization.clone()>
                                        <span>
                                            <strong>{inv.organization_name.clone()}</strong>
                                            {format!(" (@{}) invites you as {}", inv.organization, inv.role.as_str())}
                                            {(!inv.invited_by.is_empty()).then(|| format!(" — from @{}", inv.invited_by))}
                                        </span>
                                        <span class="actions">
                                            <button class="primary small" on:click=move |_| {
                                                answer.dispatch(AnswerInvitation { id: accept_id.clone(), accept: true });
                                            }>"Accept"</button>
                                            <button class="small" on:click=move |_| {
                                                answer.dispatch(AnswerInvitation { id: decline_id.clone(), accept: false });
                                            }>"Decline"</button>
                                        </span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <FormError result=answer.value()/>
                    </section>
                })
            })}
        </Transition>
        <section class="card">
            <h2>"Your organizations"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match orgs.await {
                        Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! {
                                <p class="muted">
                                    "You are not in any organization. Create one below; its members share its connections."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(list) => view! { <OrgTable list selected prefs/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        {move || {
            selected
                .get()
                .map(|handle| {
                    let org = orgs
                        .get()
                        .and_then(|r| r.ok())
                        .and_then(|list| list.into_iter().find(|o| o.handle == handle));
                    org.map(|org| {
                        let budgets = (org.role == OrgRole::Admin)
                            .then(|| view! { <OrgBudgets org=org.handle.clone()/> });
                        view! { <Members org leave selected/> {budgets} }
                    })
                })
        }}
        <section class="card">
            <h2>"Create an organization"</h2>
            <ActionForm action=create>
                <div class="row">
                    <label>"Name" <input type="text" name="name" required placeholder="Acme Inc."/></label>
                    <label>
                        "Handle"
                        <input type="text" name="handle" required minlength="3" maxlength="39" placeholder="acme"/>
                    </label>
                    <button type="submit" class="primary" disabled=move || create.pending().get()>
                        "Create"
                    </button>
                </div>
                <FieldError result=created field="name"/>
                <FieldError result=created field="handle"/>
                <FormError result=created/>
            </ActionForm>
        </section>
    }
}

#[component]
fn OrgTable(
    list: Vec<OrgDto>,
    selected: RwSignal<Option<String>>,
    prefs: ServerAction<SetMembership>,
) -> impl IntoView {
    view! {
        <p class="hint">
            "Your own connections always come first unless you let an organization's priorities compete with them. "
            "An organization's connections serve your "<code>"provider/model"</code>" requests only if you allow it; "
            <code>"HANDLE/provider/model"</code>" always reaches them."
        </p>
        <FormError result=prefs.value()/>
        <table class="table" data-testid="orgs">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Handle"</th>
                    <th>"Your role"</th>
                    <th>"Members"</th>
                    <th>"Serves your provider/model requests"</th>
                    <th>"Its priorities compete with yours"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|org| {
                        let handle = org.handle.clone();
                        let (serve, trust) = (org.serve_unqualified, org.trust_priorities);
                        let (serve_org, trust_org) = (org.handle.clone(), org.handle.clone());
                        let row_handle = org.handle.clone();
                        view! {
                            <tr data-org=row_handle>
                                <td>{org.name}</td>
                                <td><code>{org.handle}</code></td>
                                <td>{org.role.as_str()}</td>
                                <td>{org.member_count}</td>
                                <td>
                                    <input type="checkbox" name="serve_unqualified" aria-label="Serves your provider/model requests"
                                        prop:checked=serve on:change=move |ev| {
                                            prefs.dispatch(SetMembership { org: serve_org.clone(), serve_unqualified: event_target_checked(&ev), trust_priorities: trust });
                                        }/>
                                </td>
                                <td>
                                    <input type="checkbox" name="trust_priorities" aria-label="Its priorities compete with yours"
                                        prop:checked=trust on:change=move |ev| {
                                            prefs.dispatch(SetMembership { org: trust_org.clone(), serve_unqualified: serve, trust_priorities: event_target_checked(&ev) });
                                        }/>
                                </td>
                                <td>
                                    <button
                                        class="small"
                                        on:click=move |_| selected.set(Some(handle.clone()))
                                    >
                                        "Members"
                                    </button>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Members(
    org: OrgDto,
    leave: ServerAction<LeaveOrg>,
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    let add = ServerAction::<InviteMember>::new();
    let withdraw = ServerAction::<WithdrawInvitation>::new();
    let set_role = ServerAction::<SetMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let added = add.value();
    let org_handle = org.handle.clone();
    let invited_handle = org.handle.clone();
    let pending = Resource::new(
        move || (add.version().get(), withdraw.version().get()),
        move |_| org_invitations(invited_handle.clone()),
    );
    let members = Resource::new(
        move || {
            (
                add.version().get(),
                set_role.version().get(),
                remove.version().get(),
            )
        },
        move |_| list_members(org_handle.clone()),
    );
    let is_admin = org.role == OrgRole::Admin;
    let handle = org.handle.clone();
    // Copy, so the nested form closures can read it any number of times.
    let stored_handle = StoredValue::new(org.handle.clone());
    let leave_result = leave.value();

    // After leaving, the organization is no longer ours to show.
    Effect::new(move |_| {
        if let Some(Ok(())) = leave_result.get() {
            selected.set(None);
        }
    });

    view! {
        <section class="card" data-testid="members">
            <div class="row spread">
                <h2>{org.name.clone()}" — members"</h2>
                <button
                    class="danger small"
                    on:click={
                        let handle = handle.clone();
                        move |_| {
                            leave.dispatch(LeaveOrg { org: handle.clone() });
                        }
                    }
                >
                    "Leave organization"
                </button>
            </div>
            <FormError result=leave_result/>
            <FormError result=set_role.value()/>
            <FormError result=remove.value()/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {
                    let handle = handle.clone();
                    move || {
                        let handle = handle.clone();
                        Suspend::new(async move {
                            match members.await {
                                Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                                Ok(list) => {
                                    view! {
                                        <table class="table">
                                            <thead>
                                                <tr>
                                                    <th>"Handle"</th>
                                                    <th>"Email"</th>
                                                    <th>"Role"</th>
                                                    <th>"Joined"</th>
                                                    <th></th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {list
                                                    .into_iter()
                                                    .map(|m| {
                                                        let org_for_role = handle.clone();
                                                        let org_for_remove = handle.clone();
                                                        let uid_role = m.user_id.clone();
                                                        let uid_remove = m.user_id.clone();
                                                        let other_role = match m.role {
                                                            OrgRole::Admin => OrgRole::Member,
                                                            OrgRole::Member => OrgRole::Admin,
                                                        };
                                                        view! {
                                                            <tr>
                                                                <td>{format!("@{}", m.handle)}</td>
                                                                <td>{m.email}</td>
                                                                <td>{m.role.as_str()}</td>
                                                                <td>{short_time(&m.joined_at)}</td>
                                                                <td class="actions">
                                                                    <Show when=move || is_admin>
                                                                        <button
                                                                            class="small"
                                                                            on:click={
                                                                                let org = org_for_role.clone();
                                                                                let uid = uid_role.clone();
                                                                                move |_| {
                                                                                    set_role
                                                                                        .dispatch(SetMemberRole {
                                                                                            org: org.clone(),
                                                                                            user_id: uid.clone(),
                                                                                            role: other_role,
                                                                                        });
                                                                                }
                                                                            }
                                                                        >
                                                                            "Make "
                                                                            {other_role.as_str()}
                                                                        </button>
                                                                        <button
                                                                            class="danger small"
                                                                            on:click={
                                                                                let org = org_for_remove.clone();
                                                                                let uid = uid_remove.clone();
                                                                                move |_| {
                                                                                    remove
                                                                                        .dispatch(RemoveMember {
                                                                                            org: org.clone(),
                                                                                            user_id: uid.clone(),
                                                                                        });
                                                                                }
                                                                            }
                                                                        >
                                                                            "Remove"
                                                                        </button>
                                                                    </Show>
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
                        })
                    }
                }
            </Transition>
            <Show when=move || is_admin>
                <h3>"Invitations"</h3>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let list = pending.await.unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="muted">"No open invitations."</p> }.into_any();
                        }
                        view! {
                            <ul class="plain" data-testid="pending-invitations">
                                {list.into_iter().map(|inv| {
                                    let (org, id) = (stored_handle.get_value(), inv.id.clone());
                                    view! {
                                        <li class="row spread">
                                            <span>{format!("{} as {} — invited {}", inv.email, inv.role.as_str(), short_time(&inv.invited_at))}</span>
                                            <button class="small" on:click=move |_| {
                                                withdraw.dispatch(WithdrawInvitation { org: org.clone(), id: id.clone() });
                                            }>"Withdraw"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </Transition>
                <h3>"Invite someone"</h3>
                <p class="hint">"They join only when they accept. Whether the address has an account is not shown: the person who has it sees the invitation."</p>
                <ActionForm action=add>
                    <input type="hidden" name="org" value=stored_handle.get_value()/>
                    <div class="row">
                        <label>"Email" <input type="email" name="email" required/></label>
                        <label>
                            "Role"
                            <select name="role">
                                <option value="member" selected>"member"</option>
                                <option value="admin">"admin"</option>
                            </select>
                        </label>
                        <button type="submit" class="primary" disabled=move || add.pending().get()>
                            "Invite"
                        </button>
                    </div>
                    <FieldError result=added field="email"/>
                    <FormError result=added/>
                    {move || matches!(added.get(), Some(Ok(_))).then(|| view! { <p class="ok" role="status">"Invitation sent."</p> })}
                </ActionForm>
            </Show>
        </section>
    }
}

/// An amount field and its period select, filled with `current`.
fn budget_fields(
    usd_name: &'static str,
    period_name: &'static str,
    label: &'static str,
    current: Option<BudgetDto>,
) -> impl IntoView {
    let amount = current
        .as_ref()
        .map(|b| b.usd.to_string())
        .unwrap_or_default();
    let period = current.map_or_else(|| "month".to_owned(), |b| b.period);
    view! {
        <label>
            {label}
            <input type="text" inputmode="decimal" name=usd_name value=amount placeholder="none"/>
        </label>
        <label>
            "per"
            <select name=period_name>
                {BUDGET_PERIODS.map(|(value, text)| view! {
                    <option value=value selected=period == value>{text}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// An organization's budgets, for its admins: what its connections may serve in all, and
/// what each member may spend on them. An empty amount means no budget.
#[component]
fn OrgBudgets(org: String) -> impl IntoView {
    let save = ServerAction::<SetOrgBudgets>::new();
    let saved = save.value();
    let handle = org.clone();
    let budgets = Resource::new(
        move || save.version().get(),
        move |_| org_budgets(handle.clone()),
    );
    view! {
        <section class="card" data-testid="org-budgets">
            <h2>"Budgets"</h2>
            <p class="muted">
                "Requests served by this organization's connections count against them; past one, "
                "requests are refused with 402 until the period resets. The tightest budget that "
                "applies wins, a key's and a person's own included."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {
                    let org = org.clone();
                    move || {
                        let org = org.clone();
                        Suspend::new(async move {
                            match budgets.await {
                                Err(e) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                                Ok(current) => view! {
                                    {current.budget.clone().zip(current.spent_usd).map(|(b, spent)| view! {
                                        <p>"This period: " {spend_bar(spent, &b, "org-spend")}</p>
                                    })}
                                    {current.member_budget.clone().filter(|_| !current.members.is_empty()).map(|b| view! {
                                        <table class="table" data-testid="member-spend">
                                            <thead><tr><th>"Member"</th><th>"Spent this period"</th></tr></thead>
                                            <tbody>
                                                {current.members.iter().map(|m| view! {
                                                    <tr data-member=m.handle.clone()>
                                                        <td>{format!("@{}", m.handle)}</td>
                                                        <td>{spend_bar(m.spent_usd, &b, "member-spend-bar")}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    })}
                                    <ActionForm action=save>
                                        <input type="hidden" name="org" value=org/>
                                        <div class="row">
                                            {budget_fields("budget_usd", "budget_period", "Organization, USD", current.budget)}
                                        </div>
                                        <div class="row">
                                            {budget_fields("member_usd", "member_period", "Each member, USD", current.member_budget)}
                                        </div>
                                        <button type="submit" class="primary" disabled=move || save.pending().get()>
                                            "Save budgets"
                                        </button>
                                        <FieldError result=saved field="budget_usd"/>
                                        <FieldError result=saved field="member_usd"/>
                                        <FormError result=saved/>
                                        <Done result=saved message={|_| "Budgets saved.".to_owned()}/>
                                    </ActionForm>
                                }.into_any(),
                            }
                        })
                    }
                }
            </Transition>
        </section>
    }
}
