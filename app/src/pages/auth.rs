//! Sign up and log in. Both are plain forms posting to server functions, so they also work
//! before the page has hydrated (the server's page guard then sends a signed-in visitor on).

use leptos::prelude::*;

use crate::api::{Login, Signup};
use crate::components::feedback::{FieldError, FormError};
use crate::UserContext;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let result = login.value();
    expect_context::<UserContext>().follow(result, "/connections");
    view! {
        <div class="auth-page">
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
                <p class="muted">"New here? " <a href="/signup">"Create an account"</a></p>
            </div>
        </div>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let result = signup.value();
    expect_context::<UserContext>().follow(result, "/connections");
    view! {
        <div class="auth-page">
            <div class="auth-card">
                <h1>"Create your LangMart account"</h1>
                <p class="muted">"The first account on a new installation becomes its administrator."</p>
                <ActionForm action=signup>
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
                            pattern="[a-z0-9-]+"
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
            </div>
        </div>
    }
}
