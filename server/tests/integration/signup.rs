//! Who may create an account: the setup token of a fresh install (nobody anonymous
//! becomes admin), the `invite` policy's single-use links, `open` and `closed`.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{browser, error_code, spawn_app_with, TestApp};
use app::dto::SignupPolicy;

/// A server function called from a browser of its own (a visitor other than `app.browser`).
async fn call_as(
    app: &TestApp,
    visitor: &Client,
    name: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    visitor
        .post(app.url(&format!("/api/fn/{name}")))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn sign_up(
    app: &TestApp,
    visitor: &Client,
    email: &str,
    handle: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("email", email),
        ("password", "correct horse battery"),
        ("handle", handle),
    ];
    form.extend_from_slice(extra);
    call_as(app, visitor, "signup", &form).await
}

async fn refused(res: reqwest::Response, code: &str, field: Option<&str>) {
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["field"].as_str(), field, "{body}");
}

async fn app_with(policy: SignupPolicy) -> Option<TestApp> {
    spawn_app_with(|s| s.signup = policy).await
}

/// On a fresh install no visitor becomes admin without the setup token from the log,
/// whatever the policy; the token works once, and then sign-up follows the policy.
#[tokio::test]
async fn the_first_account_needs_the_setup_token() {
    for policy in [
        SignupPolicy::Open,
        SignupPolicy::Invite,
        SignupPolicy::Closed,
    ] {
        let Some(app) = app_with(policy).await else {
            return;
        };
        let status: Value = app
            .call_fn("signup_status", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            status,
            json!({"policy": policy.as_str(), "needs_setup": true})
        );
        let visitor = browser();
        refused(
            sign_up(&app, &visitor, "eve@example.com", "eve", &[]).await,
            "SETUP_TOKEN_REQUIRED",
            Some("setup_token"),
        )
        .await;
        refused(
            sign_up(
                &app,
                &visitor,
                "eve@example.com",
                "eve",
                &[("setup_token", "setup-guessed")],
            )
            .await,
            "SETUP_TOKEN_REQUIRED",
            Some("setup_token"),
        )
        .await;
        // What the server printed at start (each start issues one; any of them works).
        let token = app.state.signup.issue_setup_token().await.unwrap().unwrap();
        let owner = browser();
        let res = sign_up(
            &app,
            &owner,
            "owner@example.com",
            "owner",
            &[("setup_token", &token)],
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["is_admin"], true);
        // Spent, and every other setup token with it.
        refused(
            sign_up(
                &app,
                &visitor,
                "eve@example.com",
                "eve",
                &[("setup_token", &token)],
            )
            .await,
            "SETUP_TOKEN_REQUIRED",
            Some("setup_token"),
        )
        .await;
        assert_eq!(app.state.signup.issue_setup_token().await.unwrap(), None);
        let status: Value = app
            .call_fn("signup_status", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(status["needs_setup"], false);
        let after = sign_up(&app, &visitor, "eve@example.com", "eve", &[]).await;
        match policy {
            SignupPolicy::Open => {
                assert_eq!(after.status(), StatusCode::OK);
                assert_eq!(after.json::<Value>().await.unwrap()["is_admin"], false);
            }
            SignupPolicy::Invite => refused(after, "SIGNUP_INVITE_REQUIRED", Some("invite")).await,
            SignupPolicy::Closed => refused(after, "SIGNUP_CLOSED", None).await,
        }
    }
}

/// Under `invite` (the default), a platform admin's link admits one person, once, until
/// it expires or is withdrawn; other users cannot make links.
#[tokio::test]
async fn invite_links_admit_one_person_once() {
    let Some(app) = app_with(SignupPolicy::Invite).await else {
        return;
    };
    assert_eq!(
        server::config::Settings::new("/tmp".into()).signup,
        SignupPolicy::Invite,
        "the default"
    );
    app.signup("admin@example.com", "ops").await;

    let made: Value = app
        .call_fn("create_signup_invite", &[("note", "Grace"), ("days", "7")])
        .await
        .json()
        .await
        .unwrap();
    let path = made["path"].as_str().unwrap().to_owned();
    let token = path.strip_prefix("/signup?invite=").unwrap().to_owned();
    assert_eq!(made["invite"]["status"], "unused");

    let grace = browser();
    refused(
        sign_up(
            &app,
            &grace,
            "grace@example.com",
            "grace",
            &[("invite", "inv-forged")],
        )
        .await,
        "SIGNUP_INVITE_REQUIRED",
        Some("invite"),
    )
    .await;
    // The whole pasted link works as well as the code.
    let link = app.url(&path);
    let res = sign_up(
        &app,
        &grace,
        "grace@example.com",
        "grace",
        &[("invite", &link)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let grace_user: Value = res.json().await.unwrap();
    assert_eq!(grace_user["is_admin"], false);

    let mallory = browser();
    refused(
        sign_up(
            &app,
            &mallory,
            "mallory@example.com",
            "mallory",
            &[("invite", &token)],
        )
        .await,
        "SIGNUP_INVITE_REQUIRED",
        Some("invite"),
    )
    .await;
    let invites: Value = app
        .call_fn("list_signup_invites", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(invites[0]["status"], "used");
    assert_eq!(invites[0]["used_by"], "grace@example.com");
    assert_eq!(invites[0]["created_by"], "admin@example.com");
    assert!(
        !invites.to_string().contains(&token),
        "the token is never listed"
    );

    // A failed sign-up (email taken) does not spend the invite.
    let second: Value = app
        .call_fn("create_signup_invite", &[("note", "")])
        .await
        .json()
        .await
        .unwrap();
    let second_token = second["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/signup?invite=")
        .to_owned();
    let taken = sign_up(
        &app,
        &mallory,
        "grace@example.com",
        "grace2",
        &[("invite", &second_token)],
    )
    .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    // Withdrawn: refused.
    let id = second["invite"]["id"].as_str().unwrap();
    assert_eq!(
        app.call_fn("withdraw_signup_invite", &[("id", id)])
            .await
            .status(),
        StatusCode::OK
    );
    refused(
        sign_up(
            &app,
            &mallory,
            "mallory@example.com",
            "mallory",
            &[("invite", &second_token)],
        )
        .await,
        "SIGNUP_INVITE_REQUIRED",
        Some("invite"),
    )
    .await;
    // Expired: refused.
    let third: Value = app
        .call_fn("create_signup_invite", &[("note", "late")])
        .await
        .json()
        .await
        .unwrap();
    let third_token = third["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/signup?invite=")
        .to_owned();
    sqlx::query("UPDATE signup_invites SET expires_at = 1 WHERE id = $1")
        .bind(third["invite"]["id"].as_str().unwrap())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    refused(
        sign_up(
            &app,
            &mallory,
            "mallory@example.com",
            "mallory",
            &[("invite", &third_token)],
        )
        .await,
        "SIGNUP_INVITE_REQUIRED",
        Some("invite"),
    )
    .await;

    // Grace (not an admin) can neither make links nor list them or the accounts.
    let no = call_as(&app, &grace, "create_signup_invite", &[("note", "friend")]).await;
    assert_eq!(no.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        call_as(&app, &grace, "list_signup_invites", &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call_as(&app, &grace, "list_users", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let users: Value = app.call_fn("list_users", &[]).await.json().await.unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);

    // Bad input is a 400 at its field.
    let res = app
        .call_fn("create_signup_invite", &[("note", "x"), ("days", "365")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "days");
}

/// The same through the REST API, with a `manage` key; only platform admins.
#[tokio::test]
async fn invites_and_users_over_the_api_are_for_admins() {
    let Some(app) = app_with(SignupPolicy::Invite).await else {
        return;
    };
    let admin = app
        .state
        .accounts
        .create(server::auth::NewAccount {
            email: "root@example.com".into(),
            password: "correct horse battery".into(),
            handle: "root".into(),
            admin: true,
        })
        .await
        .unwrap();
    let key = app
        .state
        .keys
        .create(
            &admin.id,
            None,
            server::auth::KeyRequest {
                name: "ops".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .key;
    let (_, user_key) = app.user_with_key("bob@example.com", "bob").await;

    let res = app
        .api(Method::POST, "/api/signup-invites", &key)
        .json(&json!({"note": "carol"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.unwrap();
    let token = made["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/signup?invite=")
        .to_owned();
    let list: Value = app
        .api(Method::GET, "/api/signup-invites", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["invites"].as_array().unwrap().len(), 1);
    let users: Value = app
        .api(Method::GET, "/api/users", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["users"].as_array().unwrap().len(), 2);
    for (method, path) in [
        (Method::GET, "/api/signup-invites"),
        (Method::POST, "/api/signup-invites"),
        (Method::GET, "/api/users"),
    ] {
        let res = app
            .api(method, path, &user_key)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, StatusCode::FORBIDDEN).await,
            "ACCESS_DENIED"
        );
    }
    let res = sign_up(
        &app,
        &browser(),
        "carol@example.com",
        "carol",
        &[("invite", &token)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = made["invite"]["id"].as_str().unwrap();
    let res = app
        .api(Method::DELETE, &format!("/api/signup-invites/{id}"), &key)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "NOT_FOUND",);
}
