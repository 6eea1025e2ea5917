//! Registering and reading agencies; every change audited.

use crate::helpers::*;

#[tokio::test]
async fn an_admin_registers_an_agency_and_anyone_reads_it() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json("/api/v1/agencies", &agency("SO-XAY-DUNG", "city", "79"))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["code"], "SO-XAY-DUNG");
    let (status, body) = app.get_json("/api/v1/agencies/SO-XAY-DUNG").await;
    assert_eq!(
        (status, body["name_en"].as_str()),
        (200, Some("Agency SO-XAY-DUNG"))
    );
    let (_, list) = app.get_json("/api/v1/agencies?q=agency%20so-xay").await;
    assert_eq!(list["total"], 1);
    // The change and its audit entry were written together.
    let entries =
        sohoa_storage::audit::entries_for_object(app.server_db(), "agency", "SO-XAY-DUNG", 10)
            .await
            .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].record.action, "agency.create");
    assert_eq!(entries[0].record.actor, "admin");
    assert_eq!(entries[0].record.client_addr.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_duplicate_code_is_409_and_writes_nothing() {
    let app = spawn_app().await;
    assert_eq!(
        app.post_json("/api/v1/agencies", &agency("SO-Y-TE", "city", "79"))
            .await
            .0,
        201
    );
    let head = sohoa_storage::audit::head(app.server_db()).await.unwrap();
    let (status, body) = app
        .post_json("/api/v1/agencies", &agency("SO-Y-TE", "city", "79"))
        .await;
    assert_eq!((status, error_code(&body)), (409, "agency_exists"));
    assert_eq!(
        sohoa_storage::audit::head(app.server_db()).await.unwrap(),
        head
    );
}

#[tokio::test]
async fn agencies_must_fit_the_units_in_force() {
    let app = spawn_app().await;
    for (body, code) in [
        (agency("so-lower", "city", "79"), "invalid_agency_code"),
        (agency("UBND-X", "commune", "79"), "agency_level_mismatch"),
        (agency("SO-X", "city", "26743"), "agency_level_mismatch"),
        // 26752 was a ward of District 1 until 2025-06-30 and names no unit today.
        (agency("UBND-OLD", "commune", "26752"), "unknown_unit"),
        (agency("UBND-Y", "commune", "2674"), "invalid_unit_code"),
    ] {
        let (status, res) = app.post_json("/api/v1/agencies", &body).await;
        assert_eq!((status, error_code(&res)), (422, code), "{body}: {res}");
        assert!(res["error"]["field"].as_str().is_some(), "{res}");
    }
    let mut blank = agency("SO-X", "city", "79");
    blank["name_vi"] = serde_json::json!("   ");
    let (status, res) = app.post_json("/api/v1/agencies", &blank).await;
    assert_eq!(
        (status, error_code(&res), res["error"]["field"].as_str()),
        (422, "invalid_agency_name", Some("name_vi"))
    );
    let (_, list) = app.get_json("/api/v1/agencies").await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn writes_need_the_admin_token_and_are_denied_by_default() {
    let app = spawn_app().await;
    let body = agency("SO-X", "city", "79");
    let res = app
        .client
        .post(app.url("/api/v1/agencies"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = app
        .client
        .post(app.url("/api/v1/agencies"))
        .bearer_auth("wrong-token-wrong-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let closed = spawn_app_with(Options {
        admin: false,
        demo: false,
        ..Options::default()
    })
    .await;
    // A token of no kind this server issues, administration enabled or not, is one answer
    // (RFC 6750): it tells a prober nothing of the set-up.
    for (server, token) in [(&closed, ADMIN_TOKEN), (&app, "not-a-key")] {
        let res = server
            .client
            .post(server.url("/api/v1/agencies"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#
        );
        let res: serde_json::Value = res.json().await.unwrap();
        assert_eq!(error_code(&res), "invalid_token");
    }
}

#[tokio::test]
async fn concurrent_writes_keep_one_unbroken_chain() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = app.client.clone();
        let url = app.url("/api/v1/agencies");
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(&agency(&format!("SO-C{i}"), "city", "79"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    match sohoa_storage::audit::verify(app.server_db(), |_, _| {})
        .await
        .unwrap()
    {
        sohoa_storage::audit::Verification::Intact { entries } => assert_eq!(entries, 25),
        broken => panic!("{broken:?}"),
    }
}

#[tokio::test]
async fn agency_lists_are_paged() {
    let app = spawn_app_with(Options {
        admin: false,
        demo: true,
        ..Options::default()
    })
    .await;
    let (_, all) = app.get_json("/api/v1/agencies?per_page=200").await;
    let total = all["total"].as_i64().unwrap();
    let (_, p1) = app.get_json("/api/v1/agencies?per_page=4&page=1").await;
    let (_, p2) = app.get_json("/api/v1/agencies?per_page=4&page=2").await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 4);
    assert_ne!(p1["items"][0]["code"], p2["items"][0]["code"]);
    assert_eq!(p1["total"].as_i64(), Some(total));
    let (_, commune) = app
        .get_json("/api/v1/agencies?level=commune&per_page=200")
        .await;
    assert!(commune["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["level"] == "commune"));
}
