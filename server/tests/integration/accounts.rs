//! Sign-up, log-in, throttling, handles and sessions, through the console's server functions.

use crate::common::{fn_error, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn first_account_is_admin_and_later_ones_are_not() {
    let Some(app) = spawn_app().await else { return };
    let first = app.signup("ada@example.com", "ada").await;
    assert_eq!(first["handle"], "ada");
    assert_eq!(first["is_admin"], true);

    let other = app.state.accounts.create(server::auth::NewAccount {
        email: "bob@example.com".into(),
        password: "correct horse battery".into(),
        handle: "bob".into(),
        admin: false,
    });
    assert!(!other.await.unwrap().is_admin.0);
}

#[tokio::test]
async fn signup_starts_a_session_and_logout_ends_it() {
    let Some(app) = spawn_app().await else { return };
    let token = app
        .state
        .signup
        .issue_setup_token()
        .await
        .unwrap()
        .expect("a fresh install has a setup token");
    let res = app
        .call_fn(
            "signup",
            &[
                ("email", "Ada@Example.com"),
                ("password", "correct horse battery"),
                ("handle", "ada"),
                ("setup_token", &token),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("langmart_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );

    let me: Value = app.call_fn("current_user", &[]).await.json().await.unwrap();
    assert_eq!(
        me["email"], "ada@example.com",
        "emails are stored lowercased"
    );

    let out = app.call_fn("logout", &[]).await;
    assert_eq!(out.status(), StatusCode::OK);
    let me: Value = app.call_fn("current_user", &[]).await.json().await.unwrap();
    assert!(me.is_null());

    // Pages need a session again.
    let page = app.browser.get(app.url("/settings")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/login");
}

#[tokio::test]
async fn signup_rejects_bad_input_with_field_errors() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;

    let cases: &[(&str, &str, &str, StatusCode, &str, &str)] = &[
        (
            "x@example.com",
            "correct horse battery",
            "A!",
            StatusCode::BAD_REQUEST,
            "INVALID_HANDLE",
            "handle",
        ),
        (
            "x@example.com",
            "correct horse battery",
            "ab",
            StatusCode::BAD_REQUEST,
            "INVALID_HANDLE",
            "handle",
        ),
        (
            "x@example.com",
            "correct horse battery",
            "openai",
            StatusCode::BAD_REQUEST,
            "RESERVED_HANDLE",
            "handle",
        ),
        (
            "x@example.com",
            "correct horse battery",
            "collection",
            StatusCode::BAD_REQUEST,
            "RESERVED_HANDLE",
            "handle",
        ),
        (
            "x@example.com",
            "correct horse battery",
            "ada",
            StatusCode::CONFLICT,
            "HANDLE_TAKEN",
            "handle",
        ),
        (
            "x@example.com",
            "short",
            "xavier",
            StatusCode::BAD_REQUEST,
            "WEAK_PASSWORD",
            "password",
        ),
        (
            "not-an-email",
            "correct horse battery",
            "xavier",
            StatusCode::BAD_REQUEST,
            "INVALID_EMAIL",
            "email",
        ),
        (
            "ADA@example.com",
            "correct horse battery",
            "xavier",
            StatusCode::CONFLICT,
            "EMAIL_TAKEN",
            "email",
        ),
    ];
    let fresh = reqwest::Client::new();
    for (email, password, handle, status, code, field) in cases {
        let res = fresh
            .post(app.url("/api/fn/signup"))
            .header("accept", "application/json")
            .header("origin", &app.base)
            .form(&[
                ("email", *email),
                ("password", *password),
                ("handle", *handle),
            ])
            .send()
            .await
            .unwrap();
        let err = fn_error(res, *status).await;
        assert_eq!(err["code"], *code, "{email} {handle}: {err}");
        assert_eq!(err["field"], *field, "{email} {handle}: {err}");
    }
    // Nothing half-created: the handle "xavier" is still free.
    app.signup("xavier@example.com", "xavier").await;
}

#[tokio::test]
async fn a_missing_form_field_is_a_400_not_a_500() {
    let Some(app) = spawn_app().await else { return };
    let res = app.call_fn("signup", &[("email", "a@example.com")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn login_checks_the_password_and_slows_a_guessing_address() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    app.call_fn("logout", &[]).await;

    let ok = app
        .call_fn(
            "login",
            &[
                ("email", "ada@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.json::<Value>().await.unwrap()["handle"], "ada");

    // Five wrong guesses answer 401, then this address waits, with Retry-After; an
    // unknown email is answered exactly alike (nothing says which accounts exist).
    for email in ["ada@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            let bad = app
                .call_fn(
                    "login",
                    &[("email", email), ("password", "wrong password!")],
                )
                .await;
            assert_eq!(
                fn_error(bad, StatusCode::UNAUTHORIZED).await["code"],
                "AUTH_INVALID_CREDENTIALS"
            );
        }
        let sixth = app
            .call_fn(
                "login",
                &[("email", email), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(sixth.headers()["retry-after"], "1", "{email}");
        assert_eq!(
            fn_error(sixth, StatusCode::TOO_MANY_REQUESTS).await["code"],
            "AUTH_TOO_MANY_ATTEMPTS"
        );
    }
}

#[tokio::test]
async fn changing_a_handle_frees_the_old_one() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let res = app
        .call_fn("change_handle", &[("handle", "lovelace")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["handle"], "lovelace");

    let (_, key) = app.user_with_key("bob@example.com", "ada").await;
    let who: Value = app
        .api(reqwest::Method::GET, "/v1/auth/validate", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["user"]["handle"], "ada");

    let taken = app.call_fn("change_handle", &[("handle", "ada")]).await;
    assert_eq!(
        fn_error(taken, StatusCode::CONFLICT).await["code"],
        "HANDLE_TAKEN"
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let wrong = app
        .call_fn(
            "change_password",
            &[
                ("current_password", "nope nope nope"),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    let err = fn_error(wrong, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "current_password");

    let ok = app
        .call_fn(
            "change_password",
            &[
                ("current_password", "correct horse battery"),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    app.call_fn("logout", &[]).await;
    let login = app
        .call_fn(
            "login",
            &[
                ("email", "ada@example.com"),
                ("password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn console_calls_without_a_session_are_refused() {
    let Some(app) = spawn_app().await else { return };
    let res = app.call_fn("list_api_keys", &[]).await;
    assert_eq!(
        fn_error(res, StatusCode::UNAUTHORIZED).await["code"],
        "AUTH_REQUIRED"
    );
}

#[tokio::test]
async fn sessions_live_in_the_database_so_another_replica_serves_them() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let Some(replica) = app.replica().await else {
        return;
    };
    let me: Value = replica
        .call_fn("current_user", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["handle"], "ada");
}
