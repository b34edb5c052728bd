use leptos::prelude::*;

use crate::api::{body_capture, ChangeHandle, ChangePassword, SetBodyCapture};
use crate::components::feedback::{successes, Done, FieldError, FormError};
use crate::{UserContext, Viewer};

#[component]
pub fn AccountTab() -> impl IntoView {
    let ctx = expect_context::<UserContext>();
    let change_handle = ServerAction::<ChangeHandle>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let handle_result = change_handle.value();
    let password_result = change_password.value();
    let set_capture = ServerAction::<SetBodyCapture>::new();
    // Read again after a change that took: a refused value keeps what was typed.
    let capture_saved_count = successes(set_capture.value());
    let capture = Resource::new(move || capture_saved_count.get(), |_| body_capture());

    // A new handle shows everywhere (sidebar included) once it is saved.
    Effect::new(move |_| {
        if let Some(Ok(_)) = handle_result.get() {
            ctx.refresh();
        }
    });

    view! {
        <section class="card">
            <h2>"Account"</h2>
            {Viewer::current().0.map(|user| view! {
                <dl class="facts">
                    <dt>"Email"</dt>
                    <dd data-testid="account-email">{user.email}</dd>
                    <dt>"Handle"</dt>
                    <dd data-testid="account-handle">{user.handle}</dd>
                    <dt>"Role"</dt>
                    <dd>{if user.is_admin { "Platform admin" } else { "Member" }}</dd>
                </dl>
            })}
        </section>
        <section class="card">
            <h2>"Change handle"</h2>
            <p class="muted">
                "Your handle names your connections in model strings (handle/provider/model)."
            </p>
            <ActionForm action=change_handle>
                <label>
                    "New handle"
                    <input type="text" name="handle" required minlength="3" maxlength="39"/>
                </label>
                <FieldError result=handle_result field="handle"/>
                <FormError result=handle_result/>
                <button type="submit" disabled=move || change_handle.pending().get()>
                    "Save handle"
                </button>
                {move || {
                    matches!(handle_result.get(), Some(Ok(_)))
                        .then(|| view! { <span class="ok">"Saved."</span> })
                }}
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Change password"</h2>
            <ActionForm action=change_password>
                <label>
                    "Current password"
                    <input
                        type="password"
                        name="current_password"
                        autocomplete="current-password"
                        required
                    />
                </label>
                <FieldError result=password_result field="current_password"/>
                <label>
                    "New password"
                    <input
                        type="password"
                        name="new_password"
                        autocomplete="new-password"
                        required
                        minlength="10"
                    />
                </label>
                <FieldError result=password_result field="password"/>
                <FormError result=password_result/>
                <button type="submit" disabled=move || change_password.pending().get()>
                    "Change password"
                </button>
                {move || {
                    matches!(password_result.get(), Some(Ok(_)))
                        .then(|| view! { <span class="ok">"Password changed."</span> })
                }}
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Body capture"</h2>
            <p class="muted">
                "Off by default. When on, LangMart keeps the request and response bodies of your own calls (up to 64 KiB each) for the days you choose, and shows them in the request log's detail. Only you can read them."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let days = capture.await.ok().flatten();
                    view! {
                        <ActionForm action=set_capture attr:data-testid="body-capture">
                            <label class="checkbox">
                                <input type="checkbox" name="enabled" checked=days.is_some()/>
                                "Keep request and response bodies"
                            </label>
                            <label>
                                "Keep them for (days, 1–30)"
                                <input type="text" inputmode="numeric" name="retention_days" value=days.unwrap_or(7).to_string()/>
                            </label>
                            <FieldError result=set_capture.value() field="retention_days"/>
                            <FormError result=set_capture.value()/>
                            <button type="submit" disabled=move || set_capture.pending().get()>"Save"</button>
                        </ActionForm>
                    }
                })}
            </Transition>
            <Done result=set_capture.value() message={capture_saved}/>
        </section>
    }
}

fn capture_saved(days: &Option<i64>) -> String {
    match days {
        Some(d) => format!("Bodies of your calls are kept {d} days from now on."),
        None => "Body capture is off.".to_owned(),
    }
}
