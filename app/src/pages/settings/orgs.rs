use leptos::prelude::*;

use super::short_time;
use crate::api::{
    list_members, list_orgs, AddMember, CreateOrg, LeaveOrg, RemoveMember, SetMemberRole,
};
use crate::components::feedback::{FieldError, FormError};
use crate::dto::{OrgDto, OrgRole};

#[component]
pub fn OrganizationsTab() -> impl IntoView {
    let create = ServerAction::<CreateOrg>::new();
    let leave = ServerAction::<LeaveOrg>::new();
    let created = create.value();
    let orgs = Resource::new(
        move || (create.version().get(), leave.version().get()),
        |_| list_orgs(),
    );
    let selected = RwSignal::new(None::<String>);

    view! {
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
                        Ok(list) => view! { <OrgTable list selected/> }.into_any(),
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
                    org.map(|org| view! { <Members org leave selected/> })
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
fn OrgTable(list: Vec<OrgDto>, selected: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <table class="table" data-testid="orgs">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Handle"</th>
                    <th>"Your role"</th>
                    <th>"Members"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|org| {
                        let handle = org.handle.clone();
                        view! {
                            <tr>
                                <td>{org.name}</td>
                                <td><code>{org.handle}</code></td>
                                <td>{org.role.as_str()}</td>
                                <td>{org.member_count}</td>
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
    let add = ServerAction::<AddMember>::new();
    let set_role = ServerAction::<SetMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let added = add.value();
    let org_handle = org.handle.clone();
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
                <h3>"Add a member"</h3>
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
                            "Add"
                        </button>
                    </div>
                    <FieldError result=added field="email"/>
                    <FormError result=added/>
                </ActionForm>
            </Show>
        </section>
    }
}
