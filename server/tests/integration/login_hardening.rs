//! Password guessing and log-in floods: argon2 runs a bounded number of times at once,
//! a guessing address is slowed, and the owner signs in from elsewhere all the while.

#![expect(
    clippy::expect_used,
    reason = "request helpers: a failed request must fail the test"
)]

use std::net::{IpAddr, Ipv4Addr};

use reqwest::{header, Client, StatusCode};
use serde_json::Value;

use crate::common::{spawn_app, TestApp};

/// A browser on another loopback address (127.0.0.0/8 is all this machine's), so that
/// the server sees a different client.
fn browser_at(last: u8) -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .expect("client")
}

async fn login(app: &TestApp, client: &Client, email: &str, password: &str) -> StatusCode {
    client
        .post(app.url("/api/fn/login"))
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, &app.base)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("login request")
        .status()
}

#[tokio::test]
async fn the_owner_signs_in_while_an_attacker_guesses() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let attacker = browser_at(2);
    let owner = browser_at(3);
    assert_eq!(
        login(&app, &owner, "ada@example.com", "correct horse battery").await,
        StatusCode::OK
    );

    let mut refused = 0;
    for i in 0..40 {
        let status = login(
            &app,
            &attacker,
            "ada@example.com",
            &format!("guess {i:04}!"),
        )
        .await;
        assert!(
            matches!(
                status,
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ),
            "guess {i}: {status}"
        );
        refused += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
        // The owner, from the address she used before, is never held back.
        if i % 10 == 9 {
            assert_eq!(
                login(&app, &owner, "ada@example.com", "correct horse battery").await,
                StatusCode::OK,
                "owner locked out after {i} guesses"
            );
        }
    }
    assert!(
        refused >= 30,
        "the guessing address was not slowed: {refused}"
    );
    // Even the right password from the attacker's address waits its turn there. (On a
    // slow run a wait may have ended during the loop: guess until held back again.)
    for i in 40..80 {
        let status = login(
            &app,
            &attacker,
            "ada@example.com",
            &format!("guess {i:04}!"),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(
        login(&app, &attacker, "ada@example.com", "correct horse battery").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_flood_of_bogus_logins_runs_a_bounded_number_of_hashes() {
    let Some(app) = spawn_app().await else { return };
    let limit = server::auth::password_checks_at_once();
    let clients: Vec<Client> = (0..8).map(|i| browser_at(10 + i)).collect();
    let answers = futures_util::future::join_all((0..64).map(|i| {
        let client = clients[i % clients.len()].clone();
        let app = &app;
        async move {
            let email = format!("nobody{i}@example.com");
            login(app, &client, &email, "not the password").await
        }
    }))
    .await;
    for status in &answers {
        assert!(
            matches!(
                *status,
                StatusCode::UNAUTHORIZED | StatusCode::SERVICE_UNAVAILABLE
            ),
            "{status}"
        );
    }
    // Each hash holds 19 MiB: the peak is what bounds memory (measured in bench/).
    let peak = app.state.accounts.password_checks_peak();
    assert!(
        (1..=limit).contains(&peak),
        "{peak} hashes ran at once; limit {limit}"
    );
    // A refused or answered flood leaves the server serving.
    let health: Value = app
        .browser
        .get(app.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(health.is_object());
}
