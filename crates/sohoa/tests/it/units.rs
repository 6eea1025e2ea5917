//! Administrative units by code and day.

use crate::helpers::*;

#[tokio::test]
async fn a_reused_code_resolves_by_date() {
    let app = spawn_app().await;
    let (_, before) = app.get_json("/api/v1/units/25747?as_of=2025-06-30").await;
    let (_, after) = app.get_json("/api/v1/units/25747?as_of=2025-07-01").await;
    assert_eq!(before["name"], "Phường Phú Cường");
    assert_eq!(before["valid_to"], "2025-07-01");
    assert_eq!(before["parent_code"], "718");
    assert_eq!(after["name"], "Phường Thủ Dầu Một");
    assert_eq!(after["parent_code"], "79");
    let (_, history) = app.get_json("/api/v1/units/25747/history").await;
    assert_eq!(history.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn units_gone_in_2025_are_found_only_before() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/api/v1/units/26752?as_of=2025-07-01").await;
    assert_eq!((status, error_code(&body)), (404, "unit_not_found"));
    let (status, body) = app.get_json("/api/v1/units/26752?as_of=2024-01-01").await;
    assert_eq!(
        (status, body["name"].as_str()),
        (200, Some("Phường Cầu Ông Lãnh"))
    );
    let (status, body) = app.get_json("/api/v1/units/99999/history").await;
    assert_eq!((status, error_code(&body)), (404, "unit_not_found"));
}

#[tokio::test]
async fn the_city_has_168_units_in_pages_of_50() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for page in 1..=4 {
        let (_, body) = app
            .get_json(&format!(
                "/api/v1/units?parent=79&as_of=2025-07-01&page={page}"
            ))
            .await;
        assert_eq!(body["total"], 168);
        for u in body["items"].as_array().unwrap() {
            assert!(
                seen.insert(u["code"].as_str().unwrap().to_owned()),
                "duplicate across pages"
            );
        }
    }
    assert_eq!(seen.len(), 168);
    let (_, body) = app
        .get_json("/api/v1/units?parent=79&as_of=2025-07-01&page=5")
        .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(0));
    let (_, wards) = app
        .get_json("/api/v1/units?kind=ward&as_of=2025-07-01&per_page=1")
        .await;
    assert_eq!(wards["total"], 113);
    let (_, zones) = app.get_json("/api/v1/units?kind=special_zone").await;
    assert_eq!(zones["items"][0]["name"], "Đặc khu Côn Đảo");
}

#[tokio::test]
async fn search_ignores_diacritics_and_case() {
    let app = spawn_app().await;
    for q in ["ben%20thanh", "B%E1%BA%BEN%20TH%C3%80NH", "26743"] {
        let (_, body) = app.get_json(&format!("/api/v1/units?q={q}")).await;
        assert_eq!(body["total"], 1, "{q}: {body}");
        assert_eq!(body["items"][0]["code"], "26743");
    }
    // Before the reform the city had districts: they are found on an earlier day.
    let (_, body) = app
        .get_json("/api/v1/units?q=quan%201&level=district&as_of=2024-12-31")
        .await;
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "Quận 1"),
        "{body}"
    );
}
