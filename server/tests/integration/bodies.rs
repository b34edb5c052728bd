//! Body capture: off by default; once on, a person's own calls keep their request and
//! response bodies (whole and streamed), readable by them alone; off again, later calls
//! keep nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::chat_mock::ChatMock;
use crate::common::{error_code, spawn_app};

#[tokio::test]
async fn bodies_are_kept_only_when_their_owner_asked_and_only_for_them() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let mock = ChatMock::start("bodies").await;
    app.connection(
        &ada,
        json!({"provider": "openai", "name": "Kept", "api_key": "sk-upstream-0001",
               "endpoint_url": mock.base, "max_retries": 0}),
    )
    .await;
    let chat = |prompt: &'static str, stream: bool| {
        let app = &app;
        let ada = ada.clone();
        async move {
            let res = app
                .api(Method::POST, "/v1/chat/completions", &ada)
                .json(&json!({"model": "openai/gpt-4o", "stream": stream,
                              "messages": [{"role": "user", "content": prompt}]}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.text().await.unwrap()
        }
    };
    let bodies = |id: String, key: String| {
        let app = &app;
        async move {
            app.api(Method::GET, &format!("/api/logs/{id}/bodies"), &key)
                .send()
                .await
                .unwrap()
        }
    };

    // Off by default: nothing kept.
    assert_eq!(
        app.get_json("/api/settings/body-capture", &ada).await["retention_days"],
        serde_json::Value::Null
    );
    chat("not kept", false).await;
    app.state.request_log.flush().await;
    let row = app.log_rows(&ada, "").await[0].clone();
    let res = bodies(row["id"].as_str().unwrap().to_owned(), ada.clone()).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "NOT_FOUND");

    // Out of range is refused on its field.
    let res = app
        .api(Method::PUT, "/api/settings/body-capture", &ada)
        .json(&json!({"retention_days": 90}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res, StatusCode::BAD_REQUEST).await,
        "INVALID_FIELD"
    );
    let res = app
        .api(Method::PUT, "/api/settings/body-capture", &ada)
        .json(&json!({"retention_days": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let whole = chat("remember the whole one", false).await;
    let streamed = chat("remember the streamed one", true).await;
    app.state.request_log.flush().await;
    let rows = app.log_rows(&ada, "").await;
    let (stream_row, whole_row) = (rows[0].clone(), rows[1].clone());
    assert_eq!(stream_row["stream"], true);

    let res = bodies(whole_row["id"].as_str().unwrap().to_owned(), ada.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let kept: serde_json::Value = res.json().await.unwrap();
    assert!(kept["request"]
        .as_str()
        .unwrap()
        .contains("remember the whole one"));
    assert_eq!(
        kept["response"].as_str().unwrap(),
        whole,
        "what the client got"
    );
    let res = bodies(stream_row["id"].as_str().unwrap().to_owned(), ada.clone()).await;
    let kept: serde_json::Value = res.json().await.unwrap();
    assert!(kept["request"]
        .as_str()
        .unwrap()
        .contains("remember the streamed one"));
    assert_eq!(
        kept["response"].as_str().unwrap(),
        streamed,
        "every event as sent"
    );

    // Someone else cannot read them, even knowing the id.
    let res = bodies(whole_row["id"].as_str().unwrap().to_owned(), bob.clone()).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "NOT_FOUND");

    // Off again: later calls keep nothing.
    let res = app
        .api(Method::PUT, "/api/settings/body-capture", &ada)
        .json(&json!({"retention_days": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    chat("forgotten", false).await;
    app.state.request_log.flush().await;
    let row = app.log_rows(&ada, "").await[0].clone();
    let res = bodies(row["id"].as_str().unwrap().to_owned(), ada.clone()).await;
    assert_eq!(error_code(res, StatusCode::NOT_FOUND).await, "NOT_FOUND");
}
