//! Every answer that carries a citizen's personal data to someone else is a read the
//! citizen sees in their access log; an answer that is not audited carries none.

use serde_json::json;

use crate::applications::{apply, catalog, move_to};
use crate::helpers::*;
use crate::personas::*;

/// The reads of the citizen's data in their access log, by action.
async fn reads(app: &TestApp, citizen: &str, action: &str) -> usize {
    let (s, log) = app
        .as_(citizen)
        .get("/api/v1/me/access-log?limit=200")
        .await;
    assert_eq!(s, 200, "{log}");
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == action)
        .count()
}

#[tokio::test]
async fn staff_answers_with_an_applicants_data_are_reads_the_applicant_sees() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    let (mai, officer) = (city.token("citizen"), city.token("officer"));
    let form = json!({"procedure_code": "T-KHAISINH",
                      "answers": {"child_name": "Bé Na", "born_on": "2026-11-01"}});
    let (s, filed) = apply(&app, mai, "pr-1", &form).await;
    assert_eq!(s, 201, "{filed}");
    let number = filed["number"].as_str().unwrap().to_owned();
    let (_, other) = apply(&app, mai, "pr-2", &form).await;
    let other = other["number"].as_str().unwrap().to_owned();
    let mut seen = reads(&app, mai, "application.read").await;
    assert_eq!(seen, 0, "filing is not a read by anyone else");

    // A move answers with the whole application: a read.
    let (s, moved) = move_to(&app, officer, &number, json!({"to": "received"})).await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["applicant"], MAI);
    assert!(moved["answers"].is_array(), "{moved}");
    seen += 1;
    assert_eq!(
        reads(&app, mai, "application.read").await,
        seen,
        "after a move"
    );

    // So does an assignment.
    let (s, assigned) = app
        .as_(officer)
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/applications/{number}/assignee"),
            Some(&json!({"username": "canbo.benthanh"})),
        )
        .await;
    assert_eq!(s, 200, "{assigned}");
    seen += 1;
    assert_eq!(
        reads(&app, mai, "application.read").await,
        seen,
        "after an assignment"
    );

    // The queue and bulk actions carry nothing personal, and are no reads.
    let (s, queue) = app.as_(officer).get("/api/v1/applications?limit=200").await;
    assert_eq!(s, 200, "{queue}");
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{queue}");
    for item in items {
        assert!(item.get("applicant").is_none(), "{item}");
        assert!(item.get("answers").is_none(), "{item}");
    }
    let (s, bulk) = app
        .as_(officer)
        .call(
            reqwest::Method::POST,
            "/api/v1/applications/bulk",
            Some(&json!({"numbers": [other], "to": "received"})),
        )
        .await;
    assert_eq!((s, bulk["succeeded"].as_i64()), (200, Some(1)), "{bulk}");
    assert!(!bulk.to_string().contains(MAI), "{bulk}");
    assert_eq!(
        reads(&app, mai, "application.read").await,
        seen,
        "lists and bulk"
    );

    // The applicant's own list keeps their CCCD; reading it is no read by anyone else.
    let (_, mine) = app.as_(mai).get("/api/v1/applications").await;
    assert_eq!(mine["items"][0]["applicant"], MAI, "{mine}");

    // The explicit GET, as before.
    let (s, _) = app
        .as_(officer)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    assert_eq!(s, 200);
    seen += 1;
    assert_eq!(
        reads(&app, mai, "application.read").await,
        seen,
        "after a GET"
    );
}

/// A signed-in resident's report: the responsible officer reading its contact is a read of
/// the resident's data, in their access log.
#[tokio::test]
async fn an_officer_reading_a_residents_report_contact_is_in_their_access_log() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let (mai, officer) = (city.token("citizen"), city.token("officer"));
    let (s, filed) = app
        .as_(mai)
        .call(
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(
                &json!({"category": "flooding", "lat": 10.7725, "long": 106.6980,
                "description": "Ngập trước chợ", "attributes": {"depth": "ankle"},
                "email": "mai@example.vn"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{filed}");
    let id = filed["report"]["id"].as_str().unwrap();
    assert_eq!(reads(&app, mai, "report.read").await, 0);
    let (s, full) = app.as_(officer).get(&format!("/api/v1/reports/{id}")).await;
    assert_eq!(s, 200, "{full}");
    assert!(
        full["contact"].to_string().contains("mai@example.vn"),
        "{full}"
    );
    assert_eq!(reads(&app, mai, "report.read").await, 1);
}
