//! Every `/api` route and every console server function that touches something owned, by
//! each kind of person: the owner (ada), another user who is in no organization (bob), an
//! organization's admin (carl) and member (mia), and the platform admin (root). Each
//! cell says what must happen: done (2xx), hidden (404: not even told it exists) or
//! denied (403: visible but not theirs to change). All mismatches are reported at once.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{browser, spawn_app, TestApp};
use crate::mocks::{connection_body, Mock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Done,
    Hidden,
    Denied,
}
use Want::{Denied, Done, Hidden};

/// One person, with an API key (for `/api`) and a signed-in browser (for `/api/fn`).
struct Person {
    name: &'static str,
    id: String,
    key: String,
    browser: Client,
}

/// The order of every row's expectations.
const PEOPLE: [&str; 5] = ["ada", "bob", "carl", "mia", "root"];

struct World {
    app: TestApp,
    people: Vec<Person>,
    _mock: Mock,
    ada_conn: String,
    org_conn: String,
    platform_conn: String,
    ada_collection: String,
    org_collection: String,
    ada_alias: String,
    org_alias: String,
    ada_key_id: String,
    org_invitation: String,
    signup_invite: String,
}

impl World {
    fn person(&self, name: &str) -> &Person {
        self.people.iter().find(|p| p.name == name).unwrap()
    }
}

async fn json_of(res: reqwest::Response) -> Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
}

async fn api(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let req = app.api(method, path, key);
    let req = match body {
        Some(b) => req.json(b),
        None => req,
    };
    req.send().await.unwrap()
}

