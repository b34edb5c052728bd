//! Key budgets that hold: reserved before the call at the request's maximum cost,
//! settled to the real cost after it, reset at the period's end, counted again after a
//! restart. Run on SQLite and on PostgreSQL.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{spawn_app, TestApp};

/// USD per output token of `groq/gpt-4o` in these tests (input is free), so a request
/// with `max_tokens: 7` reserves exactly what the mock's answer (7 completion tokens)
/// costs.
const PER_TOKEN: f64 = 0.001;
const ONE_REQUEST: f64 = 7.0 * PER_TOKEN;

/// An admin, a groq connection to a mock and the price above; returns the admin's key.
async fn priced(app: &TestApp, up: &ChatMock) -> String {
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    app.connection(&admin, json!({"provider": "groq", "name": "groq", "api_key": "sk-up-0001", "endpoint_url": up.base}))
        .await;
    let res = app
        .api(Method::PUT, "/api/prices", &admin)
        .json(
            &json!({"provider": "groq", "model": "gpt-4o", "input_per_mtok": 0.0,
                      "output_per_mtok": PER_TOKEN * 1e6}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    admin
}

async fn budgeted_key(app: &TestApp, maker: &str, budget: Value) -> (String, String) {
    app.key_with(maker, json!({"budget": budget})).await
}

async fn ask(app: &TestApp, key: &str, max_tokens: Option<u64>) -> reqwest::Response {
    ask_for(app, key, "groq/gpt-4o", max_tokens).await
}

async fn ask_for(
    app: &TestApp,
    key: &str,
    model: &str,
    max_tokens: Option<u64>,
) -> reqwest::Response {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    if let Some(n) = max_tokens {
        body["max_tokens"] = json!(n);
    }
    app.api(Method::POST, "/v1/chat/completions", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A 402 whose message starts with `whose` budget it was.
async fn refused(res: reqwest::Response, whose: &str) {
    assert_eq!(res.status(), StatusCode::PAYMENT_REQUIRED);
    let body: Value = res.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with(whose), "{body}");
}

async fn key_row(app: &TestApp, owner: &str, id: &str) -> Value {
    let keys: Value = app.get_json("/api/keys", owner).await;
    keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn fifty_concurrent_requests_against_a_budget_for_ten_spend_exactly_ten() {
    let Some(app) = spawn_app().await else { return };
    let up = ChatMock::start("up").await;
    let admin = priced(&app, &up).await;
    let (key, id) = budgeted_key(
        &app,
        &admin,
        json!({"usd": 10.0 * ONE_REQUEST, "period": "day"}),
    )
    .await;

    let answers = futures_util::future::join_all((0..50).map(|_| ask(&app, &key, Some(7)))).await;
    let mut ok = 0;
    for res in answers {
        match res.status() {
            StatusCode::OK => ok += 1,
            StatusCode::PAYMENT_REQUIRED => {
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"]["code"], "BUDGET_EXCEEDED", "{body}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains("resets at"), "{message}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 10, "exactly the ten the budget covers");
    let row = key_row(&app, &admin, &id).await;
    let spent = row["spent_usd"].as_f64().unwrap();
    assert!(
        (spent - 10.0 * ONE_REQUEST).abs() < 1e-9,
        "spent {spent} of a budget of {}",
        10.0 * ONE_REQUEST
    );
    let logged: f64 = app
        .log_rows(&key, "?limit=100")
        .await
        .iter()
        .filter_map(|r| r["cost_usd"].as_f64())
        .sum();
    assert!(logged <= 10.0 * ONE_REQUEST + 1e-9, "logged spend {logged}");

    // Without max_tokens the reservation is the default cap: far over what is left.
    let res = ask(&app, &key, None).await;
    assert_eq!(res.status(), StatusCode::PAYMENT_REQUIRED);
    app.stop().await;
}

#[tokio::test]
async fn a_budget_allows_spend_up_to_its_amount_resets_with_its_period_and_survives_a_restart() {
    let Some(app) = spawn_app().await else { return };
    let up = ChatMock::start("up").await;
    let admin = priced(&app, &up).await;
    // Exactly two requests: the second brings spend to the budget, which is allowed.
    let (key, id) = budgeted_key(
        &app,
        &admin,
        json!({"usd": 2.0 * ONE_REQUEST, "period": "day"}),
    )
    .await;
    assert_eq!(ask(&app, &key, Some(7)).await.status(), StatusCode::OK);
    assert_eq!(ask(&app, &key, Some(7)).await.status(), StatusCode::OK);
    let refused = ask(&app, &key, Some(7)).await;
    assert_eq!(refused.status(), StatusCode::PAYMENT_REQUIRED);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    let row = key_row(&app, &admin, &id).await;
    assert!(
        row["budget_resets_at"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z"),
        "{row}"
    );

    // A model without a price cannot be bounded: refused for a key with a budget.
    let res = ask_for(&app, &key, "groq/meta-llama/llama-4-scout", Some(1)).await;
    assert_eq!(res.status(), StatusCode::PAYMENT_REQUIRED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MODEL_UNPRICED", "{body}");

    // After a restart (a new server on the same database) the spend is still counted.
    app.state.request_log.flush().await;
    let mut app = app;
    app.stop_serving().await;
    let restarted = app.replica().await.unwrap();
    let res = ask(&restarted, &key, Some(7)).await;
    assert_eq!(res.status(), StatusCode::PAYMENT_REQUIRED, "still spent");

    // The next day the budget is whole again.
    restarted.state.budgets.clock.advance(86_400_000);
    assert_eq!(
        ask(&restarted, &key, Some(7)).await.status(),
        StatusCode::OK
    );
    let row = key_row(&restarted, &admin, &id).await;
    assert!(
        (row["spent_usd"].as_f64().unwrap() - ONE_REQUEST).abs() < 1e-9,
        "{row}"
    );
    restarted.stop().await;
}

#[tokio::test]
async fn a_cancelled_stream_is_charged_and_keys_made_with_a_budgeted_key_share_it() {
    let Some(app) = spawn_app().await else { return };
    let up = ChatMock::start("up").await;
    let admin = priced(&app, &up).await;
    let (key, id) = budgeted_key(&app, &admin, json!({"usd": 1.0, "period": "total"})).await;

    up.pace(200, 20);
    let mut res = app
        .api(Method::POST, "/v1/chat/completions", &key)
        .json(
            &json!({"model": "groq/gpt-4o", "stream": true, "max_tokens": 300,
                      "messages": [{"role": "user", "content": "count"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut seen = 0;
    while seen < 10 {
        let chunk = res.chunk().await.unwrap().unwrap();
        seen += String::from_utf8_lossy(&chunk).matches("data: ").count();
    }
    drop(res);
    let mut spent = 0.0;
    for _ in 0..50 {
        spent = key_row(&app, &admin, &id).await["spent_usd"]
            .as_f64()
            .unwrap();
        if spent > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Ten or more chunks of three or four characters: a few tokens, at $0.001 each.
    assert!(spent > 0.0 && spent < 300.0 * PER_TOKEN, "{spent}");
    up.recover();

    // A key made with it spends from the same budget, and has none of its own.
    let made: Value = app
        .api(Method::POST, "/api/keys", &key)
        .json(&json!({"name": "child"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let child = made["key"].as_str().unwrap().to_owned();
    assert_eq!(ask(&app, &child, Some(7)).await.status(), StatusCode::OK);
    let after = key_row(&app, &admin, &id).await["spent_usd"]
        .as_f64()
        .unwrap();
    assert!(
        (after - spent - ONE_REQUEST).abs() < 1e-9,
        "{spent} then {after}"
    );

    // Shrinking the parent's budget below what was spent stops the child too.
    let res = app
        .api(Method::PUT, &format!("/api/keys/{id}"), &admin)
        .json(&json!({"budget": {"usd": after, "period": "total"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        ask(&app, &child, Some(7)).await.status(),
        StatusCode::PAYMENT_REQUIRED
    );
    // Bad budgets are 400s.
    for budget in [
        json!({"usd": -1, "period": "day"}),
        json!({"usd": 1, "period": "fortnight"}),
    ] {
        let res = app
            .api(Method::POST, "/api/keys", &admin)
            .json(&json!({"name": "bad", "budget": budget}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{budget}");
    }
    app.stop().await;
}

/// The console's key form takes the limits, its key list shows the spend, and a key at
/// 80% of its budget or more is named in the warnings at the top of every page.
#[tokio::test]
async fn the_console_sets_limits_shows_spend_and_warns_near_a_budget() {
    let Some(app) = spawn_app().await else { return };
    let up = ChatMock::start("up").await;
    app.signup("ops@example.com", "ops").await;
    let form = |name: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut f = vec![("name", name), ("inference", "on"), ("manage", "on")];
        f.extend_from_slice(extra);
        f
    };
    let made: Value = app
        .call_fn("create_api_key", &form("admin", &[]))
        .await
        .json()
        .await
        .unwrap();
    let admin = made["key"].as_str().unwrap().to_owned();
    app.connection(&admin, json!({"provider": "groq", "name": "groq", "api_key": "sk-up-0001", "endpoint_url": up.base}))
        .await;
    let res = app
        .api(Method::PUT, "/api/prices", &admin)
        .json(
            &json!({"provider": "groq", "model": "gpt-4o", "input_per_mtok": 0.0,
                      "output_per_mtok": PER_TOKEN * 1e6}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let res = app
        .call_fn(
            "create_api_key",
            &form(
                "ci",
                &[
                    ("models", "groq/*, openai/gpt-4o"),
                    ("rate_limit_rpm", "100"),
                    ("budget_usd", "0.007"),
                    ("budget_period", "day"),
                ],
            ),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let made: Value = res.json().await.unwrap();
    let ci = made["key"].as_str().unwrap().to_owned();
    assert_eq!(
        made["api_key"]["models"],
        json!(["groq/*", "openai/gpt-4o"])
    );
    assert_eq!(made["api_key"]["rate_limit_rpm"], 100);
    assert_eq!(
        made["api_key"]["budget"],
        json!({"usd": 0.007, "period": "day"})
    );

    let warnings: Value = app
        .call_fn("service_warnings", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(!warnings.to_string().contains("Key 'ci'"), "{warnings}");
    assert_eq!(ask(&app, &ci, Some(7)).await.status(), StatusCode::OK);
    let warnings: Value = app
        .call_fn("service_warnings", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(
        warnings
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "Key 'ci' has used 100% of its $0.007 per day budget"),
        "{warnings}"
    );
    let keys: Value = app
        .call_fn("list_api_keys", &[])
        .await
        .json()
        .await
        .unwrap();
    let row = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ci")
        .unwrap();
    assert!(
        (row["spent_usd"].as_f64().unwrap() - ONE_REQUEST).abs() < 1e-9,
        "{row}"
    );

    let res = app
        .call_fn("create_api_key", &form("bad", &[("budget_usd", "lots")]))
        .await;
    let err = crate::common::fn_error(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(err["field"], "budget", "{err}");
    app.stop().await;
}

/// A platform admin limits a user; an organization's admins limit what its connections
/// serve, in all and per member. Each binds on its own, the tightest first, and each is
/// visible to the people it limits.
#[tokio::test]
async fn people_and_organizations_have_budgets_the_tightest_binds() {
    let Some(app) = spawn_app().await else { return };
    let up = ChatMock::start("up").await;
    let admin = priced(&app, &up).await;
    let (bob_id, bob) = app.user_with_key("bob@example.com", "bob").await;
    let (_, cy) = app.user_with_key("cy@example.com", "cyril").await;
    let res = app
        .api(Method::POST, "/api/organizations", &admin)
        .json(&json!({"name": "Acme", "handle": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    app.join_org(&admin, "acme", &bob, "bob@example.com", "member")
        .await;
    app.join_org(&admin, "acme", &cy, "cy@example.com", "member")
        .await;
    app.connection(&admin, json!({"provider": "groq", "name": "acme-groq", "api_key": "sk-up-0001",
                                  "endpoint_url": up.base, "scope": "organization", "organization": "acme"}))
        .await;
    // Only the organization's admins set its budgets; members see them.
    let res = app
        .api(Method::PUT, "/api/organizations/acme/budget", &bob)
        .json(&json!({"budget": {"usd": 1.0, "period": "month"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .api(Method::PUT, "/api/organizations/acme/budget", &admin)
        .json(
            &json!({"budget": {"usd": 3.0 * ONE_REQUEST, "period": "month"},
                      "member_budget": {"usd": 2.0 * ONE_REQUEST, "period": "month"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Per member: two each.
    assert_eq!(
        ask_for(&app, &bob, "acme/groq/gpt-4o", Some(7))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        ask_for(&app, &bob, "acme/groq/gpt-4o", Some(7))
            .await
            .status(),
        StatusCode::OK
    );
    refused(
        ask_for(&app, &bob, "acme/groq/gpt-4o", Some(7)).await,
        "Your budget in this organization",
    )
    .await;
    // The organization's three in all: cy gets the one left.
    assert_eq!(
        ask_for(&app, &cy, "acme/groq/gpt-4o", Some(7))
            .await
            .status(),
        StatusCode::OK
    );
    refused(
        ask_for(&app, &cy, "acme/groq/gpt-4o", Some(7)).await,
        "The organization's budget",
    )
    .await;
    // Bob's own connections are not the organization's: its budgets do not apply there.
    app.connection(&bob, json!({"provider": "groq", "name": "bobs", "api_key": "sk-up-0001", "endpoint_url": up.base}))
        .await;
    assert_eq!(ask(&app, &bob, Some(7)).await.status(), StatusCode::OK);

    let mine: Value = app.get_json("/api/budgets", &bob).await;
    let list = mine["budgets"].as_array().unwrap();
    let member = list.iter().find(|b| b["scope"] == "member").unwrap();
    assert!(
        (member["spent_usd"].as_f64().unwrap() - 2.0 * ONE_REQUEST).abs() < 1e-9,
        "{mine}"
    );
    let org = list.iter().find(|b| b["scope"] == "organization").unwrap();
    assert!(
        (org["spent_usd"].as_f64().unwrap() - 3.0 * ONE_REQUEST).abs() < 1e-9,
        "{mine}"
    );
    assert_eq!(org["owner"], "acme");
    // Its admins see the organization's spend and each member's.
    let view: Value = app.get_json("/api/organizations/acme/budget", &admin).await;
    assert!(
        (view["spent_usd"].as_f64().unwrap() - 3.0 * ONE_REQUEST).abs() < 1e-9,
        "{view}"
    );
    let spent_by = |handle: &str| {
        view["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["handle"] == handle)
            .and_then(|m| m["spent_usd"].as_f64())
            .unwrap_or(-1.0)
    };
    assert!((spent_by("bob") - 2.0 * ONE_REQUEST).abs() < 1e-9, "{view}");
    assert!((spent_by("cyril") - ONE_REQUEST).abs() < 1e-9, "{view}");
    let res = app
        .api(Method::GET, "/api/organizations/acme/budget", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "admins only");
    // The console warns cy of the organization's budget, spent.
    let res = app
        .call_fn(
            "login",
            &[
                ("email", "cy@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let warnings: Value = app
        .call_fn("service_warnings", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(
        warnings
            .as_array()
            .unwrap_or_else(|| panic!("{warnings}"))
            .iter()
            .any(|w| w == "@acme's budget is 100% used ($0.021 per month)"),
        "{warnings}"
    );

    // A platform admin limits bob everywhere: one more request's worth.
    let res = app
        .api(Method::PUT, &format!("/api/users/{bob_id}/budget"), &bob)
        .json(&json!({"budget": {"usd": 1.0, "period": "day"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "only platform admins");
    let res = app
        .api(Method::PUT, &format!("/api/users/{bob_id}/budget"), &admin)
        .json(&json!({"budget": {"usd": 2.0 * ONE_REQUEST, "period": "day"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Bob's spend today (three requests, counted from the log) is already past it.
    refused(
        ask_for(&app, &bob, "groq/gpt-4o", Some(7)).await,
        "Your budget",
    )
    .await;
    // Removed, bob is free again.
    let res = app
        .api(Method::PUT, &format!("/api/users/{bob_id}/budget"), &admin)
        .json(&json!({"budget": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(ask(&app, &bob, Some(7)).await.status(), StatusCode::OK);
    app.stop().await;
}

/// A key's `default_max_tokens` is what a budget reserves for a request that sets no
/// maximum (else 4,096, which a small budget cannot cover).
#[tokio::test]
async fn a_keys_default_max_tokens_sizes_the_reservation_of_open_requests() {
    let Some(app) = spawn_app().await else { return };
    let up = ChatMock::start("up").await;
    let admin = priced(&app, &up).await;
    let budget = json!({"usd": 2.0 * ONE_REQUEST, "period": "day"});
    let (open, _) = budgeted_key(&app, &admin, budget.clone()).await;
    assert_eq!(
        ask(&app, &open, None).await.status(),
        StatusCode::PAYMENT_REQUIRED
    );
    let (capped, id) = app
        .key_with(&admin, json!({"budget": budget, "default_max_tokens": 7}))
        .await;
    assert_eq!(ask(&app, &capped, None).await.status(), StatusCode::OK);
    assert_eq!(ask(&app, &capped, None).await.status(), StatusCode::OK);
    assert_eq!(
        ask(&app, &capped, None).await.status(),
        StatusCode::PAYMENT_REQUIRED
    );
    let row = key_row(&app, &admin, &id).await;
    assert_eq!(row["default_max_tokens"], 7, "{row}");
    let res = app
        .api(Method::POST, "/api/keys", &admin)
        .json(&json!({"name": "bad", "default_max_tokens": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}
