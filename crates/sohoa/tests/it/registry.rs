//! Searching the citizen registry: diacritic folding, filters, keyset pages, audited reads.

use crate::helpers::*;

const HEADER: &str = "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,temporary_street,temporary_unit,household_id,phone,email\n";

async fn with_people(app: &TestApp) {
    let rows = [
        "079085000001,Nguyễn Văn An,1985-01-01,male,1 A,26743,,,,,",
        "079085000002,Nguyễn Văn An,1985-02-02,male,2 A,26740,,,,,",
        "079190000003,Nguyễn Văn Anh,1990-03-03,female,3 A,26743,,,,,",
        "079185000004,Nguyễn Thị Ánh,1985-04-04,female,4 A,26743,,,,,",
        "079085000005,Đặng Văn Đức,1985-05-05,male,5 A,26743,,,,,",
        "079095000006,Nguyễn Văn Bình,1995-06-06,male,6 A,26743,,,,,",
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    std::fs::write(&path, format!("{HEADER}{}\n", rows.join("\n"))).unwrap();
    let (code, out, err) = run_cli(&app.db, &["import", "citizens", path.to_str().unwrap()]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
}

fn names(body: &serde_json::Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["full_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn names_are_found_without_diacritics_and_paged_by_cursor() {
    let app = spawn_app().await;
    with_people(&app).await;
    let (s, body) = app
        .as_(ADMIN_TOKEN)
        .get("/api/v1/registry/citizens?purpose=registry-check&q=nguyen%20van%20an")
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        names(&body),
        vec!["Nguyễn Văn An", "Nguyễn Văn An", "Nguyễn Văn Anh"]
    );
    let (_, body) = app
        .as_(ADMIN_TOKEN)
        .get("/api/v1/registry/citizens?purpose=registry-check&q=dang%20van%20duc")
        .await;
    assert_eq!(names(&body), vec!["Đặng Văn Đức"]);
    let (_, body) = app
        .as_(ADMIN_TOKEN)
        .get("/api/v1/registry/citizens?purpose=registry-check&q=nguyen&unit=26743&birth_year=1985")
        .await;
    assert_eq!(names(&body), vec!["Nguyễn Thị Ánh", "Nguyễn Văn An"]);
    // Keyset pages: no overlap, no gap, and the last page has no cursor.
    let mut seen = Vec::new();
    let mut path = "/api/v1/registry/citizens?purpose=registry-check&q=nguyen&limit=2".to_owned();
    loop {
        let (s, body) = app.as_(ADMIN_TOKEN).get(&path).await;
        assert_eq!(s, 200, "{body}");
        seen.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["citizen_id"].as_str().unwrap().to_owned()),
        );
        match body["next"].as_str() {
            Some(next) => {
                path = format!(
                "/api/v1/registry/citizens?purpose=registry-check&q=nguyen&limit=2&after={next}"
            )
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 5);
}

#[tokio::test]
async fn every_citizen_shown_is_an_audited_read_and_bad_input_is_refused() {
    let app = spawn_app().await;
    with_people(&app).await;
    let (_, body) = app
        .as_(ADMIN_TOKEN)
        .get("/api/v1/registry/citizens?purpose=registry-check&q=nguyen%20van%20an")
        .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(3));
    for id in ["079085000001", "079085000002", "079190000003"] {
        let e = sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", id, 5)
            .await
            .unwrap();
        assert_eq!(e.len(), 1, "{id}");
        assert_eq!(e[0].record.purpose.as_deref(), Some("registry-check"));
    }
    let untouched =
        sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", "079085000005", 5)
            .await
            .unwrap();
    assert!(untouched.is_empty());
    for (path, code) in [
        ("/api/v1/registry/citizens?q=nguyen", "invalid_purpose"),
        (
            "/api/v1/registry/citizens?purpose=registry-check&unit=12",
            "invalid_unit_code",
        ),
        (
            "/api/v1/registry/citizens?purpose=registry-check&after=zz",
            "invalid_query",
        ),
        (
            "/api/v1/registry/citizens?purpose=registry-check&limit=0",
            "invalid_page",
        ),
        (
            "/api/v1/registry/citizens?purpose=registry-check&birth_year=old",
            "invalid_query",
        ),
    ] {
        let (s, body) = app.as_(ADMIN_TOKEN).get(path).await;
        assert_eq!((s, error_code(&body)), (400, code), "{path}");
    }
    let res = app
        .get("/api/v1/registry/citizens?purpose=registry-check&q=nguyen")
        .await;
    assert_eq!(res.status(), 401);
}
