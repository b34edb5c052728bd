//! Every console server function (`/api/fn/*`), sent malformed and oversized inputs by a
//! signed-in browser: each answer is a 4xx with a code, never a 5xx, and the server goes on.

use reqwest::header;

use crate::common::spawn_app;

/// The endpoint names declared in the console's server functions.
fn endpoints() -> Vec<String> {
    let source = include_str!("../../../app/src/api.rs");
    source
        .split("endpoint = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Bodies a careless or hostile client might send, with their content type.
fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let form = "application/x-www-form-urlencoded";
    vec![
        (form, Vec::new()),
        (form, b"=".to_vec()),
        (form, b"&&&".to_vec()),
        (form, b"%".to_vec()),
        (form, b"%ZZ=%ZZ".to_vec()),
        (form, b"id[=1".to_vec()),
        (form, b"id[0][1][2][3]=1&id=2".to_vec()),
        (form, b"a=1&a=2&a=3".to_vec()),
        (form, vec![0xff, 0xfe, b'=', 0x80]),
        (form, format!("id={}", "x".repeat(1 << 20)).into_bytes()),
        (
            form,
            b"email=a&password=b&handle=c&name=d&id=e&key=f&model=g&prompt=h&limit=-1&offset=99999999999999999999".to_vec(),
        ),
        (form, b"limit=abc&offset=1e999&enabled=maybe&prefer_score=NaN".to_vec()),
        ("application/json", b"{".to_vec()),
        ("application/json", b"[]".to_vec()),
        ("application/json", b"{\"id\": {\"$gt\": 1}}".to_vec()),
        ("text/plain", b"hello".to_vec()),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--".to_vec()),
        ("", b"\x00\x01\x02".to_vec()),
    ]
}

#[tokio::test]
async fn malformed_inputs_to_every_server_function_get_a_4xx() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let names = endpoints();
    assert!(names.len() >= 40, "found {} server functions", names.len());
    let mut five_hundreds = Vec::new();
    let mut sent = 0;
    for name in &names {
        for (content_type, body) in bodies() {
            let mut req = app
                .browser
                .post(app.url(&format!("/api/fn/{name}")))
                .header(header::ORIGIN, &app.base)
                .header(header::ACCEPT, "application/json")
                .body(body.clone());
            if !content_type.is_empty() {
                req = req.header(header::CONTENT_TYPE, content_type);
            }
            let res = req.send().await.expect("a server function answers");
            sent += 1;
            let status = res.status();
            if status.is_server_error() {
                let text = res.text().await.unwrap_or_default();
                five_hundreds.push(format!(
                    "{name} {content_type:?} {:?}: {status} {}",
                    String::from_utf8_lossy(&body[..body.len().min(40)]),
                    &text[..text.len().min(200)]
                ));
            }
        }
    }
    assert!(
        five_hundreds.is_empty(),
        "{} of {sent} malformed calls answered 5xx:\n{}",
        five_hundreds.len(),
        five_hundreds.join("\n")
    );
    // And the console still works.
    let me = app.call_fn("current_user", &[]).await;
    assert!(me.status().is_success());
}
