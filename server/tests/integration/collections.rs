//! Model collections against mock upstreams: each strategy's behaviour, auto(free) with
//! daily quotas, access rules and validation.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::chat_mock::ChatMock;
use crate::common::{error_code, spawn_app, TestApp};

/// Creates a connection on `provider` (an OpenAI-compatible one) to `mock` and tests it,
/// which stores the mock's models (`gpt-4o`, …). No retries, so failures fall through fast.
pub(crate) async fn connect(
    app: &TestApp,
    key: &str,
    provider: &str,
    mock: &ChatMock,
    extra: Value,
) -> String {
    let mut body = json!({"provider": provider, "name": mock.name, "api_key": "sk-upstream-0001",
                          "endpoint_url": mock.base, "max_retries": 0});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let created: Value = app
        .api(Method::POST, "/api/connections", key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    let tested: Value = app
        .api(Method::POST, &format!("/api/connections/{id}/test"), key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tested["success"], true, "{tested}");
    id
}

pub(crate) async fn create_collection(app: &TestApp, key: &str, body: Value) -> Value {
    let res = app
        .api(Method::POST, "/api/collections", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    res.json().await.unwrap()
}

async fn chat(app: &TestApp, key: &str, model: &str) -> reqwest::Response {
    app.api(Method::POST, "/v1/chat/completions", key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}))
        .send()
        .await
        .unwrap()
}

/// Calls `model` and returns the connection that answered (asserting success).
async fn served(app: &TestApp, key: &str, model: &str) -> String {
    let res = chat(app, key, model).await;
    let status = res.status();
    let conn = res
        .headers()
        .get("x-langmart-connection")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let resolution = res
        .headers()
        .get("x-langmart-resolution")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(status, StatusCode::OK, "{:?}", res.text().await);
    assert!(matches!(resolution.as_deref(), Some("collection" | "auto")));
    conn
}

