//! Health, readiness, metrics, start-up and restarts.

use crate::helpers::*;

#[tokio::test]
async fn migrations_apply_from_empty_and_reference_units_load() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], backend_name());
    let (_, body) = app
        .get_json("/api/v1/units?level=commune&as_of=2025-07-01&per_page=1")
        .await;
    assert_eq!(body["total"], 168);
}

#[tokio::test]
async fn healthz_answers() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    // Each server counts its own requests; Prometheus sums the servers it scrapes.
    let app = spawn_app_with(Options {
        admin: true,
        one_server: true,
        ..Options::default()
    })
    .await;
    app.get("/api/v1/units/26743").await;
    app.get("/api/v1/units/26743").await;
    app.get("/api/v1/units/99999").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/units/{code}",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"http_requests_total{method="GET",route="/api/v1/units/{code}",status="404"} 1"#
    ));
    assert!(text.contains("http_request_duration_seconds_bucket{"));
    // Raw paths never become labels.
    assert!(!text.contains("26743"));
}

#[tokio::test]
async fn readyz_fails_with_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    // Close the server's own pools: the process lives on but cannot reach its database.
    app.server_db().close().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(error_code(&body), "database_unavailable");
    // Liveness is not readiness: the process itself is fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn demo_data_loads_once_however_often_the_server_starts() {
    let app = spawn_app_with(Options {
        admin: false,
        demo: true,
        ..Options::default()
    })
    .await;
    let (_, first) = app.get_json("/api/v1/agencies?per_page=200").await;
    let total = first["total"].as_i64().unwrap();
    assert!(total >= 10, "{first}");
    let head_before = sohoa_storage::audit::head(app.server_db()).await.unwrap();
    let db = app.stop().await;
    let app = spawn_on(
        db,
        Options {
            admin: false,
            demo: true,
            ..Options::default()
        },
    )
    .await;
    let (_, second) = app.get_json("/api/v1/agencies?per_page=200").await;
    assert_eq!(second["total"].as_i64(), Some(total));
    let head_after = sohoa_storage::audit::head(app.server_db()).await.unwrap();
    assert_eq!(head_before, head_after, "a restart wrote audit entries");
    // The demo registries came from the generator, once, with the demo account's resident.
    assert_eq!(
        sohoa_storage::registry::citizens::count(app.server_db())
            .await
            .unwrap(),
        2_001
    );
    assert_eq!(
        sohoa_storage::registry::enterprises::count(app.server_db())
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        sohoa_storage::registry::parcels::count(app.server_db())
            .await
            .unwrap(),
        300
    );
    // The leaders' pages have indicators to show: four years of approved months of two
    // wards, enough for a seasonal forecast with its backtest.
    let (s, list) = app.get_json("/api/v1/indicators").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        list["indicators"].as_array().map(Vec::len),
        Some(4),
        "{list}"
    );
    let (s, f) = app
        .get_json("/api/v1/indicators/RETAIL/forecast?unit=26743&h=6")
        .await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["observations"], 48, "{f}");
    let (s, f) = app
        .get_json("/api/v1/indicators/RETAIL_PC/forecast?unit=26737&h=3")
        .await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["observations"], 48, "{f}");
}
