//! Small pieces every form uses to show what the server said.

use leptos::prelude::*;

use crate::error::AppError;

/// The server's message for one field, rendered under its input.
#[component]
pub fn FieldError<T, S>(result: S, field: &'static str) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || {
        result
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(field))
            .map(|msg| view! { <p class="field-error" data-field=field>{msg}</p> })
    }
}

/// The server's message when it is not about a single field.
#[component]
pub fn FormError<T, S>(result: S) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || {
        result
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field.is_none())
            .map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })
    }
}

/// A short confirmation when an action succeeded ("Credentials updated."): a polite live
/// region in the corner that fades after a few seconds.
#[component]
pub fn Done<T, S>(result: S, message: fn(&T) -> String) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || {
        result.get().and_then(|r| r.ok()).map(|value| {
            view! { <p class="toast" role="status" data-testid="toast">{message(&value)}</p> }
        })
    }
}

/// How many times an action succeeded: a resource keyed on it reads again after a change
/// that took, while a refused one leaves the form as typed (with its error).
pub fn successes<T, S>(result: S) -> ReadSignal<u32>
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    let (count, set_count) = signal(0u32);
    Effect::new(move |_| {
        if result.with(|r| matches!(r, Some(Ok(_)))) {
            set_count.update(|n| *n += 1);
        }
    });
    count
}