async fn build() -> Option<World> {
    let app = spawn_app().await?;
    let mock = Mock::start("sk-matrix-000000000001").await;
    let mut people = Vec::new();
    // root first: the first account is the platform admin.
    for name in ["root", "ada", "bob", "carl", "mia"] {
        let email = format!("{name}@example.com");
        let (id, key) = app.user_with_key(&email, name).await;
        let browser = browser();
        let res = browser
            .post(app.url("/api/fn/login"))
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, &app.base)
            .form(&[
                ("email", email.as_str()),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{name} signs in");
        people.push(Person {
            name,
            id,
            key,
            browser,
        });
    }
    let key_of = |name: &str| people.iter().find(|p| p.name == name).unwrap().key.clone();
    let (ada, carl, mia, root) = (key_of("ada"), key_of("carl"), key_of("mia"), key_of("root"));

    let made = api(
        &app,
        &carl,
        Method::POST,
        "/api/organizations",
        Some(&json!({"name": "Acme", "handle": "acme"})),
    )
    .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    app.join_org(&carl, "acme", &mia, "mia@example.com", "member")
        .await;

    let conn = |key: String, body: Value| {
        let app = &app;
        async move {
            let res = api(app, &key, Method::POST, "/api/connections", Some(&body)).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            json_of(res).await["id"].as_str().unwrap().to_owned()
        }
    };
    let secret = "sk-matrix-000000000001";
    let ada_conn = conn(
        ada.clone(),
        connection_body(&mock, "openai", "mine", secret),
    )
    .await;
    let mut body = connection_body(&mock, "openai", "team", secret);
    body["scope"] = json!("organization");
    body["organization"] = json!("acme");
    let org_conn = conn(carl.clone(), body).await;
    let mut body = connection_body(&mock, "openai", "shared", secret);
    body["scope"] = json!("platform");
    let platform_conn = conn(root.clone(), body).await;

    let collection = |key: String, body: Value| {
        let app = &app;
        async move {
            let res = api(app, &key, Method::POST, "/api/collections", Some(&body)).await;
            let status = res.status();
            let body = json_of(res).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["id"].as_str().unwrap().to_owned()
        }
    };
    let ada_collection = collection(
        ada.clone(),
        json!({"name": "mine", "strategy": "fallback", "models": ["openai/gpt-4o"]}),
    )
    .await;
    let org_collection = collection(
        carl.clone(),
        json!({"name": "team", "strategy": "fallback", "models": ["openai/gpt-4o"], "scope": "organization", "organization": "acme"}),
    )
    .await;

    let alias = |key: String, body: Value| {
        let app = &app;
        async move {
            let res = api(app, &key, Method::POST, "/api/aliases", Some(&body)).await;
            let status = res.status();
            let body = json_of(res).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["id"].as_str().unwrap().to_owned()
        }
    };
    let ada_alias = alias(
        ada.clone(),
        json!({"name": "fast", "target": "openai/gpt-4o"}),
    )
    .await;
    let org_alias = alias(
        carl.clone(),
        json!({"name": "team-fast", "target": "openai/gpt-4o", "scope": "organization", "organization": "acme"}),
    )
    .await;

    let keys = json_of(api(&app, &ada, Method::GET, "/api/keys", None).await).await;
    let ada_key_id = keys["keys"][0]["id"].as_str().unwrap().to_owned();

    let res = api(
        &app,
        &carl,
        Method::POST,
        "/api/organizations/acme/members",
        Some(&json!({"email": "someone@example.com", "role": "member"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let open = json_of(
        api(
            &app,
            &carl,
            Method::GET,
            "/api/organizations/acme/invitations",
            None,
        )
        .await,
    )
    .await;
    let org_invitation = open["invitations"][0]["id"].as_str().unwrap().to_owned();

    let res = api(
        &app,
        &root,
        Method::POST,
        "/api/signup-invites",
        Some(&json!({"note": "matrix"})),
    )
    .await;
    let status = res.status();
    let invite = json_of(res).await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let signup_invite = invite["invite"]["id"].as_str().unwrap().to_owned();

    Some(World {
        app,
        people,
        _mock: mock,
        ada_conn,
        org_conn,
        platform_conn,
        ada_collection,
        org_collection,
        ada_alias,
        org_alias,
        ada_key_id,
        org_invitation,
        signup_invite,
    })
}

/// How a row is called: the REST route, or the server function with its arguments.
enum Call {
    Rest(Method, String, Option<Value>),
    /// A form-encoded server function.
    Form(&'static str, Vec<(&'static str, String)>),
    /// A server function declared with `input = Json`.
    Json(&'static str, Value),
}

fn matches(want: Want, status: StatusCode) -> bool {
    match want {
        Done => status.is_success(),
        Hidden => status == StatusCode::NOT_FOUND,
        Denied => status == StatusCode::FORBIDDEN,
    }
}

async fn send(world: &World, who: &Person, call: &Call) -> (StatusCode, String) {
    let app = &world.app;
    let res = match call {
        Call::Rest(method, path, body) => {
            api(app, &who.key, method.clone(), path, body.as_ref()).await
        }
        Call::Form(name, form) => who
            .browser
            .post(app.url(&format!("/api/fn/{name}")))
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, &app.base)
            .form(form)
            .send()
            .await
            .unwrap(),
        Call::Json(name, body) => who
            .browser
            .post(app.url(&format!("/api/fn/{name}")))
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, &app.base)
            .json(body)
            .send()
            .await
            .unwrap(),
    };
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

/// Runs `call` for every person, the ones who may do it last (so a deletion is tried by
/// everyone else first), and records every cell that differs.
async fn row(
    world: &World,
    label: &str,
    call: Call,
    wants: [Want; 5],
    mismatches: &mut Vec<String>,
) {
    let mut order: Vec<usize> = (0..5).filter(|&i| wants[i] != Done).collect();
    order.extend((0..5).filter(|&i| wants[i] == Done));
    for i in order {
        let who = world.person(PEOPLE[i]);
        let (status, body) = send(world, who, &call).await;
        if !matches(wants[i], status) {
            let body: String = body.chars().take(160).collect();
            mismatches.push(format!(
                "{label} as {}: want {:?}, got {status} {body}",
                who.name, wants[i]
            ));
        }
    }
}

#[tokio::test]
async fn every_route_and_server_function_by_every_role() {
    let Some(w) = build().await else { return };
    let mut bad = Vec::new();
    let rest = |m: Method, p: String| Call::Rest(m, p, None);
    let rest_body = |m: Method, p: String, b: Value| Call::Rest(m, p, Some(b));
    let form = |name: &'static str, args: &[(&'static str, &str)]| {
        Call::Form(
            name,
            args.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        )
    };
    let (ada_c, org_c, plat_c) = (&w.ada_conn, &w.org_conn, &w.platform_conn);
    let mia_id = w.person("mia").id.clone();

    //                                                              ada     bob     carl    mia     root
    // A user's own connection: nobody else is told it exists, platform admins included.
    for sub in ["", "/tests", "/audit", "/models"] {
        row(
            &w,
            &format!("GET ada's connection{sub}"),
            rest(Method::GET, format!("/api/connections/{ada_c}{sub}")),
            [Done, Hidden, Hidden, Hidden, Hidden],
            &mut bad,
        )
        .await;
    }
    row(
        &w,
        "PUT ada's connection",
        rest_body(
            Method::PUT,
            format!("/api/connections/{ada_c}"),
            json!({"description": "x"}),
        ),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "test ada's connection",
        rest(Method::POST, format!("/api/connections/{ada_c}/test")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "discover ada's connection",
        rest(Method::POST, format!("/api/connections/{ada_c}/discover")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "add a model to ada's connection",
        rest_body(
            Method::POST,
            format!("/api/connections/{ada_c}/models"),
            json!({"id": "extra-a"}),
        ),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "add a model to the org's connection",
        rest_body(
            Method::POST,
            format!("/api/connections/{org_c}/models"),
            json!({"id": "extra-o"}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "update ada's key",
        rest_body(
            Method::POST,
            format!("/api/connections/{ada_c}/update-key"),
            json!({"api_key": "sk-matrix-000000000001"}),
        ),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn connection_detail(ada's)",
        form("connection_detail", &[("id", ada_c)]),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn test_connection(ada's)",
        form("test_connection", &[("id", ada_c)]),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn discover_models(ada's)",
        form("discover_models", &[("id", ada_c)]),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn update_connection(ada's)",
        Call::Json(
            "update_connection",
            json!({"id": ada_c, "change": {"description": "y"}}),
        ),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn update_connection_key(ada's)",
        Call::Json(
            "update_connection_key",
            json!({"id": ada_c, "credentials": {"api_key": "sk-matrix-000000000001"}}),
        ),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;

    // An organization's connection: members use it, admins change it, others never see it.
    for sub in ["", "/tests", "/audit", "/models"] {
        row(
            &w,
            &format!("GET the org's connection{sub}"),
            rest(Method::GET, format!("/api/connections/{org_c}{sub}")),
            [Hidden, Hidden, Done, Done, Hidden],
            &mut bad,
        )
        .await;
    }
    row(
        &w,
        "test the org's connection",
        rest(Method::POST, format!("/api/connections/{org_c}/test")),
        [Hidden, Hidden, Done, Done, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "PUT the org's connection",
        rest_body(
            Method::PUT,
            format!("/api/connections/{org_c}"),
            json!({"description": "x"}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "discover the org's connection",
        rest(Method::POST, format!("/api/connections/{org_c}/discover")),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "update the org's key",
        rest_body(
            Method::POST,
            format!("/api/connections/{org_c}/update-key"),
            json!({"api_key": "sk-matrix-000000000001"}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn connection_detail(org's)",
        form("connection_detail", &[("id", org_c)]),
        [Hidden, Hidden, Done, Done, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn update_connection(org's)",
        Call::Json(
            "update_connection",
            json!({"id": org_c, "change": {"description": "y"}}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn update_connection_key(org's)",
        Call::Json(
            "update_connection_key",
            json!({"id": org_c, "credentials": {"api_key": "sk-matrix-000000000001"}}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;

    // The platform's connection: everyone uses it, platform admins change it.
    row(
        &w,
        "GET the platform connection",
        rest(Method::GET, format!("/api/connections/{plat_c}")),
        [Done, Done, Done, Done, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "test the platform connection",
        rest(Method::POST, format!("/api/connections/{plat_c}/test")),
        [Done, Done, Done, Done, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "PUT the platform connection",
        rest_body(
            Method::PUT,
            format!("/api/connections/{plat_c}"),
            json!({"description": "x"}),
        ),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "update the platform key",
        rest_body(
            Method::POST,
            format!("/api/connections/{plat_c}/update-key"),
            json!({"api_key": "sk-matrix-000000000001"}),
        ),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;

    // Collections and aliases follow the same rule.
    let (ada_k, org_k) = (&w.ada_collection, &w.org_collection);
    row(
        &w,
        "GET ada's collection",
        rest(Method::GET, format!("/api/collections/{ada_k}")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "PUT ada's collection",
        rest_body(
            Method::PUT,
            format!("/api/collections/{ada_k}"),
            json!({"name": "mine", "strategy": "fallback", "models": ["openai/gpt-4o"]}),
        ),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "GET the org's collection",
        rest(Method::GET, format!("/api/collections/{org_k}")),
        [Hidden, Hidden, Done, Done, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "PUT the org's collection",
        rest_body(
            Method::PUT,
            format!("/api/collections/{org_k}"),
            json!({"name": "team", "strategy": "fallback", "models": ["openai/gpt-4o"]}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn save_collection(org's)",
        Call::Json(
            "save_collection",
            json!({"id": org_k, "input": {"name": "team", "strategy": "fallback", "models": ["openai/gpt-4o"]}}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    let (ada_a, org_a) = (&w.ada_alias, &w.org_alias);
    row(
        &w,
        "GET ada's alias",
        rest(Method::GET, format!("/api/aliases/{ada_a}")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "PUT ada's alias",
        rest_body(
            Method::PUT,
            format!("/api/aliases/{ada_a}"),
            json!({"name": "fast", "target": "openai/gpt-4o"}),
        ),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "GET the org's alias",
        rest(Method::GET, format!("/api/aliases/{org_a}")),
        [Hidden, Hidden, Done, Done, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "PUT the org's alias",
        rest_body(
            Method::PUT,
            format!("/api/aliases/{org_a}"),
            json!({"name": "team-fast", "target": "openai/gpt-4o"}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn save_alias(org's)",
        Call::Json(
            "save_alias",
            json!({"id": org_a, "input": {"name": "team-fast", "target": "openai/gpt-4o"}}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;

    // Creating inside an organization needs its admin; outside it, it does not exist.
    let org_body = |b: Value| {
        let mut b = b;
        b["scope"] = json!("organization");
        b["organization"] = json!("acme");
        b
    };
    row(
        &w,
        "create an org connection",
        rest_body(
            Method::POST,
            "/api/connections".into(),
            org_body(connection_body(
                &w._mock,
                "openai",
                "more",
                "sk-matrix-000000000001",
            )),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "create a platform connection",
        rest_body(Method::POST, "/api/connections".into(), {
            let mut b = connection_body(&w._mock, "openai", "plat2", "sk-matrix-000000000001");
            b["scope"] = json!("platform");
            b
        }),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;

    // Organization management.
    row(
        &w,
        "GET the org's members",
        rest(Method::GET, "/api/organizations/acme/members".into()),
        [Hidden, Hidden, Done, Done, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "GET the org's invitations",
        rest(Method::GET, "/api/organizations/acme/invitations".into()),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "invite to the org",
        rest_body(
            Method::POST,
            "/api/organizations/acme/members".into(),
            json!({"email": "later@example.com", "role": "member"}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "set mia's role",
        rest_body(
            Method::PUT,
            format!("/api/organizations/acme/members/{mia_id}"),
            json!({"role": "member"}),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "set membership preferences",
        rest_body(
            Method::PUT,
            "/api/organizations/acme/membership".into(),
            json!({"serve_unqualified": false}),
        ),
        [Hidden, Hidden, Done, Done, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn list_members",
        form("list_members", &[("org", "acme")]),
        [Hidden, Hidden, Done, Done, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn invite_member",
        form(
            "invite_member",
            &[
                ("org", "acme"),
                ("email", "later2@example.com"),
                ("role", "member"),
            ],
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn set_member_role",
        form(
            "set_member_role",
            &[("org", "acme"), ("user_id", &mia_id), ("role", "member")],
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    let inv = &w.org_invitation;
    row(
        &w,
        "withdraw an org invitation",
        rest(
            Method::DELETE,
            format!("/api/organizations/acme/invitations/{inv}"),
        ),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;

    // Platform administration.
    row(
        &w,
        "GET /api/users",
        rest(Method::GET, "/api/users".into()),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "GET /api/signup-invites",
        rest(Method::GET, "/api/signup-invites".into()),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "create a sign-up invite",
        rest_body(
            Method::POST,
            "/api/signup-invites".into(),
            json!({"note": "x"}),
        ),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn list_users",
        form("list_users", &[]),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn list_signup_invites",
        form("list_signup_invites", &[]),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(&w, "set a price", rest_body(Method::PUT, "/api/prices".into(), json!({"provider": "openai", "model": "gpt-matrix", "input_per_mtok": 1.0, "output_per_mtok": 2.0})), [Denied, Denied, Denied, Denied, Done], &mut bad).await;
    row(&w, "fn set_price", Call::Json("set_price", json!({"price": {"provider": "openai", "model": "gpt-matrix", "input_per_mtok": 1.0, "output_per_mtok": 2.0}})), [Denied, Denied, Denied, Denied, Done], &mut bad).await;
    row(&w, "create a provider", rest_body(Method::POST, "/api/providers".into(), json!({"key": "matrixp", "name": "Matrix", "base_url": "https://api.example.com/v1", "api_family": "openai_compat"})), [Denied, Denied, Denied, Denied, Done], &mut bad).await;

    let providers = json_of(
        api(
            &w.app,
            &w.person("root").key,
            Method::GET,
            "/api/providers",
            None,
        )
        .await,
    )
    .await;
    let openai_id = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "openai")
        .and_then(|p| p["id"].as_str())
        .unwrap()
        .to_owned();
    row(
        &w,
        "change a provider",
        rest_body(
            Method::PUT,
            format!("/api/providers/{openai_id}"),
            json!({"name": "OpenAI"}),
        ),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "delete a price",
        rest(
            Method::DELETE,
            "/api/prices?provider=openai&model=gpt-matrix".into(),
        ),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;

    // Another's API key cannot be revoked (nor learned to exist).
    let kid = &w.ada_key_id;
    for who in ["bob", "carl", "mia", "root"] {
        for call in [
            rest(Method::DELETE, format!("/api/keys/{kid}")),
            form("revoke_api_key", &[("id", kid)]),
        ] {
            let (status, body) = send(&w, w.person(who), &call).await;
            if status != StatusCode::NOT_FOUND {
                bad.push(format!(
                    "revoke ada's key as {who}: want Hidden, got {status} {body}"
                ));
            }
        }
    }

    // Deletions last: everyone who may not delete tries first.
    let si = &w.signup_invite;
    row(
        &w,
        "withdraw a sign-up invite",
        rest(Method::DELETE, format!("/api/signup-invites/{si}")),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "DELETE ada's alias",
        rest(Method::DELETE, format!("/api/aliases/{ada_a}")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn delete_alias(org's)",
        form("delete_alias", &[("id", org_a)]),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "DELETE ada's collection",
        rest(Method::DELETE, format!("/api/collections/{ada_k}")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn delete_collection(org's)",
        form("delete_collection", &[("id", org_k)]),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "DELETE the platform connection",
        rest(Method::DELETE, format!("/api/connections/{plat_c}")),
        [Denied, Denied, Denied, Denied, Done],
        &mut bad,
    )
    .await;
    row(
        &w,
        "fn delete_connection(org's)",
        form("delete_connection", &[("id", org_c)]),
        [Hidden, Hidden, Done, Denied, Hidden],
        &mut bad,
    )
    .await;
    row(
        &w,
        "DELETE ada's connection",
        rest(Method::DELETE, format!("/api/connections/{ada_c}")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;
    // Removing someone else takes an admin (removing oneself is leaving, open to all).
    let carl_id = w.person("carl").id.clone();
    for (who, target, want) in [
        ("ada", &mia_id, Hidden),
        ("bob", &mia_id, Hidden),
        ("root", &mia_id, Hidden),
        ("mia", &carl_id, Denied),
        ("carl", &mia_id, Done),
    ] {
        let call = rest(
            Method::DELETE,
            format!("/api/organizations/acme/members/{target}"),
        );
        let (status, body) = send(&w, w.person(who), &call).await;
        if !matches(want, status) {
            bad.push(format!(
                "remove a member as {who}: want {want:?}, got {status} {body}"
            ));
        }
    }
    row(
        &w,
        "revoke ada's key",
        rest(Method::DELETE, format!("/api/keys/{kid}")),
        [Done, Hidden, Hidden, Hidden, Hidden],
        &mut bad,
    )
    .await;

    assert!(
        bad.is_empty(),
        "{} cells differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[tokio::test]
async fn lists_show_only_what_each_person_may_use() {
    let Some(w) = build().await else { return };
    let ids = |v: &Value, field: &str| -> Vec<String> {
        v[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["id"].as_str().map(str::to_owned))
            .collect()
    };
    let expect = [
        // (person, sees ada's, sees the org's)
        ("ada", true, false),
        ("bob", false, false),
        ("carl", false, true),
        ("mia", false, true),
        ("root", false, false),
    ];
    // One request of ada's, through her own connection: only she finds it in the log.
    let res = api(
        &w.app,
        &w.person("ada").key,
        Method::POST,
        "/v1/chat/completions",
        Some(&json!({"model": "ada/openai/gpt-4o", "messages": [{"role": "user", "content": "matrix-log-probe"}]})),
    )
    .await;
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    w.app.state.request_log.flush().await;
    for (who, ada_s, org_s) in expect {
        let key = &w.person(who).key;
        for (path, field, ada_id, org_id) in [
            ("/api/connections", "connections", &w.ada_conn, &w.org_conn),
            (
                "/api/collections",
                "collections",
                &w.ada_collection,
                &w.org_collection,
            ),
            ("/api/aliases", "aliases", &w.ada_alias, &w.org_alias),
        ] {
            let list = json_of(api(&w.app, key, Method::GET, path, None).await).await;
            let seen = ids(&list, field);
            assert_eq!(seen.contains(ada_id), ada_s, "{who} {path}: {list}");
            assert_eq!(seen.contains(org_id), org_s, "{who} {path}: {list}");
            if field == "connections" {
                assert!(
                    seen.contains(&w.platform_conn),
                    "{who} sees the platform connection"
                );
            }
        }
        let log = json_of(api(&w.app, key, Method::GET, "/api/logs", None).await).await;
        assert_eq!(
            log.to_string().contains(&request_id),
            who == "ada",
            "{who}: {log}"
        );
        let keys = json_of(api(&w.app, key, Method::GET, "/api/keys", None).await).await;
        assert_eq!(
            ids(&keys, "keys").contains(&w.ada_key_id),
            who == "ada",
            "{who}: {keys}"
        );
    }
}
