//! Settings: the account, LangMart API keys and organizations, one tab each; for platform
//! admins also users (with sign-up invites) and providers.

mod account;
mod keys;
mod orgs;
mod providers;
mod users;

pub use account::AccountTab;
pub use keys::ApiKeysTab;
pub use orgs::OrganizationsTab;
pub use providers::ProvidersTab;
pub use users::UsersTab;

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let is_admin = crate::Viewer::current().is_admin();
    view! {
        <header class="page-header">
            <h1>"Settings"</h1>
        </header>
        <nav class="tabs">
            <A href="/settings" exact=true>"Account"</A>
            <A href="/settings/keys">"API Keys"</A>
            <A href="/settings/organizations">"Organizations"</A>
            {is_admin.then(|| view! {
                <A href="/settings/users">"Users"</A>
                <A href="/settings/providers">"Providers"</A>
            })}
        </nav>
        <Outlet/>
    }
}

/// Formats an RFC 3339 timestamp for a table cell: date and minutes, UTC.
pub(crate) fn short_time(ts: &str) -> String {
    let trimmed = ts.replace('T', " ");
    trimmed.chars().take(16).collect::<String>() + " UTC"
}
