//! The page shown for unknown paths.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <div class="auth-page">
            <div class="auth-card">
                <h1>"Page not found"</h1>
                <p><a href="/">"Back to the console"</a></p>
            </div>
        </div>
    }
}
