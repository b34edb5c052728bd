//! The signed-in frame: sidebar navigation, who is signed in, and the page outlet.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::api::{notifications, service_warnings, Logout};
use crate::{UserContext, Viewer};

#[component]
pub fn Shell() -> impl IntoView {
    let ctx = expect_context::<UserContext>();
    let logout = ServerAction::<Logout>::new();
    ctx.follow(logout.value(), "/login");
    let warnings = Resource::new(|| (), |()| service_warnings());
    // The unread count, read again on every page change and when the panel marks them read.
    let path = leptos_router::hooks::use_location().pathname;
    let seen = NotificationsSeen(RwSignal::new(0));
    provide_context(seen);
    let unread = Resource::new(move || (path.get(), seen.0.get()), |_| notifications());
    // The whole frame waits for the viewer, then hands it down as a plain value.
    view! {
        <Transition fallback=|| view! { <div class="layout"><main class="content"></main></div> }>
            {move || Suspend::new(async move {
                let viewer = Viewer(ctx.user.await.ok().flatten());
                provide_context(viewer.clone());
                view! {
                    <div class="layout">
                        <aside class="sidebar">
                            <a class="brand" href="/">"LangMart"</a>
                            <nav class="nav">
                                <A href="/dashboard">"Dashboard"</A>
                                <A href="/connections">"Connections"</A>
                                <A href="/models">"Models"</A>
                                <A href="/collections">"Model Collections"</A>
                                <A href="/logs">"Request Logs"</A>
                                <A href="/playground">"Playground"</A>
                                <A href="/notifications">
                                    "Notifications"
                                    <Transition fallback=|| ()>
                                        {move || Suspend::new(async move {
                                            let n = unread.await.map(|n| n.unread).unwrap_or(0);
                                            (n > 0).then(|| view! {
                                                " "<span class="badge" data-testid="unread">{n}</span>
                                            })
                                        })}
                                    </Transition>
                                </A>
                                <A href="/settings">"Settings"</A>
                            </nav>
                            <div class="whoami">
                                {match viewer.0 {
                                    Some(user) => view! {
                                        <span class="handle" data-testid="current-handle">
                                            {format!("@{}", user.handle)}
                                        </span>
                                        <span class="email">{user.email}</span>
                                    }
                                        .into_any(),
                                    None => view! { <A href="/login">"Log in"</A> }.into_any(),
                                }}
                                <ActionForm action=logout>
                                    <button type="submit" class="link">"Log out"</button>
                                </ActionForm>
                            </div>
                        </aside>
                        <main class="content">
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    warnings
                                        .await
                                        .unwrap_or_default()
                                        .into_iter()
                                        .map(|w| {
                                            view! {
                                                <p class="service-warning" role="alert" data-testid="service-warning">
                                                    {w}
                                                </p>
                                            }
                                        })
                                        .collect_view()
                                })}
                            </Transition>
                            <Outlet/>
                        </main>
                    </div>
                }
            })}
        </Transition>
    }
}

/// Bumped when the notifications panel marks them read, so the unread badge follows.
#[derive(Clone, Copy)]
pub struct NotificationsSeen(pub RwSignal<u32>);

/// The page's content for platform admins; everyone else is told the page is not theirs
/// and gets no controls.
#[component]
pub fn AdminOnly(children: ChildrenFn) -> impl IntoView {
    let admin = Viewer::current().is_admin();
    move || {
        if admin {
            children().into_any()
        } else {
            view! {
                <section class="card" data-testid="admins-only">
                    <p class="muted">"Only platform admins can see this page."</p>
                </section>
            }
            .into_any()
        }
    }
}
