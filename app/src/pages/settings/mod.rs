//! Settings: the account, LangMart API keys and organizations, one tab each.

mod account;
mod keys;
mod orgs;

pub use account::AccountTab;
pub use keys::ApiKeysTab;
pub use orgs::OrganizationsTab;

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <nav class="tabs">
            <A href="/settings" exact=true>"Account"</A>
            <A href="/settings/keys">"API Keys"</A>
            <A href="/settings/organizations">"Organizations"</A>
        </nav>
        <Outlet/>
    }
}

/// Formats an RFC 3339 timestamp for a table cell: date and minutes, UTC.
pub(crate) fn short_time(ts: &str) -> String {
    let trimmed = ts.replace('T', " ");
    trimmed.chars().take(16).collect::<String>() + " UTC"
}
