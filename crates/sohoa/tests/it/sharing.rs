//! Once-only sharing: an agency sees exactly its granted fields, and every read, granted
//! or denied, is in the audit log.

use serde_json::json;
use sohoa_domain::audit::Outcome;
use sohoa_domain::registry::citizen::{Citizen, CitizenInput};
use sohoa_storage::registry::Provenance;

use crate::helpers::*;

const MAI: &str = "079185001234";

async fn with_citizens(app: &TestApp) {
    let today = sohoa_domain::timestamp::today();
    let mai = Citizen::parse(
        &CitizenInput {
            citizen_id: MAI.into(),
            full_name: "Nguyễn Thị Mai".into(),
            date_of_birth: "1985-03-14".into(),
            sex: "female".into(),
            permanent_street: "12 Lê Lợi".into(),
            permanent_unit: "26743".into(),
            phone: "0912345678".into(),
            ..Default::default()
        },
        today,
    )
    .unwrap();
    let prov = Provenance {
        source: "test".into(),
        actor: "test".into(),
        at: sohoa_domain::Timestamp::now(),
    };
    let mut tx = app.server_db().begin().await.unwrap();
    let keys = app.server_db().keyring().unwrap();
    sohoa_storage::registry::citizens::upsert_all(&mut tx, &keys, &[mai], &prov)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// An agency with a key and a grant of name and permanent address for building permits.
async fn construction(app: &TestApp) -> String {
    assert_eq!(
        app.post_json("/api/v1/agencies", &agency("SO-XAY-DUNG", "city", "79"))
            .await
            .0,
        201
    );
    let (status, key) = app
        .post_json("/api/v1/agencies/SO-XAY-DUNG/keys", &json!({}))
        .await;
    assert_eq!(status, 201, "{key}");
    let grant = json!({
        "registry": "citizens",
        "purpose": "building-permit",
        "fields": ["permanent_address", "full_name"],
        "legal_basis": "Luật Xây dựng 2014, Điều 95"
    });
    let (status, body) = app
        .post_json("/api/v1/agencies/SO-XAY-DUNG/grants", &grant)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["fields"], json!(["full_name", "permanent_address"]));
    key["api_key"].as_str().unwrap().to_owned()
}

async fn share(app: &TestApp, key: &str, path: &str) -> (u16, serde_json::Value) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn an_agency_sees_exactly_its_granted_fields() {
    let app = spawn_app().await;
    with_citizens(&app).await;
    let key = construction(&app).await;
    let (status, body) = share(
        &app,
        &key,
        &format!("/api/v1/share/citizens/{MAI}?purpose=building-permit"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let fields = body["fields"].as_object().unwrap();
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, vec!["full_name", "permanent_address"]);
    assert_eq!(fields["full_name"], "Nguyễn Thị Mai");
    assert_eq!(
        fields["permanent_address"],
        json!({"street": "12 Lê Lợi", "unit_code": "26743"})
    );
    assert_eq!(body["version"], 1);
    let (status, body) = share(
        &app,
        &key,
        &format!("/api/v1/share/citizens/{MAI}?purpose=building-permit&fields=full_name"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["fields"], json!({"full_name": "Nguyễn Thị Mai"}));
}

#[tokio::test]
async fn denials_and_misses_are_refused_and_audited() {
    let app = spawn_app().await;
    with_citizens(&app).await;
    let key = construction(&app).await;
    let cases = [
        (
            format!("/api/v1/share/citizens/{MAI}?purpose=building-permit&fields=full_name,phone"),
            403,
            "field_not_granted",
        ),
        (
            format!("/api/v1/share/citizens/{MAI}?purpose=marketing"),
            403,
            "no_grant",
        ),
        (
            "/api/v1/share/citizens/079185009999?purpose=building-permit".to_owned(),
            404,
            "record_not_found",
        ),
    ];
    for (path, status, code) in &cases {
        let (s, body) = share(&app, &key, path).await;
        assert_eq!((s, error_code(&body)), (*status, *code), "{path}: {body}");
    }
    // Malformed requests read nothing and are simply refused.
    for (path, code) in [
        (format!("/api/v1/share/citizens/{MAI}"), "invalid_purpose"),
        (
            format!("/api/v1/share/citizens/{MAI}?purpose=building-permit&fields=salary"),
            "invalid_field",
        ),
        (
            "/api/v1/share/citizens/12345?purpose=building-permit".to_owned(),
            "invalid_citizen_id",
        ),
    ] {
        let (s, body) = share(&app, &key, &path).await;
        assert_eq!((s, error_code(&body)), (400, code), "{path}");
    }
    let entries = sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", MAI, 50)
        .await
        .unwrap();
    let outcomes: Vec<(Outcome, Option<&str>)> = entries
        .iter()
        .rev()
        .map(|e| (e.record.outcome, e.record.purpose.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (Outcome::Denied, Some("building-permit")),
            (Outcome::Denied, Some("marketing"))
        ]
    );
    assert!(entries
        .iter()
        .all(|e| e.record.actor == "agency:SO-XAY-DUNG" && e.record.action == "citizen.share"));
    assert_eq!(entries[1].record.fields, vec!["full_name", "phone"]);
    let missing =
        sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", "079185009999", 5)
            .await
            .unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].record.outcome, Outcome::Failure);
}

