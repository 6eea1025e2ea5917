//! The OpenAPI document is generated from the code and covers exactly the routes served.

use std::collections::BTreeSet;

use sohoa_web::{route_table, RouteKind};

use crate::helpers::*;

#[tokio::test]
async fn the_document_parses_and_lists_every_route_the_router_serves() {
    let app = spawn_app().await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let table = route_table();
    let served: BTreeSet<_> = table
        .iter()
        .filter(|r| r.kind == RouteKind::Api)
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(
        documented, served,
        "the OpenAPI document and the router disagree"
    );
    // Every JSON route is under /api/ or is one of the operational endpoints, and pages
    // never hide under /api/v1.
    for r in &table {
        match r.kind {
            RouteKind::Api => assert!(
                r.path.starts_with("/api/")
                    || ["/healthz", "/readyz", "/metrics", "/oauth/token"].contains(&r.path)
            ),
            _ => assert!(!r.path.starts_with("/api/v1")),
        }
    }

    // The table is what the router really serves: every route answers something other than
    // "no such route" (404 from the fallback) or 405.
    for r in &table {
        let path = r
            .path
            .replace("{code}", "SO-NONE")
            .replace("/units/SO-NONE", "/units/26743");
        let res = app
            .client
            .request(r.method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_ne!(status, 405, "{} {path}", r.method);
        assert!(
            status != 404 || body.contains("_not_found"),
            "{} {path} is not routed: {body}",
            r.method
        );
    }
}

#[tokio::test]
async fn every_operation_documents_its_errors_and_schemas_resolve() {
    let app = spawn_app().await;
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    // Every $ref points at a schema that exists.
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    assert!(schemas.contains_key("ErrorBody"));
    let post = &doc["paths"]["/api/v1/agencies"]["post"];
    for status in ["201", "400", "401", "409", "415", "422"] {
        assert!(
            post["responses"].get(status).is_some(),
            "POST /api/v1/agencies lacks {status}"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
