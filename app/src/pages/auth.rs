//! Sign up and log in. Both are plain forms posting to server functions, so they also work
//! before the page has hydrated (the server's page guard then sends a signed-in visitor on).

use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use crate::api::{signup_status, Login, Signup};
use crate::components::feedback::{FieldError, FormError};
use crate::dto::{SignupPolicy, SignupStatusDto};
use crate::UserContext;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let result = login.value();
    expect_context::<UserContext>().follow(result, "/dashboard");
    view! {
        <main class="auth-page">
            <div class="auth-card">
                <h1>"Log in to LangMart"</h1>
                <ActionForm action=login>
                    <label>
                        "Email" <input type="email" name="email" autocomplete="username" required/>
                    </label>
                    <label>
                        "Password"
                        <input
                            type="password"
                            name="password"
                            autocomplete="current-password"
                            required
                        />
                    </label>
                    <FormError result/>
                    <button type="submit" class="primary" disabled=move || login.pending().get()>
                        "Log in"
                    </button>
                </ActionForm>
                <SignupHint/>
            </div>
        </main>
    }
}

/// Under the log-in form: how to get an account here, as the sign-up policy says.
#[component]
fn SignupHint() -> impl IntoView {
    let status = Resource::new(|| (), |_| signup_status());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(SignupStatusDto { needs_setup: true, .. }) => view! {
                        <p class="muted">"No account yet: " <a href="/signup">"set up this LangMart"</a></p>
                    }.into_any(),
                    Ok(SignupStatusDto { policy: SignupPolicy::Open, .. }) => view! {
                        <p class="muted">"New here? " <a href="/signup">"Create an account"</a></p>
                    }.into_any(),
                    Ok(SignupStatusDto { policy: SignupPolicy::Invite, .. }) => view! {
                        <p class="muted">"New here? Open the invite link an administrator sent you."</p>
                    }.into_any(),
                    _ => view! { <p class="muted">"Accounts are made by an administrator."</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let result = signup.value();
    expect_context::<UserContext>().follow(result, "/dashboard");
    let status = Resource::new(|| (), |_| signup_status());
    let query = use_query_map();
    view! {
        <main class="auth-page">
            <div class="auth-card">
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let status = match status.await {
                            Ok(status) => status,
                            Err(e) => return view! { <p class="form-error">{e.message}</p> }.into_any(),
                        };
                        if !status.needs_setup && status.policy == SignupPolicy::Closed {
                            return view! {
                                <h1>"Sign-up is closed"</h1>
                                <p class="muted">"Accounts on this LangMart are made by an administrator."</p>
                                <p class="muted">"Already have an account? " <a href="/login">"Log in"</a></p>
                            }.into_any();
                        }
                        let invite = query.read_untracked().get("invite").unwrap_or_default();
                        let ask_invite = !status.needs_setup && status.policy == SignupPolicy::Invite;
                        view! {
                            <SignupForm signup needs_setup=status.needs_setup ask_invite invite/>
                        }.into_any()
                    })}
                </Suspense>
            </div>
        </main>
    }
}

/// The sign-up form: the account's fields, plus the setup token on a fresh install or
/// the invite (taken from the link, or pasted) under the `invite` policy.
#[component]
fn SignupForm(
    signup: ServerAction<Signup>,
    needs_setup: bool,
    ask_invite: bool,
    invite: String,
) -> impl IntoView {
    let result = signup.value();
    let from_link = !invite.is_empty();
    view! {
        <h1>{if needs_setup { "Set up LangMart" } else { "Create your LangMart account" }}</h1>
        {needs_setup.then(|| view! {
            <p class="muted">
                "This account becomes the administrator. Enter the setup token printed in the server log at start ("
                <code>"No account exists yet…"</code>")."
            </p>
        })}
        <ActionForm action=signup>
            {needs_setup.then(|| view! {
                <label>
                    "Setup token" <input type="text" name="setup_token" autocomplete="off" required spellcheck="false"/>
                </label>
                <FieldError result field="setup_token"/>
            })}
            {(ask_invite && from_link).then(|| view! {
                <input type="hidden" name="invite" value=invite.clone()/>
                <p class="muted">"You were invited: choose your email, handle and password."</p>
            })}
            {(ask_invite && !from_link).then(|| view! {
                <label>
                    "Invite link" <input type="text" name="invite" autocomplete="off" required placeholder="https://…/signup?invite=…"/>
                </label>
            })}
            {ask_invite.then(|| view! { <FieldError result field="invite"/> })}
            <label>
                "Email" <input type="email" name="email" autocomplete="email" required/>
            </label>
            <FieldError result field="email"/>
            <label>
                "Handle"
                <input
                    type="text"
                    name="handle"
                    required
                    minlength="3"
                    maxlength="39"
                    pattern="[a-z0-9\\-]+"
                    placeholder="e.g. ada"
                />
            </label>
            <p class="hint">"3–39 characters: lowercase letters, digits and dashes. Used in model names like handle/openai/gpt-4o."</p>
            <FieldError result field="handle"/>
            <label>
                "Password"
                <input
                    type="password"
                    name="password"
                    autocomplete="new-password"
                    required
                    minlength="10"
                />
            </label>
            <p class="hint">"At least 10 characters."</p>
            <FieldError result field="password"/>
            <FormError result/>
            <button type="submit" class="primary" disabled=move || signup.pending().get()>
                "Create account"
            </button>
        </ActionForm>
        <p class="muted">"Already have an account? " <a href="/login">"Log in"</a></p>
    }
}
