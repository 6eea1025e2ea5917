//! Feedback end to end over HTTP: a report filed through Open311 lands on the public map,
//! reaches the agency the routing table names, is answered, resolved and rated; the
//! evaluation shows it per commune, and matches a recount of what is stored. Malformed
//! Open311 requests get the specification's errors.

use serde_json::{json, Value};

use crate::applications::{apply, catalog, move_to};
use crate::helpers::*;
use crate::personas::*;

/// Posts an Open311 form; answers the status and the raw body.
async fn open311_post(app: &TestApp, file: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let res = app
        .client
        .post(app.url(&format!("/open311/v2/{file}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn open311_get(app: &TestApp, path: &str) -> (u16, String, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

/// A point inside a commune: the middle of its cell's vertices (the cells are convex).
async fn point_in(app: &TestApp, unit: &str) -> (f64, f64) {
    let (s, b) = app.anonymous().get("/api/v1/boundaries.geojson").await;
    assert_eq!(s, 200);
    assert_eq!(b["approximate"], true, "the shipped boundaries say so");
    let f = b["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["unit_code"] == unit)
        .unwrap_or_else(|| panic!("no boundary for {unit}"));
    let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
    let n = (ring.len() - 1) as f64;
    let (mut lon, mut lat) = (0.0, 0.0);
    for p in &ring[1..] {
        lon += p[0].as_f64().unwrap();
        lat += p[1].as_f64().unwrap();
    }
    (lat / n, lon / n)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.raw().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_report_filed_through_open311_is_mapped_routed_resolved_rated_and_evaluated() {
    let mut step = Step::start("setting up");
    let app = spawn_app().await;
    let city = populate(&app).await;
    let key = city.token("agency_system").to_owned();
    let officer = city.token("officer").to_owned();
    let (lat, lon) = point_in(&app, "26743").await;
    let (lat_s, lon_s) = (lat.to_string(), lon.to_string());

    step.at("The services, in both formats, with their attributes");
    // The services, in both formats, with their attributes.
    let (s, ct, body) = open311_get(&app, "/open311/v2/services.json").await;
    assert_eq!((s, ct.starts_with("application/json")), (200, true));
    let services: Value = serde_json::from_str(&body).unwrap();
    let flooding = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "flooding")
        .unwrap();
    assert_eq!(flooding["metadata"], true);
    assert_eq!(flooding["type"], "realtime");
    let (s, ct, xml) = open311_get(&app, "/open311/v2/services.xml").await;
    assert_eq!((s, ct.starts_with("text/xml")), (200, true));
    assert!(xml.contains("<services><service><service_code>"), "{xml}");
    let (s, _, def) = open311_get(&app, "/open311/v2/services/flooding.json").await;
    assert_eq!(s, 200);
    let def: Value = serde_json::from_str(&def).unwrap();
    assert_eq!(def["attributes"][0]["code"], "depth");
    assert_eq!(def["attributes"][0]["datatype"], "singlevaluelist");
    assert_eq!(def["attributes"][0]["required"], true);
    assert_eq!(def["attributes"][0]["values"][1]["key"], "knee");
    let (s, _, def) = open311_get(&app, "/open311/v2/services/flooding.xml").await;
    assert_eq!(s, 200);
    assert!(def.contains("<service_definition><service_code>flooding</service_code><attributes><attribute><variable>true</variable>"), "{def}");

    step.at("Malformed requests get the specification's errors, in the format asked for");
    // Malformed requests get the specification's errors, in the format asked for.
    let good: Vec<(&str, &str)> = vec![
        ("api_key", &key),
        ("service_code", "flooding"),
        ("lat", &lat_s),
        ("long", &lon_s),
        ("description", "Nước ngập tới đầu gối trước chợ"),
        ("email", "mai@example.vn"),
        ("first_name", "Mai"),
        ("attribute[depth]", "knee"),
    ];
    let without =
        |k: &str| -> Vec<(&str, &str)> { good.iter().filter(|(x, _)| *x != k).cloned().collect() };
    let with = |k: &'static str, v: &'static str| -> Vec<(&str, &str)> {
        let mut f = without(k);
        f.push((k, v));
        f
    };
    for (form, status) in [
        (without("api_key"), 403),
        (with("api_key", "sohoa_nope_nope"), 403),
        (without("service_code"), 400),
        (with("service_code", "volcano"), 404),
        (without("attribute[depth]"), 400),
        (with("attribute[depth]", "neck"), 400),
        (with("attribute[colour]", "red"), 400),
        (without("lat"), 400),
        (with("lat", "north"), 400),
        (with("lat", "21.03"), 400),
        (
            good.iter()
                .filter(|(k, _)| !["lat", "long"].contains(k))
                .cloned()
                .collect(),
            400,
        ),
        (without("email"), 400),
        (with("email", "not-an-address"), 400),
    ] {
        let (s, body) = open311_post(&app, "requests.json", &form).await;
        assert_eq!(s, status, "{form:?}: {body}");
        let errors: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(errors[0]["code"], status, "{body}");
        assert!(errors[0]["description"].as_str().unwrap().len() > 10);
    }
    let (s, body) = open311_post(&app, "requests.xml", &without("service_code")).await;
    assert_eq!(s, 400);
    assert!(
        body.contains("<errors><error><code>400</code><description>service_code_required"),
        "{body}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM reports").await, 0);
    let (s, _, body) = open311_get(&app, "/open311/v2/requests.json?start_date=yesterday").await;
    assert_eq!(s, 400, "{body}");
    let (s, _, _) = open311_get(&app, "/open311/v2/requests/PA-NONE.json").await;
    assert_eq!(s, 404);
    let (s, _, _) = open311_get(&app, "/open311/v2/services.csv").await;
    assert_eq!(s, 404);

    step.at("Filed through Open311 by an agency's app on a resident's behalf");
    // Filed through Open311 by an agency's app on a resident's behalf.
    let (s, body) = open311_post(&app, "requests.json", &good).await;
    assert_eq!(s, 201, "{body}");
    let filed: Value = serde_json::from_str(&body).unwrap();
    let id = filed[0]["service_request_id"].as_str().unwrap().to_owned();
    let token = filed[0]["token"].as_str().unwrap().to_owned();
    let code = filed[0]["reporter_code"].as_str().unwrap().to_owned();
    let (s, _, body) = open311_get(&app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"],
        id.as_str()
    );

    step.at("Routed");
    // Routed: nothing in the table for flooding, so the ward's People's Committee answers.
    let (s, _, body) = open311_get(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(s, 200);
    let req: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(req[0]["agency_responsible"], "UBND-26743");
    assert_eq!(req[0]["status"], "open");
    assert_eq!(req[0]["service_code"], "flooding");
    assert!(req[0]["requested_datetime"]
        .as_str()
        .unwrap()
        .ends_with("+07:00"));
    let (s, _, xml) = open311_get(&app, &format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(s, 200);
    assert!(xml.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><status>open</status>")), "{xml}");

    step.at("On the public map, without anything about who reported it");
    // On the public map, without anything about who reported it.
    let bbox = format!(
        "{},{},{},{}",
        lon - 0.01,
        lat - 0.01,
        lon + 0.01,
        lat + 0.01
    );
    let res = app
        .client
        .get(app.url(&format!("/api/v1/reports.geojson?bbox={bbox}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/geo+json");
    let map = res.text().await.unwrap();
    assert!(
        !map.contains("mai@example.vn") && !map.contains("Mai\""),
        "{map}"
    );
    let map: Value = serde_json::from_str(&map).unwrap();
    assert_eq!(map["features"][0]["id"], id.as_str());
    assert_eq!(map["features"][0]["properties"]["unit_code"], "26743");
    step.at("The whole feature, as the database builds it on either backend");
    // The whole feature, as the database builds it on either backend.
    let f = &map["features"][0];
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["geometry"]["type"], "Point");
    step.at("Stored to the micro-degree (about 11 cm)");
    // Stored to the micro-degree (about 11 cm).
    let at = |i: usize| f["geometry"]["coordinates"][i].as_f64().unwrap();
    assert!(
        (at(0) - lon).abs() < 1e-6 && (at(1) - lat).abs() < 1e-6,
        "{f}"
    );
    assert_eq!(f["properties"]["id"], id.as_str());
    assert!(
        f["properties"]["category"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{f}"
    );
    assert!(f["properties"]["status"].as_str().is_some(), "{f}");
    assert!(f["properties"]["supporters"].as_i64().is_some(), "{f}");
    assert!(
        f["properties"]["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{f}"
    );
    assert_eq!(map["truncated"], false);
    if app.db.is_postgres() {
        // PostgreSQL writes those values into the document unquoted: the table itself
        // refuses one that JSON would need to escape.
        let bad = sqlx::query("UPDATE reports SET status = 'open\"' WHERE id = $1")
            .bind(id.as_str())
            .execute(&app.db.raw().await)
            .await;
        assert!(bad.is_err(), "{bad:?}");
    }
    let (s, far) = app
        .anonymous()
        .get("/api/v1/reports.geojson?bbox=106.0,10.0,106.1,10.1")
        .await;
    assert_eq!(s, 200);
    assert_eq!(far["features"].as_array().unwrap().len(), 0);
    let (s, b) = app
        .anonymous()
        .get("/api/v1/reports.geojson?bbox=1,2,3")
        .await;
    assert_eq!((s, error_code(&b)), (400, "invalid_bbox"));
    step.at("The contact is sealed at rest");
    // The contact is sealed at rest.
    let stored: String = sqlx::query_scalar("SELECT contact FROM reports")
        .fetch_one(&app.db.raw().await)
        .await
        .unwrap();
    assert!(!stored.contains("mai@"), "{stored}");

    step.at("A neighbour about to file the same flood is offered to join");
    // A neighbour about to file the same flood is offered to join; joining counts once.
    let near = json!({"category": "flooding", "lat": lat + 0.0001, "long": lon,
        "description": "Ngập", "attributes": {"depth": "ankle"}, "phone": "0912 345 678"});
    let (s, second) = app.anonymous().post("/api/v1/reports", &near).await;
    assert_eq!(s, 201, "{second}");
    assert_eq!(second["nearby"], json!([id]));
    let second_id = second["report"]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .anonymous()
        .get(&format!(
            "/api/v1/feedback/nearby?category=flooding&lat={lat}&long={lon}"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["features"].as_array().unwrap().len(), 2);
    for joined in [true, false] {
        let (s, b) = app
            .anonymous()
            .post(
                &format!("/api/v1/reports/{id}/supporters"),
                &json!({"phone": "+84 912 345 678"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            (b["joined"].as_bool(), b["supporters"].as_i64()),
            (Some(joined), Some(1))
        );
    }

    step.at("The reporter adds a photo with their code");
    // The reporter adds a photo with their code; nobody else sees it.
    let png = b"\x89PNG\r\n\x1a\n0000fake-image-bytes".to_vec();
    let photo = |code: Option<&str>, ct: &str, bytes: Vec<u8>| {
        let mut req = app
            .client
            .post(app.url(&format!("/api/v1/reports/{id}/photos")))
            .header("content-type", ct)
            .body(bytes);
        if let Some(c) = code {
            req = req.header("x-reporter-code", c);
        }
        req.send()
    };
    assert_eq!(
        photo(None, "image/png", png.clone())
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        photo(Some(&code), "image/gif", b"GIF89a".to_vec())
            .await
            .unwrap()
            .status(),
        415
    );
    let res = photo(Some(&code), "image/png", png.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.client.get(app.url(&url)).send().await.unwrap().status(),
        404
    );
    let res = app
        .client
        .get(app.url(&url))
        .header("x-reporter-code", &code)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);

    step.at("The ward's officer sees it in the queue, with the contact (a read that is audited)");
    // The ward's officer sees it in the queue, with the contact (a read that is audited).
    let (s, queue) = app.as_(&officer).get("/api/v1/reports").await;
    assert_eq!(s, 200, "{queue}");
    let ids: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()) && ids.contains(&second_id.as_str()));
    let (s, full) = app
        .as_(&officer)
        .get(&format!("/api/v1/reports/{id}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(full["contact"], json!(["email:mai@example.vn", "name:Mai"]));
    let (s, public) = app.anonymous().get(&format!("/api/v1/reports/{id}")).await;
    assert_eq!(s, 200);
    assert!(public.get("contact").is_none() && public.get("photos").is_none());
    for who in ["citizen", "leader", "agency_system"] {
        let (s, _) = app
            .as_(city.token(who))
            .post(
                &format!("/api/v1/reports/{id}/transitions"),
                &json!({"to": "acknowledged"}),
            )
            .await;
        assert_eq!(s, 403, "{who}");
    }

    step.at("Moved, answered publicly, resolved only with a note saying what was done");
    // Moved, answered publicly, resolved only with a note saying what was done.
    let moves = |to: &str, note: Option<&str>| json!({"to": to, "note": note});
    let path = format!("/api/v1/reports/{id}/transitions");
    let (s, b) = app
        .as_(&officer)
        .post(&path, &moves("acknowledged", Some("Đã tiếp nhận")))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app.as_(&officer).post(&path, &moves("closed", None)).await;
    assert_eq!((s, error_code(&b)), (409, "illegal_report_transition"));
    let (s, _) = app
        .as_(&officer)
        .post(&path, &moves("in_progress", None))
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .as_(&officer)
        .post(&path, &moves("resolved", None))
        .await;
    assert_eq!((s, error_code(&b)), (422, "resolution_note_required"));
    let (s, b) = app
        .as_(&officer)
        .post(&path, &moves("resolved", Some("Đã nạo vét cống")))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "resolved");
    assert_eq!(b["events"].as_array().unwrap().len(), 4);
    let (s, _, body) = open311_get(
        &app,
        "/open311/v2/requests.json?status=closed&service_code=flooding",
    )
    .await;
    assert_eq!(s, 200);
    let closed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(closed.as_array().unwrap().len(), 1);
    assert_eq!(closed[0]["status_notes"], "Đã nạo vét cống");

    step.at("The reporter rates it with their code");
    // The reporter rates it with their code: once; the rating closes it.
    let rate = format!("/api/v1/reports/{id}/rating");
    let (s, b) = app
        .anonymous()
        .post(&rate, &json!({"score": 5, "reporter_code": "0000"}))
        .await;
    assert_eq!((s, error_code(&b)), (403, "not_reporter"));
    let (s, b) = app
        .anonymous()
        .post(&rate, &json!({"score": 9, "reporter_code": code}))
        .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_score"));
    let (s, b) = app
        .anonymous()
        .post(
            &rate,
            &json!({"score": 5, "reporter_code": code, "comment": "Nhanh"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["rating"].as_i64()),
        (Some("closed"), Some(5))
    );
    let (s, b) = app
        .anonymous()
        .post(&rate, &json!({"score": 4, "reporter_code": code}))
        .await;
    assert_eq!((s, error_code(&b)), (409, "report_already_rated"));

    step.at("The second is not the ward's to answer");
    // The second is not the ward's to answer: forwarded, it leaves the ward's queue.
    let (s, b) = app
        .as_(&officer)
        .post(
            &format!("/api/v1/reports/{second_id}/forward"),
            &json!({"agency_code": "SO-XAY-DUNG", "note": "Thuộc thẩm quyền Sở Xây dựng"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agency_code"], "SO-XAY-DUNG");
    let (s, _) = app
        .as_(&officer)
        .get(&format!("/api/v1/reports/{second_id}/transitions"))
        .await;
    assert_eq!(s, 405);
    let (s, b) = app
        .as_(&officer)
        .post(
            &format!("/api/v1/reports/{second_id}/transitions"),
            &json!({"to": "acknowledged"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (404, "report_not_found"));

    step.at("The routing table sends road damage anywhere to the Department of Construction");
    // The routing table sends road damage anywhere to the Department of Construction.
    let route = json!({"category": "road_damage", "unit_code": "*", "agency_code": "SO-XAY-DUNG"});
    let (s, _) = app
        .as_(&officer)
        .call(
            reqwest::Method::PUT,
            "/api/v1/feedback/routes",
            Some(&route),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = app
        .as_(city.token("city_admin"))
        .call(
            reqwest::Method::PUT,
            "/api/v1/feedback/routes",
            Some(&route),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = app
        .as_(city.token("city_admin"))
        .call(
            reqwest::Method::PUT,
            "/api/v1/feedback/routes",
            Some(
                &json!({"category": "road_damage", "unit_code": "26743", "agency_code": "SO-NONE"}),
            ),
        )
        .await;
    assert_eq!((s, error_code(&b)), (422, "unknown_agency"));

    step.at("A signed-in citizen files by address alone");
    // A signed-in citizen files by address alone; the road damage goes where routed. She
    // reopens it when the fix does not hold, then rates the second fix.
    let mai = city.token("citizen").to_owned();
    let (s, third) = app
        .as_(&mai)
        .post(
            "/api/v1/reports",
            &json!({"category": "road_damage", "address": "12 Lê Lợi, Phường Bến Thành",
               "description": "Ổ gà lớn giữa đường"}),
        )
        .await;
    assert_eq!(s, 201, "{third}");
    assert_eq!(third["report"]["unit_code"], "26743");
    assert_eq!(third["report"]["agency_code"], "SO-XAY-DUNG");
    let third_id = third["report"]["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .as_(&mai)
        .post(
            "/api/v1/reports",
            &json!({"category": "road_damage", "address": "Hà Nội", "description": "x"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (422, "location_required"));
    step.at("No officer of the department in this city");
    // No officer of the department in this city: act through its own staff account.
    let (s, b) = app.as_(ADMIN_TOKEN).post("/api/v1/staff", &json!({"username": "canbo.xaydung", "display_name": "Cán bộ Sở Xây dựng", "role": "officer",
               "agency_code": "SO-XAY-DUNG", "password": PASSWORD}))
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = login(
        &app,
        json!({"username": "canbo.xaydung", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let builder = b["token"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/reports/{third_id}/transitions");
    let (s, b) = app
        .as_(&builder)
        .post(&path, &moves("resolved", Some("Đã vá")))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .as_(city.token("other_citizen"))
        .post(
            &format!("/api/v1/reports/{third_id}/reopen"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (403, "not_reporter"));
    let (s, b) = app
        .as_(&mai)
        .post(
            &format!("/api/v1/reports/{third_id}/reopen"),
            &json!({"reason": "Lại bị bong"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["reopened"].as_i64()),
        (Some("open"), Some(1))
    );
    assert!(b["resolved_at"].is_null());
    let (s, _) = app
        .as_(&builder)
        .post(&path, &moves("resolved", Some("Đã làm lại mặt đường")))
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .as_(&mai)
        .post(
            &format!("/api/v1/reports/{third_id}/rating"),
            &json!({"score": 3}),
        )
        .await;
    assert_eq!(s, 200);

    step.at("Mai rates a decided application too");
    // Mai rates a decided application too.
    catalog(&app).await;
    let (s, a) = apply(
        &app,
        &mai,
        "k-eval",
        &json!({"procedure_code": "T-KHAISINH",
        "answers": {"child_name": "Trần Minh An", "born_on": "2026-11-20"}}),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let number = a["number"].as_str().unwrap().to_owned();
    let rate_app = format!("/api/v1/applications/{number}/rating");
    let (s, b) = app
        .as_(&mai)
        .post(&rate_app, &json!({"satisfaction": 4, "on_time": true}))
        .await;
    assert_eq!((s, error_code(&b)), (409, "application_not_decided"));
    for to in ["received", "in_review", "approved"] {
        let (s, b) = move_to(&app, &officer, &number, json!({"to": to})).await;
        assert_eq!(s, 200, "{to}: {b}");
    }
    let (s, b) = app
        .as_(city.token("other_citizen"))
        .post(&rate_app, &json!({"satisfaction": 1, "on_time": false}))
        .await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = app
        .as_(&mai)
        .post(
            &rate_app,
            &json!({"satisfaction": 4, "on_time": true, "comment": "Tốt"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = app
        .as_(&mai)
        .post(&rate_app, &json!({"satisfaction": 4, "on_time": true}))
        .await;
    assert_eq!((s, error_code(&b)), (409, "application_already_rated"));

    step.at("The evaluation, for leaders");
    // The evaluation, for leaders: per commune, everything counted.
    let (s, _) = app.as_(&mai).get("/api/v1/evaluation").await;
    assert_eq!(s, 403);
    let (s, b) = app
        .as_(city.token("leader"))
        .get("/api/v1/evaluation?from=2026-13")
        .await;
    assert_eq!((s, error_code(&b)), (400, "invalid_month"));
    let (s, eval) = app
        .as_(city.token("leader"))
        .get("/api/v1/evaluation")
        .await;
    assert_eq!(s, 200, "{eval}");
    let row = eval["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit_code"] == "26743")
        .unwrap()
        .clone();
    assert_eq!(row["reports_received"], 3);
    assert_eq!(row["reports_resolved"], 2);
    assert_eq!(row["ratings"], 3);
    let satisfaction = row["satisfaction"].as_f64().unwrap();
    assert!((satisfaction - 4.0).abs() < 1e-9, "(5 + 3 + 4) / 3: {row}");
    assert_eq!(row["applications_decided"], 1);
    assert_eq!(row["on_time_rate"], 1.0);
    assert!(
        row["median_resolution_hours"].as_f64().unwrap() <= 1.0,
        "{row}"
    );
    let (s, by_agency) = app
        .as_(city.token("leader"))
        .get("/api/v1/evaluation?by=agency")
        .await;
    assert_eq!(s, 200);
    let agency_row = |code: &str| {
        by_agency["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["agency_code"] == code)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        agency_row("UBND-26743")["reports_received"],
        1,
        "the forwarded one moved"
    );
    assert_eq!(agency_row("SO-XAY-DUNG")["reports_received"], 2);
    step.at("The public sees nothing of the month under way (nor any figure from fewer than five");
    // The public sees nothing of the month under way (nor any figure from fewer than five
    // cases: see the_public_evaluation_cannot_be_differenced).
    let (s, public) = app.anonymous().get("/api/v1/evaluation/public").await;
    assert_eq!(s, 200);
    assert!(
        !public["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["unit_code"] == "26743"),
        "{public}"
    );
    let (s, _) = app
        .anonymous()
        .get("/api/v1/evaluation/public?by=agency")
        .await;
    assert_eq!(s, 400);

    step.at("The counters agree with a recount of what is stored");
    // The counters agree with a recount of what is stored.
    let per_unit = count(
        &app,
        "SELECT COUNT(*) FROM reports WHERE unit_code = '26743'",
    )
    .await;
    let resolved = count(
        &app,
        "SELECT COUNT(*) FROM reports WHERE unit_code = '26743' AND resolved_at IS NOT NULL",
    )
    .await;
    let counted = count(&app, "SELECT CAST(SUM(reports_received) AS BIGINT) FROM evaluation_counts WHERE unit_code = '26743'").await;
    let counted_resolved = count(&app, "SELECT CAST(SUM(reports_resolved) AS BIGINT) FROM evaluation_counts WHERE unit_code = '26743'").await;
    let buckets = count(
        &app,
        "SELECT CAST(SUM(resolved_b0+resolved_b1+resolved_b2+resolved_b3+resolved_b4+resolved_b5+resolved_b6+resolved_b7+resolved_b8+resolved_b9+resolved_b10+resolved_b11+resolved_b12+resolved_b13+resolved_b14+resolved_b15+resolved_b16) AS BIGINT) FROM evaluation_counts WHERE unit_code = '26743'",
    )
    .await;
    assert_eq!(
        (counted, counted_resolved, buckets),
        (per_unit, resolved, resolved)
    );

    step.at("The pages");
    // The pages: the map draws communes and reports as SVG, with no tiles from elsewhere;
    // the evaluation map colours communes and sorts its table without a script.
    let page = |path: String, token: Option<String>| {
        let mut req = app.client.get(app.url(&path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (s, html) = page(format!("/map?bbox={bbox}&lang=en"), None).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("<svg") && html.contains(&id) && html.contains("approximate"),
        "{html}"
    );
    assert!(!html.contains("https://") && !html.contains("mai@example.vn"));
    let (s, _) = page("/map?bbox=nonsense".into(), None).await;
    assert_eq!(s, 400);
    let (s, html) = page(
        "/evaluation?metric=resolution_rate&sort=unit_code&dir=desc".into(),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Phường Bến Thành") && html.contains("aria-sort=\"descending\""),
        "{html}"
    );
    let (s, _) = page("/evaluation/full".into(), None).await;
    assert_eq!(s, 303, "leaders sign in first");
    let (s, html) = page(
        "/evaluation/full?lang=en".into(),
        Some(city.token("leader").to_owned()),
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("By agency") && html.contains("SO-XAY-DUNG"),
        "{html}"
    );

    let db = app.stop().await;
    run_cli_ok(&db, &["audit", "verify"]).await;
}

#[tokio::test]
async fn official_boundaries_replace_the_approximate_ones_all_or_nothing() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let dir = tempfile::tempdir().unwrap();
    // Bến Thành as a small square far from where the approximation puts it.
    let square = json!({"type": "Polygon", "coordinates": [[[106.5, 10.5], [106.51, 10.5],
        [106.51, 10.51], [106.5, 10.51], [106.5, 10.5]]]});
    let bad = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "26743"}, "geometry": square},
        {"type": "Feature", "properties": {"code": "99999"}, "geometry": square},
        {"type": "Feature", "properties": {"code": "26737"},
         "geometry": {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0]]]}}
    ]});
    let path = dir.path().join("bad.geojson");
    std::fs::write(&path, bad.to_string()).unwrap();
    let (code, cli_out, err) = run_cli(&app.db, &["boundaries", path.to_str().unwrap()]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(
        err.contains("feature 2") && err.contains("feature 3"),
        "{err}"
    );
    let good = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "26743"}, "geometry": square}
    ]});
    let path = dir.path().join("official.geojson");
    std::fs::write(&path, good.to_string()).unwrap();
    let (code, out, err) = run_cli(&app.db, &["boundaries", path.to_str().unwrap()]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
    // The server takes them up within its cache's life (waited for, not slept through); a
    // report there is Bến Thành's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, geo) = app.anonymous().get("/api/v1/boundaries.geojson").await;
        let taken = geo["features"].as_array().is_some_and(|fs| {
            fs.iter()
                .any(|f| f["properties"]["unit_code"] == "26743" && f["geometry"] == square)
        });
        if taken {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server never took up the boundaries"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (s, b) = app
        .as_(city.token("citizen"))
        .post(
            "/api/v1/reports",
            &json!({"category": "waste", "lat": 10.505, "long": 106.505, "description": "Rác"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["report"]["unit_code"], "26743");
    assert_eq!(b["report"]["agency_code"], "UBND-26743");
    let (_, geo) = app.anonymous().get("/api/v1/boundaries.geojson").await;
    assert_eq!(
        geo["approximate"], true,
        "the other communes are still approximate"
    );
}

/// Adds ratings to the evaluation's counters of `month` for Bến Thành, as late ratings of
/// applications decided that month would.
async fn rate_in(app: &TestApp, month: &str, ratings: i64, score_sum: i64) {
    sqlx::query(
        "INSERT INTO evaluation_counts (month, unit_code, agency_code, app_ratings, app_score_sum) \
         VALUES ($1, '26743', 'UBND-26743', $2, $3) ON CONFLICT (month, unit_code, agency_code) \
         DO UPDATE SET app_ratings = evaluation_counts.app_ratings + excluded.app_ratings, \
         app_score_sum = evaluation_counts.app_score_sum + excluded.app_score_sum",
    )
    .bind(month)
    .bind(ratings)
    .bind(score_sum)
    .execute(&app.db.raw().await)
    .await
    .unwrap();
}

/// The five-case rule holds for what can be derived, not only for each figure shown:
/// ranges one month apart, or readings before and after one rating, never isolate fewer
/// than five cases; and the month under way is never shown.
#[tokio::test]
async fn the_public_evaluation_cannot_be_differenced() {
    // The server publishes nothing by itself here: the test publishes at its steps.
    let app = spawn_app_with(Options {
        no_jobs: true,
        ..Options::default()
    })
    .await;
    let month = |back: u8| {
        let mut d = time::OffsetDateTime::now_utc()
            .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
            .date()
            .replace_day(1)
            .unwrap();
        for _ in 0..back {
            d = d.previous_day().unwrap().replace_day(1).unwrap();
        }
        format!("{:04}-{:02}", d.year(), u8::from(d.month()))
    };
    let (now, last, before) = (month(0), month(1), month(2));
    rate_in(&app, &last, 7, 28).await;
    rate_in(&app, &before, 2, 10).await;
    rate_in(&app, &now, 20, 100).await;
    // Figures are published by the hourly job; an operator runs it now. Reading never
    // publishes.
    let publish = || run_cli_ok(&app.db, &["jobs", "run", "evaluation.publish"]);
    let read = |from: &str, to: &str| {
        let path = format!("/api/v1/evaluation/public?from={from}&to={to}");
        let app = &app;
        async move {
            let (s, b) = app.anonymous().get(&path).await;
            assert_eq!(s, 200, "{b}");
            let row = b["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["unit_code"] == "26743")
                .cloned()
                .unwrap_or(Value::Null);
            (
                row["ratings"].as_i64().unwrap_or(0),
                row["satisfaction"].as_f64(),
            )
        }
    };
    assert_eq!(read(&last, &last).await, (0, None), "nothing published yet");
    publish().await;
    // Two months, or the last alone: the same, since the month before rests on 2 ratings.
    assert_eq!(read(&before, &last).await, (7, Some(4.0)));
    assert_eq!(read(&last, &last).await, (7, Some(4.0)));
    assert_eq!(read(&before, &before).await, (0, None));
    // Asking for the month under way gives the months that have ended.
    assert_eq!(read(&before, &now).await, (7, Some(4.0)));
    // One late rating, then three more: the published figure stands.
    rate_in(&app, &last, 1, 1).await;
    publish().await;
    assert_eq!(read(&before, &last).await, (7, Some(4.0)));
    rate_in(&app, &last, 3, 15).await;
    publish().await;
    assert_eq!(read(&last, &last).await, (7, Some(4.0)));
    // The fifth change since publication publishes it anew, five cases at once.
    rate_in(&app, &last, 1, 5).await;
    assert_eq!(
        read(&last, &last).await,
        (7, Some(4.0)),
        "not before it is published"
    );
    publish().await;
    let (n, sat) = read(&last, &last).await;
    assert_eq!(n, 12);
    assert!((sat.unwrap() - 49.0 / 12.0).abs() < 0.001, "{sat:?}");
    // The month before, once it has five, is published too, and the range adds it whole.
    rate_in(&app, &before, 3, 15).await;
    publish().await;
    assert_eq!(read(&before, &before).await.0, 5);
    assert_eq!(read(&before, &last).await.0, 17);
}