#[tokio::test]
async fn every_read_is_audited_with_agency_officer_fields_and_purpose() {
    let app = spawn_app().await;
    with_citizens(&app).await;
    let key = construction(&app).await;
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/share/citizens/{MAI}?purpose=building-permit"
        )))
        .bearer_auth(&key)
        .header("sohoa-officer", "nv.tran-01")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let entries = sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", MAI, 5)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let r = &entries[0].record;
    assert_eq!(r.actor, "agency:SO-XAY-DUNG/officer:nv.tran-01");
    assert_eq!(r.actor_unit.as_deref(), Some("SO-XAY-DUNG"));
    assert_eq!(r.purpose.as_deref(), Some("building-permit"));
    assert_eq!(r.fields, vec!["full_name", "permanent_address"]);
    assert_eq!(r.outcome, Outcome::Success);
}

#[tokio::test]
async fn unknown_wrong_and_revoked_keys_are_401_and_revoked_grants_stop_at_once() {
    let app = spawn_app().await;
    with_citizens(&app).await;
    let key = construction(&app).await;
    let path = format!("/api/v1/share/citizens/{MAI}?purpose=building-permit");
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // The right key id with a secret one digit off.
    let last = if key.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &key[..key.len() - 1]);
    for bad in [forged.as_str(), "sohoa_nothing_here", "not-a-key"] {
        let res = app
            .client
            .get(app.url(&path))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        // RFC 6750: a token presented and not valid, whatever its kind.
        assert_eq!(
            res.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#,
            "{bad}"
        );
        let (s, body) = (
            res.status().as_u16(),
            res.json::<serde_json::Value>().await.unwrap(),
        );
        assert_eq!((s, error_code(&body)), (401, "unknown_agency"), "{bad}");
    }
    // The administrator is known, but reading registries is for agencies' systems alone.
    let (s, body) = share(&app, ADMIN_TOKEN, &path).await;
    assert_eq!((s, error_code(&body)), (403, "forbidden"));
    // Revoke the grant: the next request is refused.
    let (_, grants) = app
        .as_(ADMIN_TOKEN)
        .get("/api/v1/agencies/SO-XAY-DUNG/grants")
        .await;
    let id = grants[0]["grant_id"].as_i64().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/grants/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (s, body) = share(&app, &key, &path).await;
    assert_eq!((s, error_code(&body)), (403, "no_grant"));
    // Revoke the key: it no longer identifies the agency.
    let key_id = key.split('_').nth(1).unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/agencies/SO-XAY-DUNG/keys/{key_id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(share(&app, &key, &path).await.0, 401);
    // A revoked key identifies nobody anywhere else either.
    let res = app
        .client
        .post(app.url("/api/v1/agencies/SO-XAY-DUNG/keys"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn grants_are_validated() {
    let app = spawn_app().await;
    assert_eq!(
        app.post_json("/api/v1/agencies", &agency("SO-Y-TE", "city", "79"))
            .await
            .0,
        201
    );
    for (body, code) in [
        (
            json!({"registry": "citizens", "purpose": "Khám bệnh", "fields": ["full_name"], "legal_basis": "x"}),
            "invalid_purpose",
        ),
        (
            json!({"registry": "citizens", "purpose": "health-check", "fields": ["salary"], "legal_basis": "x"}),
            "invalid_field",
        ),
        (
            json!({"registry": "citizens", "purpose": "health-check", "fields": [], "legal_basis": "x"}),
            "invalid_field",
        ),
        (
            json!({"registry": "citizens", "purpose": "health-check", "fields": ["full_name"], "legal_basis": " "}),
            "invalid_legal_basis",
        ),
        (
            json!({"registry": "cars", "purpose": "health-check", "fields": ["full_name"], "legal_basis": "x"}),
            "invalid_body",
        ),
    ] {
        let (s, res) = app
            .post_json("/api/v1/agencies/SO-Y-TE/grants", &body)
            .await;
        assert_eq!((s, error_code(&res)), (422, code), "{body}");
    }
    let (s, res) = app.post_json("/api/v1/agencies/SO-NONE/grants", &json!({"registry": "citizens", "purpose": "abc", "fields": ["full_name"], "legal_basis": "x"})).await;
    assert_eq!((s, error_code(&res)), (404, "agency_not_found"));
}

#[tokio::test]
async fn concurrent_reads_each_get_a_durable_entry_in_one_unbroken_chain() {
    let app = spawn_app().await;
    with_citizens(&app).await;
    let key = construction(&app).await;
    let mut tasks = Vec::new();
    for _ in 0..120 {
        let (client, url, key) = (
            app.client.clone(),
            app.url(&format!(
                "/api/v1/share/citizens/{MAI}?purpose=building-permit"
            )),
            key.clone(),
        );
        tasks.push(tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let entries = sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", MAI, 500)
        .await
        .unwrap();
    assert_eq!(entries.len(), 120);
    match sohoa_storage::audit::verify(app.server_db(), |_, _| {})
        .await
        .unwrap()
    {
        sohoa_storage::audit::Verification::Intact { .. } => {}
        broken => panic!("{broken:?}"),
    }
}

#[tokio::test]
async fn enterprises_and_parcels_are_shared_by_the_same_rules() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("e.csv");
    std::fs::write(&e, "tax_code,name,legal_form,street,unit,registered_on,status,legal_representative\n0100109106,Công ty A,joint_stock,1 Nguyễn Huệ,26740,2010-05-20,active,079185001234\n").unwrap();
    let p = dir.path().join("p.csv");
    std::fs::write(&p, "unit,map_sheet,parcel_number,area_m2,land_use,owners,geometry\n26743,12,345,85.5,ODT,079185001234:100,\n").unwrap();
    run_cli_ok(&app.db, &["import", "enterprises", e.to_str().unwrap()]).await;
    run_cli_ok(&app.db, &["import", "parcels", p.to_str().unwrap()]).await;
    assert_eq!(
        app.post_json("/api/v1/agencies", &agency("SO-TAI-CHINH", "city", "79"))
            .await
            .0,
        201
    );
    let (_, key) = app
        .post_json("/api/v1/agencies/SO-TAI-CHINH/keys", &json!({}))
        .await;
    let key = key["api_key"].as_str().unwrap().to_owned();
    for (registry, fields) in [
        ("enterprises", json!(["name", "status"])),
        ("parcels", json!(["area_m2", "owners"])),
    ] {
        let grant = json!({"registry": registry, "purpose": "tax-assessment", "fields": fields, "legal_basis": "Luật Quản lý thuế 2019"});
        assert_eq!(
            app.post_json("/api/v1/agencies/SO-TAI-CHINH/grants", &grant)
                .await
                .0,
            201
        );
    }
    let (s, body) = share(
        &app,
        &key,
        "/api/v1/share/enterprises/0100109106?purpose=tax-assessment",
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["fields"],
        json!({"name": "Công ty A", "status": "active"})
    );
    let (s, body) = share(
        &app,
        &key,
        "/api/v1/share/parcels/26743-12-345?purpose=tax-assessment",
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["fields"]["area_m2"], 85.5);
    assert_eq!(body["fields"]["owners"][0]["citizen_id"], "079185001234");
    let (s, body) = share(
        &app,
        &key,
        "/api/v1/share/citizens/079185001234?purpose=tax-assessment",
    )
    .await;
    assert_eq!((s, error_code(&body)), (403, "no_grant"));
    // Malformed identifiers are refused before anything is read or logged.
    let head = sohoa_storage::audit::head(app.server_db()).await.unwrap();
    for (path, status, code) in [
        (
            "/api/v1/share/parcels/26743-12?purpose=tax-assessment",
            400,
            "invalid_parcel_key",
        ),
        (
            "/api/v1/share/parcels/%3Cscript%3E?purpose=tax-assessment",
            400,
            "invalid_parcel_key",
        ),
        (
            "/api/v1/share/enterprises/0100109107?purpose=tax-assessment",
            400,
            "invalid_tax_code",
        ),
        (
            "/api/v1/share/citizens/0791850012345?purpose=marketing",
            400,
            "invalid_citizen_id",
        ),
        (
            "/api/v1/share/cars/51A-12345?purpose=tax-assessment",
            404,
            "not_found",
        ),
    ] {
        let (s, body) = share(&app, &key, path).await;
        assert_eq!((s, error_code(&body)), (status, code), "{path}");
    }
    assert_eq!(
        sohoa_storage::audit::head(app.server_db()).await.unwrap(),
        head
    );
}

async fn token_request(
    app: &TestApp,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut req = app.client.post(app.url("/oauth/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap())
}

#[tokio::test]
async fn a_consumer_trades_its_key_for_a_token_that_reads_what_the_key_reads() {
    let app = spawn_app().await;
    with_citizens(&app).await;
    let key = construction(&app).await;
    // The API key is `<client_id>_<secret>`, the client id being `sohoa_<key_id>`.
    let (client_id, secret) = key.rsplit_once('_').unwrap();
    let path = format!("/api/v1/share/citizens/{MAI}?purpose=building-permit");

    // HTTP Basic or form fields, as RFC 6749 allows.
    let (s, headers, body) = token_request(
        &app,
        Some((client_id, secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(headers["cache-control"], "no-store");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sohoat_"), "{token}");
    let (s, _, body) = token_request(
        &app,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let second = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(token, second);

    // The token reads exactly what the key reads, as the agency, in the audit log.
    let (s, body) = share(&app, &token, &path).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["fields"],
        json!({"full_name": "Nguyễn Thị Mai", "permanent_address": {"street": "12 Lê Lợi", "unit_code": "26743"}})
    );
    let (s, body) = share(&app, &token, &format!("{path}&fields=phone")).await;
    assert_eq!((s, error_code(&body)), (403, "field_not_granted"));
    let entries = sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", MAI, 10)
        .await
        .unwrap();
    assert!(entries
        .iter()
        .all(|e| e.record.actor == "agency:SO-XAY-DUNG"));
    let issued = sohoa_storage::audit::entries_for_object(
        app.server_db(),
        "agency_key",
        client_id.trim_start_matches("sohoa_"),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        issued
            .iter()
            .filter(|e| e.record.action == "oauth_token.issue")
            .count(),
        2
    );

    // Refusals in RFC 6749's words.
    for (basic, form, status, error) in [
        (
            Some((client_id, "wrong")),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            Some(("sohoa_nosuchkey", secret)),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            None,
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            Some((client_id, secret)),
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
        ),
        (Some((client_id, secret)), vec![], 400, "invalid_request"),
        (
            Some((client_id, secret)),
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
            ],
            400,
            "invalid_request",
        ),
    ] {
        let (s, headers, body) = token_request(&app, basic, &form).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (status, Some(error)),
            "{form:?}: {body}"
        );
        if status == 401 {
            assert!(headers.contains_key("www-authenticate"));
        }
    }
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // An expired token is no token; nor is any token once its key is revoked.
    let raw = app.db.raw().await;
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(second.as_bytes()));
    let n = sqlx::query(
        "UPDATE consumer_tokens SET expires_at = '2020-01-01T00:00:00Z' WHERE token_sha256 = $1",
    )
    .bind(&digest)
    .execute(&raw)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(n, 1, "tokens are stored as their SHA-256");
    // The server may hold the token for a few seconds; a fresh server has not seen it.
    let db = app.stop().await;
    let app = spawn_on(
        db,
        Options {
            admin: true,
            ..Options::default()
        },
    )
    .await;
    let (s, body) = share(&app, &second, &path).await;
    assert_eq!((s, error_code(&body)), (401, "unknown_agency"));
    assert_eq!(share(&app, &token, &path).await.0, 200);
    let key_id = client_id.trim_start_matches("sohoa_");
    assert_eq!(
        app.as_(ADMIN_TOKEN)
            .delete(&format!("/api/v1/agencies/SO-XAY-DUNG/keys/{key_id}"))
            .await
            .0,
        204
    );
    let (s, body) = share(&app, &token, &path).await;
    assert_eq!((s, error_code(&body)), (401, "unknown_agency"));
}
