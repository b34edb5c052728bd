//! The LangMart console: pages, components, the DTOs they share with the server and the
//! server-function declarations. Built for the server (`ssr`) and the browser (`hydrate`).

// Leptos view types nest deeply; the default limit is too low for the larger pages.
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod components;
pub mod dto;
pub mod error;
mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

use components::layout::Shell;
use pages::{
    auth::{LoginPage, SignupPage},
    collections::CollectionsPage,
    connections::{ConnectionDetailPage, ConnectionsPage},
    dashboard::DashboardPage,
    logs::LogsPage,
    models::ModelsPage,
    notifications::NotificationsPage,
    playground::PlaygroundPage,
    settings::{AccountTab, ApiKeysTab, OrganizationsTab, ProvidersTab, SettingsPage, UsersTab},
};

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Beside the bundle: a hashed build directory names the stylesheet too.
    let stylesheet = format!("/{}/langmart.css", options.site_pkg_dir);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href=stylesheet/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The signed-in user, shared by every page and refreshed when the account changes.
#[derive(Clone, Copy)]
pub struct UserContext {
    pub user: Resource<Result<Option<dto::UserDto>, error::AppError>>,
    pub version: RwSignal<u32>,
}

impl UserContext {
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }

    /// After a successful sign-in, sign-up or sign-out: refetch the user and go to `path`.
    pub fn follow<T: Send + Sync + 'static>(
        self,
        result: impl Get<Value = Option<Result<T, error::AppError>>> + Send + Sync + 'static,
        path: &'static str,
    ) {
        let navigate = leptos_router::hooks::use_navigate();
        Effect::new(move |_| {
            if let Some(Ok(_)) = result.get() {
                self.refresh();
                navigate(path, Default::default());
            }
        });
    }
}

/// Who is looking at the page. The frame (`Shell`) reads it once per page load and
/// renders nothing that depends on it before then, so the server's render and the
/// browser's hydration build the same tree; pages ask `Viewer::current()` instead of
/// reading the user resource, whose state differs between the two while it loads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Viewer(pub Option<dto::UserDto>);

impl Viewer {
    pub fn current() -> Self {
        use_context::<Viewer>().unwrap_or_default()
    }

    pub fn is_admin(&self) -> bool {
        self.0.as_ref().is_some_and(|u| u.is_admin)
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let version = RwSignal::new(0u32);
    let user = Resource::new(move || version.get(), |_| api::current_user());
    provide_context(UserContext { user, version });

    // Marks the page as interactive; end-to-end tests wait for it instead of sleeping.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title text="LangMart"/>
        <Router>
            <Routes fallback=|| view! { <pages::empty::NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/signup") view=SignupPage/>
                <ParentRoute path=path!("") view=Shell>
                    <Route path=path!("") view=DashboardPage/>
                    <Route path=path!("dashboard") view=DashboardPage/>
                    <Route path=path!("connections") view=ConnectionsPage/>
                    <Route path=path!("connections/:id") view=ConnectionDetailPage/>
                    <Route path=path!("gateways") view=pages::gateways::GatewaysPage/>
                    <Route path=path!("models") view=ModelsPage/>
                    <Route path=path!("collections") view=CollectionsPage/>
                    <Route path=path!("logs") view=LogsPage/>
                    <Route path=path!("playground") view=PlaygroundPage/>
                    <Route path=path!("notifications") view=NotificationsPage/>
                    <ParentRoute path=path!("settings") view=SettingsPage>
                        <Route path=path!("") view=AccountTab/>
                        <Route path=path!("keys") view=ApiKeysTab/>
                        <Route path=path!("organizations") view=OrganizationsTab/>
                        <Route path=path!("providers") view=ProvidersTab/>
                        <Route path=path!("users") view=UsersTab/>
                    </ParentRoute>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
