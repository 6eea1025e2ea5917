//! Bad input gets a clear 4xx in the one error shape, never a 500.

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_is_400_with_the_error_shape() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/agencies"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"code\": \"SO-X\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "invalid_json");
}

#[tokio::test]
async fn a_wrong_content_type_is_415_with_the_error_shape() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/agencies"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "text/plain")
        .body(agency("SO-X", "city", "79").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "unsupported_media_type");
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_422_and_names_the_problem() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json("/api/v1/agencies", &serde_json::json!({"code": "SO-X"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_code(&body), "invalid_body");
    assert!(
        body["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("missing field"),
        "{body}"
    );
    let mut extra = agency("SO-X", "city", "79");
    extra["surprise"] = serde_json::json!(1);
    let (status, body) = app.post_json("/api/v1/agencies", &extra).await;
    assert_eq!((status, error_code(&body)), (422, "invalid_body"));
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let mut big = agency("SO-X", "city", "79");
    big["name_vi"] = serde_json::json!("x".repeat(2 * 1024 * 1024));
    let (status, body) = app.post_json("/api/v1/agencies", &big).await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"));
}

#[tokio::test]
async fn bad_query_parameters_are_400_never_500() {
    let app = spawn_app().await;
    for (path, code) in [
        ("/api/v1/units?page=0", "invalid_page"),
        ("/api/v1/units?per_page=201", "invalid_page"),
        ("/api/v1/units?page=abc", "invalid_query"),
        ("/api/v1/units?page=-1", "invalid_query"),
        ("/api/v1/units?as_of=2025-13-01", "invalid_date"),
        ("/api/v1/units?as_of=yesterday", "invalid_date"),
        ("/api/v1/units?kind=county", "invalid_unit_kind"),
        ("/api/v1/units?parent=7a", "invalid_unit_code"),
        ("/api/v1/units/ABCDE", "invalid_unit_code"),
        ("/api/v1/units/1234567", "invalid_unit_code"),
        ("/api/v1/agencies/so-x", "invalid_agency_code"),
        ("/api/v1/agencies?level=galaxy", "invalid_query"),
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!((status, error_code(&body)), (400, code), "{path}: {body}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/nothing-here").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let res = app
        .client
        .delete(app.url("/api/v1/units"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "method_not_allowed");
}

#[tokio::test]
async fn hostile_search_strings_are_just_text() {
    let app = spawn_app().await;
    // LIKE wildcards are escaped: they match nothing rather than everything.
    for q in ["%25", "_", "'%20OR%201=1--", "%5C", "%F0%9F%98%80"] {
        let (status, body) = app.get_json(&format!("/api/v1/units?q={q}")).await;
        assert_eq!(status, 200, "{q}: {body}");
        assert_eq!(body["total"], 0, "{q} matched: {body}");
    }
    // PostgreSQL refuses NUL in text; control characters are dropped before they get there.
    let (status, body) = app.get_json("/api/v1/units?q=b%00en%20thanh").await;
    assert_eq!((status, body["total"].as_i64()), (200, Some(1)), "{body}");
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    let h = res.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(!h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn internal_errors_say_nothing_of_their_cause() {
    let app = spawn_app().await;
    // Break the database behind the server's back.
    let pool = app.db.raw().await;
    sqlx::query("ALTER TABLE agencies RENAME TO agencies_gone")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let res = app.get("/api/v1/agencies").await;
    assert_eq!(res.status(), 500);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "internal");
    let text = body.to_string().to_lowercase();
    for leak in ["agencies", "sql", "table", "relation"] {
        assert!(
            !text.contains(leak),
            "internal detail {leak:?} leaked: {body}"
        );
    }
    let res = app.get("/agencies?lang=en").await;
    assert_eq!(res.status(), 500);
    let html = res.text().await.unwrap();
    assert!(html.contains("Something went wrong on the server"));
    assert!(!html.to_lowercase().contains("no such table") && !html.contains("does not exist"));
}
