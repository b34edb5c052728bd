//! Pages whose features arrive in later releases. They say so plainly instead of
//! pretending to hold data.

use leptos::prelude::*;

#[component]
fn EmptyState(title: &'static str, lead: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>{title}</h1>
            <p class="muted">{lead}</p>
        </header>
        <section class="card empty-state">
            <p>{body}</p>
        </section>
    }
}

#[component]
pub fn CollectionsPage() -> impl IntoView {
    view! {
        <EmptyState
            title="Model Collections"
            lead="Named groups of models with a routing strategy, called as collection/NAME."
            body="No collections yet. Collections need connections to route to, which are not available in this build."
        />
    }
}

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