async fn explain(app: &TestApp, key: &str, model: &str) -> Value {
    let res = app
        .api(Method::GET, "/api/routing/explain", key)
        .query(&[("model", model)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn fallback_goes_down_the_list_and_the_log_names_the_collection() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let first = ChatMock::start("first").await;
    let second = ChatMock::start("second").await;
    let a = connect(&app, &key, "openai", &first, json!({})).await;
    let b = connect(&app, &key, "groq", &second, json!({})).await;
    let created = create_collection(
        &app,
        &key,
        json!({"name": "coding", "description": "code models", "strategy": "fallback",
               "models": ["openai/gpt-4o", {"model": "groq/gpt-4o"}]}),
    )
    .await;
    assert_eq!(created["reference"], "collection/ada/coding");
    assert_eq!(created["models"].as_array().unwrap().len(), 2);
    assert_eq!(created["can_edit"], true);

    assert_eq!(served(&app, &key, "collection/coding").await, a);
    assert_eq!(served(&app, &key, "collection/ada/coding").await, a);
    first.fail(503, None);
    assert_eq!(served(&app, &key, "collection/coding").await, b);

    let plan = explain(&app, &key, "collection/coding").await;
    assert_eq!(plan["strategy"], "fallback");
    assert_eq!(plan["collection"], "collection/ada/coding");
    let order: Vec<&str> = plan["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["member"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["openai/gpt-4o", "groq/gpt-4o"]);

    app.state.request_log.flush().await;
    let logs: Value = app
        .api(Method::GET, "/api/logs?resolution=collection", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = &logs["logs"][0];
    assert_eq!(last["collection"], "collection/ada/coding");
    assert_eq!(last["connection_id"], b.as_str());
    assert_eq!(last["attempts"][0]["outcome"], "http_503");

    // The collection is listed by /v1/models under the reference that calls it.
    let models: Value = app
        .api(Method::GET, "/v1/models", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(models["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "collection/ada/coding"));
    assert!(models["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "auto(free)"));
}

#[tokio::test]
async fn a_connection_says_which_collections_and_aliases_route_through_it() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let first = ChatMock::start("first").await;
    let second = ChatMock::start("second").await;
    let a = connect(&app, &key, "openai", &first, json!({})).await;
    let b = connect(&app, &key, "groq", &second, json!({})).await;
    create_collection(
        &app,
        &key,
        json!({"name": "coding", "strategy": "fallback", "models": ["openai/gpt-4o"]}),
    )
    .await;
    for (name, target) in [("claude-*", "collection/coding"), ("fast", "groq/gpt-4o")] {
        let res = app
            .api(Method::POST, "/api/aliases", &key)
            .json(&json!({"name": name, "target": target}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    }
    // Someone else's collection naming the same model is not theirs to see.
    connect(&app, &bob, "openai", &second, json!({})).await;
    create_collection(
        &app,
        &bob,
        json!({"name": "mine", "strategy": "fallback", "models": ["openai/gpt-4o"]}),
    )
    .await;

    let list = app.get_json("/api/connections", &key).await;
    let used_by = |id: &str| -> Vec<String> {
        let c = list["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        serde_json::from_value(c["used_by"].clone()).unwrap()
    };
    assert_eq!(used_by(&a), ["collection/ada/coding", "alias claude-*"]);
    // Groq is a free provider: its models are auto(free)'s members.
    assert_eq!(used_by(&b), ["auto(free)", "alias fast"]);
    let one = app.get_json(&format!("/api/connections/{b}"), &key).await;
    assert_eq!(one["used_by"], json!(["auto(free)", "alias fast"]));
}

#[tokio::test]
async fn round_robin_cycles_exactly_and_explain_does_not_move_it() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mut ids = Vec::new();
    for provider in ["openai", "groq", "mistral"] {
        let mock = ChatMock::start(provider).await;
        ids.push(connect(&app, &key, provider, &mock, json!({})).await);
    }
    create_collection(
        &app,
        &key,
        json!({"name": "rr", "strategy": "round_robin",
               "models": ["openai/gpt-4o", "groq/gpt-4o", "mistral/gpt-4o"]}),
    )
    .await;
    let mut seen = Vec::new();
    for i in 0..7 {
        if i == 3 {
            explain(&app, &key, "collection/rr").await;
        }
        seen.push(served(&app, &key, "collection/rr").await);
    }
    let expected: Vec<String> = (0..7).map(|i| ids[i % 3].clone()).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn random_spreads_calls_within_statistical_bounds() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mut ids = Vec::new();
    for provider in ["openai", "groq", "mistral"] {
        let mock = ChatMock::start(provider).await;
        ids.push(connect(&app, &key, provider, &mock, json!({})).await);
    }
    create_collection(
        &app,
        &key,
        json!({"name": "ab", "strategy": "random",
               "models": ["openai/gpt-4o", "groq/gpt-4o", "mistral/gpt-4o"]}),
    )
    .await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        *counts
            .entry(served(&app, &key, "collection/ab").await)
            .or_default() += 1;
    }
    // Expected 100 each; the standard deviation is about 8, so 60..140 is five of them.
    for id in &ids {
        let n = counts.get(id).copied().unwrap_or(0);
        assert!((60..=140).contains(&n), "{id}: {n} of 300 ({counts:?})");
    }
}

#[tokio::test]
async fn cost_optimized_takes_the_cheapest_priced_model_first() {
    let Some(app) = spawn_app().await else { return };
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let cheap = ChatMock::start("cheap").await;
    let dear = ChatMock::start("dear").await;
    let unpriced = ChatMock::start("unpriced").await;
    let dear_id = connect(&app, &admin, "openai", &dear, json!({})).await;
    let cheap_id = connect(&app, &admin, "mistral", &cheap, json!({})).await;
    let unpriced_id = connect(&app, &admin, "groq", &unpriced, json!({})).await;
    // openai/gpt-4o is seeded at 2.5/10 USD per million tokens; price mistral's lower.
    let set = app
        .api(Method::PUT, "/api/prices", &admin)
        .json(&json!({"provider": "mistral", "model": "gpt-4o", "input_per_mtok": 0.2, "output_per_mtok": 0.6}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let prices: Value = app
        .api(Method::GET, "/api/prices", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(prices["prices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["provider"] == "openai"
            && p["model"] == "gpt-4o"
            && p["input_per_mtok"] == 2.5));
    create_collection(
        &app,
        &admin,
        json!({"name": "thrifty", "strategy": "cost_optimized",
               "models": ["groq/gpt-4o", "openai/gpt-4o", "mistral/gpt-4o"]}),
    )
    .await;
    let plan = explain(&app, &admin, "collection/thrifty").await;
    let order: Vec<&str> = plan["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connection_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [cheap_id.as_str(), dear_id.as_str(), unpriced_id.as_str()]
    );
    let cost = plan["candidates"][0]["estimated_cost_usd"]
        .as_f64()
        .unwrap();
    // 100 prompt tokens at 0.2 + 256 output tokens at 0.6 per million.
    assert!((cost - 0.0001736).abs() < 1e-9, "{cost}");
    assert!(plan["candidates"][2]["estimated_cost_usd"].is_null());

    assert_eq!(served(&app, &admin, "collection/thrifty").await, cheap_id);
    cheap.fail(500, None);
    assert_eq!(served(&app, &admin, "collection/thrifty").await, dear_id);

    // Only platform admins set prices.
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let denied = app
        .api(Method::PUT, "/api/prices", &bob)
        .json(&json!({"provider": "mistral", "model": "gpt-4o", "input_per_mtok": 0.0, "output_per_mtok": 0.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(denied, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let negative = app
        .api(Method::PUT, "/api/prices", &admin)
        .json(&json!({"provider": "mistral", "model": "gpt-4o", "input_per_mtok": -1.0, "output_per_mtok": 0.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(negative, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );
}

#[tokio::test]
async fn latency_optimized_prefers_the_fast_route_and_keeps_exploring() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let slow = ChatMock::start("slow").await;
    let fast = ChatMock::start("fast").await;
    let slow_id = connect(&app, &key, "openai", &slow, json!({})).await;
    let fast_id = connect(&app, &key, "groq", &fast, json!({})).await;
    slow.delay(40);
    create_collection(
        &app,
        &key,
        json!({"name": "quick", "strategy": "latency_optimized",
               "models": ["openai/gpt-4o", "groq/gpt-4o"]}),
    )
    .await;
    // Warm-up: unmeasured routes are tried first, so both get measured.
    for _ in 0..4 {
        served(&app, &key, "collection/quick").await;
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..100 {
        *counts
            .entry(served(&app, &key, "collection/quick").await)
            .or_default() += 1;
    }
    let (to_fast, to_slow) = (
        counts.get(&fast_id).copied().unwrap_or(0),
        counts.get(&slow_id).copied().unwrap_or(0),
    );
    // Exploration sends about one in ten to the slower route: Binomial(100, 0.1).
    assert!(to_fast >= 75, "fast {to_fast}, slow {to_slow}");
    assert!(to_slow >= 1, "the slow route is re-measured now and then");

    // The fast route fails: it counts as slow, so the other one is preferred ...
    // (Until the failing route has been tried: a request that explores goes to the slow
    // route first and never reaches the fast one.)
    fast.fail(500, None);
    let tried = fast.calls();
    for _ in 0..50 {
        if fast.calls() > tried {
            break;
        }
        served(&app, &key, "collection/quick").await;
    }
    assert!(fast.calls() > tried, "the failing route was never tried");
    fast.recover();
    let plan = explain(&app, &key, "collection/quick").await;
    assert_eq!(
        plan["candidates"][0]["connection_id"],
        slow_id.as_str(),
        "{plan}"
    );
    // ... until exploration finds it has recovered and it wins again.
    let mut last = Vec::new();
    for _ in 0..200 {
        last.push(served(&app, &key, "collection/quick").await);
    }
    let recovered = last[150..].iter().filter(|c| **c == fast_id).count();
    assert!(recovered >= 35, "fast served {recovered} of the last 50");
}

#[tokio::test]
async fn auto_free_uses_free_providers_and_zero_prices_within_daily_quotas() {
    let Some(app) = spawn_app().await else { return };
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let free_tier = ChatMock::start("free-tier").await;
    let roomy = ChatMock::start("roomy").await;
    let paid = ChatMock::start("paid").await;
    let zero = ChatMock::start("zero").await;
    // groq and together are marked free by the admin; openai is not.
    let providers: Value = app
        .api(Method::GET, "/api/providers", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in ["groq", "together"] {
        let id = providers["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key"] == key)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app
            .api(Method::PUT, &format!("/api/providers/{id}"), &admin)
            .json(&json!({"free": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let platform = |rpd: Value| json!({"scope": "platform", "rate_limit_rpd": rpd});
    let limited = connect(&app, &admin, "groq", &free_tier, platform(json!(2))).await;
    let spare = connect(&app, &admin, "together", &roomy, platform(json!(1000))).await;
    let paid_id = connect(&app, &admin, "openai", &paid, platform(Value::Null)).await;
    let zero_id = connect(&app, &admin, "mistral", &zero, platform(Value::Null)).await;
    let set = app
        .api(Method::PUT, "/api/prices", &admin)
        .json(&json!({"provider": "mistral", "model": "gpt-4o", "input_per_mtok": 0.0, "output_per_mtok": 0.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);

    // Admins pick auto(free)'s strategy; fallback makes the order checkable.
    let collections: Value = app
        .api(Method::GET, "/api/collections", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let free = collections["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["reference"] == "auto(free)")
        .unwrap()
        .clone();
    assert_eq!(free["dynamic"], true);
    assert_eq!(free["can_edit"], true);
    let res = app
        .api(
            Method::PUT,
            &format!("/api/collections/{}", free["id"].as_str().unwrap()),
            &admin,
        )
        .json(&json!({"name": "free", "strategy": "fallback", "models": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);

    let plan = explain(&app, &bob, "auto(free)").await;
    let members: Vec<&str> = plan["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["connection_id"].as_str().unwrap())
        .collect();
    assert!(members.contains(&limited.as_str()) && members.contains(&spare.as_str()));
    assert!(
        members.contains(&zero_id.as_str()),
        "zero-priced models are free too"
    );
    assert!(
        !members.contains(&paid_id.as_str()),
        "paid models are not in auto(free)"
    );

    // bob (no connections of his own) calls auto(free); the groq tier allows two a day.
    let mut first_two = Vec::new();
    for _ in 0..2 {
        first_two.push(served(&app, &bob, "auto(free)").await);
    }
    assert_eq!(first_two, [limited.clone(), limited.clone()]);
    let third = served(&app, &bob, "auto(free)").await;
    assert!(
        third == spare || third == zero_id,
        "{third}: another free route takes over"
    );
    let plan = explain(&app, &bob, "auto(free)").await;
    let skipped = plan["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connection_id"] == limited.as_str())
        .unwrap();
    assert_eq!(skipped["usable"], false);
    assert_eq!(skipped["rpd_remaining"], 0);
    assert!(skipped["reason"]
        .as_str()
        .unwrap()
        .contains("daily request quota"));
    assert_eq!(
        free_tier.calls() - 1,
        2,
        "one test call and two requests reached the quota'd tier"
    );

    // Only platform admins edit system collections.
    let denied = app
        .api(
            Method::PUT,
            &format!("/api/collections/{}", free["id"].as_str().unwrap()),
            &bob,
        )
        .json(&json!({"name": "free", "strategy": "random", "models": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(denied, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let gone = app
        .api(
            Method::DELETE,
            &format!("/api/collections/{}", free["id"].as_str().unwrap()),
            &admin,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(gone, StatusCode::BAD_REQUEST).await,
        "COLLECTION_BUILT_IN"
    );
    let missing = chat(&app, &bob, "auto(nothing)").await;
    assert_eq!(
        error_code(missing, StatusCode::NOT_FOUND).await,
        "COLLECTION_NOT_FOUND"
    );
}

#[tokio::test]
async fn organization_collections_follow_membership_and_ambiguity_is_an_error() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let (_, eve) = app.user_with_key("eve@example.com", "eve").await;
    let mock = ChatMock::start("org").await;
    for org in ["acme", "beta"] {
        let res = app
            .api(Method::POST, "/api/organizations", &ada)
            .json(&json!({"name": org, "handle": org}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        app.join_org(&ada, org, &bob, "bob@example.com", "member")
            .await;
        let conn = connect(
            &app,
            &ada,
            "openai",
            &mock,
            json!({"scope": "organization", "organization": org}),
        )
        .await;
        assert!(!conn.is_empty());
        create_collection(
            &app,
            &ada,
            json!({"name": "shared", "strategy": "fallback", "scope": "organization",
                   "organization": org, "models": [format!("{org}/openai/gpt-4o")]}),
        )
        .await;
    }
    // bob belongs to both: the short form is ambiguous and says what to write instead.
    let res = chat(&app, &bob, "collection/shared").await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "AMBIGUOUS_COLLECTION");
    assert_eq!(body["error"]["status"], 400);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("collection/acme/shared") && message.contains("collection/beta/shared"),
        "{message}"
    );
    // The explicit form works for members ...
    served(&app, &bob, "collection/acme/shared").await;
    // ... and is refused to others.
    let res = chat(&app, &eve, "collection/acme/shared").await;
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let res = chat(&app, &eve, "collection/shared").await;
    assert_eq!(
        error_code(res, StatusCode::NOT_FOUND).await,
        "COLLECTION_NOT_FOUND"
    );
    // A caller's own collection of that name comes first.
    let own_mock = ChatMock::start("own").await;
    let own_conn = connect(&app, &bob, "groq", &own_mock, json!({})).await;
    create_collection(
        &app,
        &bob,
        json!({"name": "shared", "strategy": "fallback", "models": ["groq/gpt-4o"]}),
    )
    .await;
    assert_eq!(served(&app, &bob, "collection/shared").await, own_conn);

    // Members use organization collections; only admins change them; others cannot see them.
    let listed: Value = app
        .api(Method::GET, "/api/collections", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let acme = listed["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["reference"] == "collection/acme/shared")
        .unwrap()
        .clone();
    assert_eq!(acme["can_edit"], false);
    let id = acme["id"].as_str().unwrap();
    let res = app
        .api(Method::PUT, &format!("/api/collections/{id}"), &bob)
        .json(&json!({"name": "shared", "strategy": "random", "models": ["acme/openai/gpt-4o"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );
    let res = app
        .api(Method::GET, &format!("/api/collections/{id}"), &eve)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::NOT_FOUND).await,
        "COLLECTION_NOT_FOUND"
    );
    let res = app
        .api(Method::PUT, &format!("/api/collections/{id}"), &ada)
        .json(&json!({"name": "shared", "strategy": "random", "models": ["acme/openai/gpt-4o"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .api(Method::DELETE, &format!("/api/collections/{id}"), &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = chat(&app, &ada, "collection/acme/shared").await;
    assert_eq!(
        error_code(res, StatusCode::NOT_FOUND).await,
        "COLLECTION_NOT_FOUND"
    );
}

#[tokio::test]
async fn saving_validates_every_field_and_keeps_what_is_stored() {
    let Some(app) = spawn_app().await else { return };
    let (_, key) = app.user_with_key("ada@example.com", "ada").await;
    let mock = ChatMock::start("v").await;
    connect(&app, &key, "openai", &mock, json!({})).await;
    let good = create_collection(
        &app,
        &key,
        json!({"name": "good", "strategy": "fallback", "models": ["openai/gpt-4o"]}),
    )
    .await;
    let cases = [
        (
            json!({"name": "Bad Name", "strategy": "fallback", "models": ["openai/gpt-4o"]}),
            "name",
        ),
        (
            json!({"name": "x", "strategy": "fastest", "models": ["openai/gpt-4o"]}),
            "strategy",
        ),
        (
            json!({"name": "x", "strategy": "fallback", "models": []}),
            "at least one",
        ),
        (
            json!({"name": "x", "strategy": "fallback", "models": ["openai/gpt-4o", "openai/gpt-4o"]}),
            "already in the collection",
        ),
        (
            json!({"name": "x", "strategy": "fallback", "models": ["collection/good"]}),
            "cannot contain",
        ),
        (
            json!({"name": "x", "strategy": "fallback", "models": ["auto(free)"]}),
            "cannot contain",
        ),
        (
            json!({"name": "x", "strategy": "fallback", "models": ["groq/gpt-4o"]}),
            "does not resolve",
        ),
        (
            json!({"name": "x", "strategy": "random", "models": [{"model": "openai/gpt-4o", "weight": 0}]}),
            "weight",
        ),
        (
            json!({"name": "x", "strategy": "fallback", "models": ["openai/gpt-4o"], "scope": "system"}),
            "Only platform",
        ),
    ];
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    for (body, needle) in cases {
        // The system-scope case must come from a non-admin (ada, the first account, is one).
        let caller = if needle == "Only platform" {
            &bob
        } else {
            &key
        };
        let res = app
            .api(Method::POST, "/api/collections", caller)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{body}");
        let err: Value = res.json().await.unwrap();
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let dup = app
        .api(Method::POST, "/api/collections", &key)
        .json(&json!({"name": "good", "strategy": "fallback", "models": ["openai/gpt-4o"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(dup, StatusCode::CONFLICT).await,
        "COLLECTION_EXISTS"
    );
    let unknown = app
        .api(Method::POST, "/api/collections", &key)
        .json(&json!({"name": "y", "strategy": "fallback", "models": ["openai/gpt-4o"], "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert!(unknown.status().is_client_error());
    // A failed update leaves the stored collection as it was.
    let id = good["id"].as_str().unwrap();
    let bad = app
        .api(Method::PUT, &format!("/api/collections/{id}"), &key)
        .json(&json!({"name": "good", "strategy": "fallback", "models": ["nowhere/model"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(bad, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );
    let kept: Value = app
        .api(Method::GET, &format!("/api/collections/{id}"), &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kept["models"], json!([{"model": "openai/gpt-4o"}]));
}

/// A collection's maximum price per request skips members that could cost more for the
/// request at hand, and unpriced ones, saying why; a request that fits no member is
/// refused with the reasons.
#[tokio::test]
async fn a_collection_max_price_skips_dearer_and_unpriced_members() {
    let Some(app) = spawn_app().await else { return };
    let (_, admin) = app.user_with_key("root@example.com", "root").await;
    let cheap = ChatMock::start("cheap").await;
    let dear = ChatMock::start("dear").await;
    let unpriced = ChatMock::start("unpriced").await;
    let dear_id = connect(&app, &admin, "openai", &dear, json!({})).await;
    let cheap_id = connect(&app, &admin, "mistral", &cheap, json!({})).await;
    let unpriced_id = connect(&app, &admin, "groq", &unpriced, json!({})).await;
    let set = app
        .api(Method::PUT, "/api/prices", &admin)
        .json(&json!({"provider": "mistral", "model": "gpt-4o", "input_per_mtok": 0.2, "output_per_mtok": 0.6}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    // With max_tokens 100 and a short prompt: mistral at most ~$0.00007, openai ~$0.0011.
    let made = create_collection(
        &app,
        &admin,
        json!({"name": "capped", "strategy": "fallback", "max_price_usd": 0.0005,
               "models": ["openai/gpt-4o", "groq/gpt-4o", "mistral/gpt-4o"]}),
    )
    .await;
    assert_eq!(made["max_price_usd"], 0.0005, "{made}");
    assert_eq!(served(&app, &admin, "collection/capped").await, cheap_id);

    let res = app
        .api(Method::GET, "/api/routing/explain", &admin)
        .query(&[
            ("model", "collection/capped"),
            ("max_tokens", "100"),
            ("prompt_tokens", "10"),
        ])
        .send()
        .await
        .unwrap();
    let plan: Value = res.json().await.unwrap();
    let reason = |id: &str| {
        plan["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["connection_id"] == id)
            .map(|c| c["reason"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert!(
        reason(&dear_id).contains("over the collection's maximum"),
        "{plan}"
    );
    assert!(reason(&unpriced_id).starts_with("no price"), "{plan}");
    assert_eq!(reason(&cheap_id), "", "{plan}");

    // Without max_tokens the most a request can cost is 4,096 output tokens: over the cap
    // everywhere, so it is refused with the reasons.
    let res = app
        .api(Method::POST, "/v1/chat/completions", &admin)
        .json(
            &json!({"model": "collection/capped", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_success());
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum"),
        "{body}"
    );
    for bad in [json!(-1.0), json!(0)] {
        let res = app
            .api(Method::POST, "/api/collections", &admin)
            .json(
                &json!({"name": "bad", "strategy": "fallback", "max_price_usd": bad,
                          "models": ["openai/gpt-4o"]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
