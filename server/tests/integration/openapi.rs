//! `/api/openapi.json`: an OpenAPI 3.1 document that names every routed path of `/api`
//! and `/v1` (and nothing that is not routed), whose references resolve, whose path
//! parameters are declared, and which a real validator (`openapi-spec-validator`, from
//! PyPI, in the test venv) accepts; `/api/docs` is Swagger UI served from the binary.

#![expect(
    clippy::unwrap_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::collections::{BTreeSet, HashSet};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::spawn_app;

async fn document() -> Option<Value> {
    let app = spawn_app().await?;
    let res = reqwest::get(app.url("/api/openapi.json")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    Some(res.json().await.unwrap())
}

#[tokio::test]
async fn document_names_every_routed_path_and_nothing_else() {
    let Some(doc) = document().await else { return };
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed: BTreeSet<String> = server::openapi::routed_paths().into_iter().collect();
    // The routing table itself, counted: a route added without `Routes::route` would be
    // neither here nor in the document.
    assert!(routed.len() >= 60, "only {} routed paths", routed.len());
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(missing.is_empty(), "routed but not documented: {missing:?}");
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
}

#[tokio::test]
async fn every_operation_is_complete_and_every_reference_resolves() {
    let Some(doc) = document().await else { return };
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut operation_ids = HashSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let in_path: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .collect();
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path}: no operationId");
            assert!(
                operation_ids.insert(id.to_owned()),
                "{method} {path}: operationId {id} twice"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path}: no tag"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2') || s == "101"),
                "{method} {path}: no success response"
            );
            assert!(
                responses.contains_key("default"),
                "{method} {path}: no error response"
            );
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(declared, in_path, "{method} {path}: path parameters");
            if path != "/health" {
                assert!(op["security"].is_array(), "{method} {path}: no security");
            }
        }
    }
    assert!(operations >= 80, "only {operations} operations");
    // Every `$ref` anywhere names a schema that exists.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(schemas.contains_key(name), "dangling reference {r}");
    }
    // The shapes the console and clients rely on are described field by field.
    // (`ApiKeyDto` flattens its policy: an `allOf` of the policy and its own fields.)
    let key = &schemas["ApiKeyDto"];
    let fields: Vec<&Value> = std::iter::once(key)
        .chain(key["allOf"].as_array().into_iter().flatten())
        .filter_map(|part| part.get("properties"))
        .collect();
    for field in ["id", "name", "prefix", "scopes"] {
        assert!(
            fields.iter().any(|f| f.get(field).is_some()),
            "ApiKeyDto.{field}: {key}"
        );
    }
    assert!(
        key.to_string()
            .contains("#/components/schemas/KeyPolicyDto"),
        "{key}"
    );
    let created = &doc["paths"]["/api/keys"]["post"];
    assert!(created["responses"]["201"].is_object(), "{created}");
    assert_eq!(
        created["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateKey"
    );
    let metrics = &doc["paths"]["/metrics"]["get"]["security"];
    assert!(metrics[0]["metrics_token"].is_array(), "{metrics}");
    let keys = &doc["paths"]["/api/keys"]["get"]["security"];
    assert!(keys[0]["bearer"].is_array(), "{keys}");
    let chat = &doc["paths"]["/v1/chat/completions"]["post"]["responses"]["200"];
    assert!(chat["content"]["text/event-stream"].is_object(), "{chat}");
    assert!(
        chat["headers"]["x-langmart-connection"].is_object(),
        "{chat}"
    );
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The document against the OpenAPI 3.1 schema, by `openapi-spec-validator` (the venv
/// `scripts/lib.sh` makes; `PYTHON_SDK` names its python). Skipped without it, except
/// under `CI=true`.
#[tokio::test]
async fn a_real_validator_accepts_the_document() {
    let Some(python) = std::env::var_os("PYTHON_SDK") else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "PYTHON_SDK (with openapi-spec-validator) is needed under CI=true"
        );
        eprintln!("skipped: PYTHON_SDK is not set (scripts/test.sh sets it)");
        return;
    };
    let Some(doc) = document().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = tokio::process::Command::new(python)
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openapi-spec-validator: {said}");
    assert!(said.contains("OK"), "{said}");
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary() {
    let Some(app) = spawn_app().await else { return };
    let client = reqwest::Client::new();
    let res = client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every script and stylesheet it loads is relative: served here, not from a CDN.
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            assert!(!url.contains("//"), "{url} is not served locally");
        }
    }
    let init = client
        .get(app.url("/api/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), StatusCode::OK);
    assert!(init.text().await.unwrap().contains("/api/openapi.json"));
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        let res = client
            .get(app.url(&format!("/api/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
        assert!(res.bytes().await.unwrap().len() > 1000, "{asset}");
    }
    // Unknown paths under /api keep their JSON 404.
    let res = client
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
}
