//! Organizations through the REST API: creation, roles, access, the last-admin rule.

use crate::common::{error_code, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn organizations_members_and_roles() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (bob_id, bob) = app.user_with_key("bob@example.com", "bob").await;
    let (_, eve) = app.user_with_key("eve@example.com", "eve").await;

    let created = app
        .api(Method::POST, "/api/organizations", &ada)
        .json(&json!({"name": "Acme Inc.", "handle": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let org: Value = created.json().await.unwrap();
    assert_eq!(org["handle"], "acme");
    assert_eq!(org["role"], "admin");
    assert_eq!(org["member_count"], 1);

    // Handles are one namespace: a user handle and an org handle cannot collide.
    let clash = app
        .api(Method::POST, "/api/organizations", &ada)
        .json(&json!({"name": "Bob's", "handle": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(clash, StatusCode::CONFLICT).await,
        "HANDLE_TAKEN"
    );
    let reserved = app
        .api(Method::POST, "/api/organizations", &ada)
        .json(&json!({"name": "Auto", "handle": "auto"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(reserved, StatusCode::BAD_REQUEST).await,
        "RESERVED_HANDLE"
    );

    // Invite bob: nothing changes for him until he accepts.
    let invited = app
        .api(Method::POST, "/api/organizations/acme/members", &ada)
        .json(&json!({"email": "Bob@Example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), StatusCode::CREATED);
    let invitation: Value = invited.json().await.unwrap();
    assert_eq!(invitation["role"], "member");
    assert_eq!(invitation["email"], "bob@example.com");
    let none: Value = app
        .api(Method::GET, "/api/organizations", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        none["organizations"],
        json!([]),
        "not a member before accepting"
    );
    // An address without an account gets the same answer: nothing tells whether it has one.
    let nobody = app
        .api(Method::POST, "/api/organizations/acme/members", &ada)
        .json(&json!({"email": "nobody@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), StatusCode::CREATED);
    let pending: Value = app
        .api(Method::GET, "/api/organizations/acme/invitations", &ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["invitations"].as_array().unwrap().len(), 2);
    // Nobody else can accept bob's invitation.
    let stolen = app
        .api(
            Method::POST,
            &format!(
                "/api/invitations/{}/accept",
                invitation["id"].as_str().unwrap()
            ),
            &eve,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(stolen, StatusCode::NOT_FOUND).await,
        "INVITATION_NOT_FOUND"
    );
    let mine: Value = app
        .api(Method::GET, "/api/invitations", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["invitations"][0]["organization"], "acme");
    assert_eq!(mine["invitations"][0]["invited_by"], "ada");
    let accepted = app
        .api(
            Method::POST,
            &format!(
                "/api/invitations/{}/accept",
                invitation["id"].as_str().unwrap()
            ),
            &bob,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let again = app
        .api(Method::POST, "/api/organizations/acme/members", &ada)
        .json(&json!({"email": "bob@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(again, StatusCode::CONFLICT).await,
        "ALREADY_MEMBER"
    );

    // Bob sees the organization and its members but cannot manage them.
    let bobs: Value = app
        .api(Method::GET, "/api/organizations", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bobs["organizations"][0]["role"], "member");
    assert_eq!(bobs["organizations"][0]["member_count"], 2);
    let members: Value = app
        .api(Method::GET, "/api/organizations/acme/members", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members["members"].as_array().unwrap().len(), 2);
    let denied = app
        .api(Method::POST, "/api/organizations/acme/members", &bob)
        .json(&json!({"email": "eve@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(denied, StatusCode::FORBIDDEN).await,
        "ACCESS_DENIED"
    );

    // A non-member is told the organization does not exist.
    let hidden = app
        .api(Method::GET, "/api/organizations/acme/members", &eve)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(hidden, StatusCode::NOT_FOUND).await,
        "ORG_NOT_FOUND"
    );

    // The last admin can neither leave nor step down...
    let leave = app
        .api(Method::POST, "/api/organizations/acme/leave", &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(leave, StatusCode::CONFLICT).await,
        "ORG_LAST_ADMIN"
    );
    let ada_id = app
        .state
        .accounts
        .find_by_email("ada@example.com")
        .await
        .unwrap()
        .id;
    let demote = app
        .api(
            Method::PUT,
            &format!("/api/organizations/acme/members/{ada_id}"),
            &ada,
        )
        .json(&json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(demote, StatusCode::CONFLICT).await,
        "ORG_LAST_ADMIN"
    );

    // ...until another member is admin.
    let promote = app
        .api(
            Method::PUT,
            &format!("/api/organizations/acme/members/{bob_id}"),
            &ada,
        )
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(promote.status(), StatusCode::OK);
    let leave = app
        .api(Method::POST, "/api/organizations/acme/leave", &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(leave.status(), StatusCode::OK);
    let adas: Value = app
        .api(Method::GET, "/api/organizations", &ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(adas["organizations"], json!([]));

    // Bob, now the only admin, removes nobody by mistake: unknown members are 404.
    let unknown = app
        .api(
            Method::DELETE,
            "/api/organizations/acme/members/user-nope",
            &bob,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(unknown, StatusCode::NOT_FOUND).await,
        "MEMBER_NOT_FOUND"
    );
}

#[tokio::test]
async fn admins_remove_members_and_roles_are_validated() {
    let Some(app) = spawn_app().await else { return };
    let (_, ada) = app.user_with_key("ada@example.com", "ada").await;
    let (bob_id, bob) = app.user_with_key("bob@example.com", "bob").await;
    app.api(Method::POST, "/api/organizations", &ada)
        .json(&json!({"name": "Acme", "handle": "acme"}))
        .send()
        .await
        .unwrap();
    app.join_org(&ada, "acme", &bob, "bob@example.com", "member")
        .await;

    let bad_role = app
        .api(
            Method::PUT,
            &format!("/api/organizations/acme/members/{bob_id}"),
            &ada,
        )
        .json(&json!({"role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(bad_role, StatusCode::BAD_REQUEST).await,
        "INVALID_BODY"
    );

    let removed = app
        .api(
            Method::DELETE,
            &format!("/api/organizations/acme/members/{bob_id}"),
            &ada,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let gone = app
        .api(Method::GET, "/api/organizations/acme/members", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(gone, StatusCode::NOT_FOUND).await,
        "ORG_NOT_FOUND"
    );
}

#[tokio::test]
async fn console_manages_organizations() {
    let Some(app) = spawn_app().await else { return };
    app.signup("ada@example.com", "ada").await;
    let (_, bob) = app.user_with_key("bob@example.com", "bob").await;
    let org = app
        .call_fn("create_org", &[("name", "Acme"), ("handle", "acme")])
        .await;
    assert_eq!(org.status(), StatusCode::OK);
    let bad = app
        .call_fn("create_org", &[("name", ""), ("handle", "acme2")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "name");

    let invited = app
        .call_fn(
            "invite_member",
            &[
                ("org", "acme"),
                ("email", "bob@example.com"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let pending: Value = app
        .call_fn("org_invitations", &[("org", "acme")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending[0]["email"], "bob@example.com");
    let open: Value = app
        .api(reqwest::Method::GET, "/api/invitations", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = open["invitations"][0]["id"].as_str().unwrap().to_owned();
    let accepted = app
        .api(
            reqwest::Method::POST,
            &format!("/api/invitations/{id}/accept"),
            &bob,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let members: Value = app
        .call_fn("list_members", &[("org", "acme")])
        .await
        .json()
        .await
        .unwrap();
    let roles: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["handle"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, vec![("ada", "admin"), ("bob", "admin")]);
    assert_eq!(
        app.call_fn("leave_org", &[("org", "acme")]).await.status(),
        StatusCode::OK
    );
    let orgs: Value = app.call_fn("list_orgs", &[]).await.json().await.unwrap();
    assert_eq!(orgs, json!([]));
}
