//! A citizen signs in and sees every access to their data; sign-in failures lock the account.

use serde_json::json;

use crate::helpers::*;

const MAI: &str = "079185001234";
const PASSWORD: &str = "mật khẩu của Mai 2025";

async fn with_mai(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    std::fs::write(
        &path,
        "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit\n079185001234,Nguyễn Thị Mai,1985-03-14,female,12 Lê Lợi,26743\n079085001235,Lê Văn Cường,1985-01-01,male,1 A,26743\n",
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", path.to_str().unwrap()]).await;
    let (s, body) = app
        .post_json(
            "/api/v1/accounts/citizens",
            &json!({"citizen_id": MAI, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

async fn login(app: &TestApp, id: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"citizen_id": id, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_citizen_sees_who_read_their_data_and_nobody_elses() {
    let app = spawn_app().await;
    with_mai(&app).await;
    // An agency reads Mai's record, and is refused one field.
    assert_eq!(
        app.post_json("/api/v1/agencies", &agency("SO-XAY-DUNG", "city", "79"))
            .await
            .0,
        201
    );
    let (_, key) = app
        .post_json("/api/v1/agencies/SO-XAY-DUNG/keys", &json!({}))
        .await;
    let key = key["api_key"].as_str().unwrap().to_owned();
    let grant = json!({"registry": "citizens", "purpose": "building-permit", "fields": ["full_name"], "legal_basis": "x"});
    assert_eq!(
        app.post_json("/api/v1/agencies/SO-XAY-DUNG/grants", &grant)
            .await
            .0,
        201
    );
    for fields in ["full_name", "phone"] {
        app.client
            .get(app.url(&format!(
                "/api/v1/share/citizens/{MAI}?purpose=building-permit&fields={fields}"
            )))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
    }
    // Someone else's record is read too: it must not show in Mai's log.
    app.client
        .get(app.url("/api/v1/share/citizens/079085001235?purpose=building-permit"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();

    let res = login(&app, MAI, PASSWORD).await;
    assert_eq!(res.status(), 200);
    let session: serde_json::Value = res.json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let res = app
        .client
        .get(app.url("/api/v1/me/access-log"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let log: serde_json::Value = res.json().await.unwrap();
    let items = log["items"].as_array().unwrap();
    let shares: Vec<_> = items
        .iter()
        .filter(|i| i["action"] == "citizen.share")
        .collect();
    assert_eq!(shares.len(), 2, "{log}");
    assert_eq!(shares[0]["fields"], json!(["phone"]));
    assert_eq!(shares[0]["outcome"], "denied");
    assert_eq!(shares[1]["fields"], json!(["full_name"]));
    assert_eq!(shares[1]["outcome"], "success");
    assert_eq!(shares[1]["agency"], "SO-XAY-DUNG");
    assert_eq!(shares[1]["purpose"], "building-permit");
    assert!(items
        .iter()
        .all(|i| i["actor"] != "agency:SO-XAY-DUNG" || i["action"] == "citizen.share"));
    // Paging with `before`.
    let res = app
        .client
        .get(app.url("/api/v1/me/access-log?limit=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let page: serde_json::Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let before = page["next_before"].as_i64().unwrap();
    let res = app
        .client
        .get(app.url(&format!("/api/v1/me/access-log?limit=1&before={before}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let page2: serde_json::Value = res.json().await.unwrap();
    assert!(page2["items"][0]["seq"].as_i64().unwrap() < before);

    // Without a session, or after signing out, nothing.
    assert_eq!(app.get("/api/v1/me/access-log").await.status(), 401);
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .get(app.url("/api/v1/me/access-log"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // An agency key or the admin token is not a citizen session: known, but not allowed.
    for other in [key.as_str(), ADMIN_TOKEN] {
        let res = app
            .client
            .get(app.url("/api/v1/me/access-log"))
            .bearer_auth(other)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
    }
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_for_a_while_and_are_audited() {
    let app = spawn_app().await;
    with_mai(&app).await;
    for _ in 0..5 {
        let res = login(&app, MAI, "not the password").await;
        assert_eq!(res.status(), 401);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(error_code(&body), "invalid_credentials");
    }
    // Locked: even the right password is refused, with a time to wait.
    let res = login(&app, MAI, PASSWORD).await;
    assert_eq!(res.status(), 429);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "account_locked");
    // Unknown citizens and malformed ids get the same answer as a wrong password.
    for id in ["079085009999", "abc"] {
        let res = login(&app, id, PASSWORD).await;
        assert_eq!(res.status(), 401);
    }
    let attempts = sohoa_storage::audit::entries_for_object(app.server_db(), "account", MAI, 20)
        .await
        .unwrap();
    let outcomes: Vec<_> = attempts.iter().map(|e| e.record.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        vec!["denied", "failure", "failure", "failure", "failure", "failure"]
    );
}

#[tokio::test]
async fn accounts_are_only_for_registered_citizens_and_only_one_each() {
    let app = spawn_app().await;
    with_mai(&app).await;
    for (body, status, code) in [
        (
            json!({"citizen_id": MAI, "password": "another long password"}),
            409,
            "account_exists",
        ),
        (
            json!({"citizen_id": "079085009999", "password": "another long password"}),
            422,
            "unknown_citizen",
        ),
        (
            json!({"citizen_id": "079085001235", "password": "short"}),
            422,
            "invalid_password",
        ),
        (
            json!({"citizen_id": "07908500123", "password": "another long password"}),
            422,
            "invalid_citizen_id",
        ),
    ] {
        let (s, res) = app.post_json("/api/v1/accounts/citizens", &body).await;
        assert_eq!((s, error_code(&res)), (status, code), "{body}");
    }
    let res = app
        .client
        .post(app.url("/api/v1/accounts/citizens"))
        .json(&json!({"citizen_id": "079085001235", "password": "another long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn consent(app: &TestApp, token: &str, body: &serde_json::Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/me/consents"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn session(app: &TestApp) -> String {
    let res = login(app, MAI, PASSWORD).await;
    let body: serde_json::Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn agency_key(app: &TestApp, code: &str) -> String {
    assert_eq!(
        app.post_json("/api/v1/agencies", &agency(code, "city", "79"))
            .await
            .0,
        201
    );
    let (_, key) = app
        .post_json(&format!("/api/v1/agencies/{code}/keys"), &json!({}))
        .await;
    key["api_key"].as_str().unwrap().to_owned()
}

async fn read(app: &TestApp, key: &str, id: &str, query: &str) -> (u16, serde_json::Value) {
    let res = app
        .client
        .get(app.url(&format!("/api/v1/share/citizens/{id}?{query}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap())
}

#[tokio::test]
async fn a_one_off_consent_allows_exactly_one_read_of_exactly_its_fields() {
    let app = spawn_app().await;
    with_mai(&app).await;
    let key = agency_key(&app, "SO-Y-TE").await;
    let token = session(&app).await;
    // Without a grant or a consent, nothing.
    assert_eq!(
        read(&app, &key, MAI, "purpose=health-insurance").await.0,
        403
    );
    let res = consent(&app, &token, &json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["date_of_birth"], "one_off": true})).await;
    assert_eq!(res.status(), 201);
    // Not another citizen's record, not another purpose, not another field.
    assert_eq!(
        read(&app, &key, "079085001235", "purpose=health-insurance")
            .await
            .0,
        403
    );
    assert_eq!(read(&app, &key, MAI, "purpose=marketing").await.0, 403);
    assert_eq!(
        read(&app, &key, MAI, "purpose=health-insurance&fields=full_name")
            .await
            .0,
        403
    );
    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["fields"], json!({"date_of_birth": "1985-03-14"}));
    // Spent.
    assert_eq!(
        read(&app, &key, MAI, "purpose=health-insurance").await.0,
        403
    );
    let res = app
        .client
        .get(app.url("/api/v1/me/consents"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let list: serde_json::Value = res.json().await.unwrap();
    assert!(list[0]["used_at"].is_string(), "{list}");
}

/// A one-off consent is spent in the very transaction that records the read it allowed:
/// of reads racing for it, exactly one succeeds, and exactly one success is in the log.
#[tokio::test]
async fn a_one_off_consent_is_spent_with_the_read_it_allows() {
    let app = spawn_app().await;
    with_mai(&app).await;
    let key = agency_key(&app, "SO-Y-TE").await;
    let token = session(&app).await;
    let res = consent(&app, &token, &json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["date_of_birth"], "one_off": true})).await;
    assert_eq!(res.status(), 201);
    let mut racing = Vec::new();
    for _ in 0..6 {
        let (app, key) = (&app, key.clone());
        racing.push(async move { read(app, &key, MAI, "purpose=health-insurance").await.0 });
    }
    let mut statuses = futures_join(racing).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 403, 403, 403, 403, 403]);
    let (_, log) = app.as_(&token).get("/api/v1/me/access-log?limit=200").await;
    let successes = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "agency:SO-Y-TE" && e["outcome"] == "success")
        .count();
    assert_eq!(successes, 1, "{log}");
}

/// Runs the futures concurrently on this task and collects their outputs in order.
async fn futures_join<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut fs: Vec<_> = fs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = fs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in fs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[tokio::test]
async fn a_time_limited_consent_works_until_revoked_and_only_its_owner_revokes_it() {
    let app = spawn_app().await;
    with_mai(&app).await;
    let key = agency_key(&app, "SO-Y-TE").await;
    let token = session(&app).await;
    let until = sohoa_domain::Timestamp::from_datetime(
        time::OffsetDateTime::now_utc() + time::Duration::days(30),
    )
    .to_string();
    let res = consent(&app, &token, &json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["full_name", "phone"], "valid_until": until})).await;
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let id = created["consent_id"].as_i64().unwrap();
    for _ in 0..2 {
        assert_eq!(
            read(&app, &key, MAI, "purpose=health-insurance&fields=full_name")
                .await
                .0,
            200
        );
    }
    // Another signed-in citizen cannot revoke it: as far as they know, it does not exist.
    let (s, _) = app
        .post_json(
            "/api/v1/accounts/citizens",
            &json!({"citizen_id": "079085001235", "password": "password of Cuong"}),
        )
        .await;
    assert_eq!(s, 201);
    let res = login(&app, "079085001235", "password of Cuong").await;
    let other: serde_json::Value = res.json().await.unwrap();
    let other = other["token"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/me/consents/{id}")))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        read(&app, &key, MAI, "purpose=health-insurance&fields=full_name")
            .await
            .0,
        200
    );
    // Its owner revokes it: the very next read is refused.
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/me/consents/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance&fields=full_name").await;
    assert_eq!((s, error_code(&body)), (403, "no_grant"));
    // Consents need an end (unless one-off) within a year, a known agency and real fields.
    for (body, code) in [
        (
            json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["phone"]}),
            "invalid_valid_until",
        ),
        (
            json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["phone"], "valid_until": "2020-01-01T00:00:00Z"}),
            "invalid_valid_until",
        ),
        (
            json!({"agency_code": "SO-NONE", "purpose": "health-insurance", "fields": ["phone"], "one_off": true}),
            "agency_not_found",
        ),
        (
            json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["salary"], "one_off": true}),
            "invalid_field",
        ),
    ] {
        let res = consent(&app, &token, &body).await;
        assert_eq!(res.status(), 422, "{body}");
        let b: serde_json::Value = res.json().await.unwrap();
        assert_eq!(error_code(&b), code, "{body}");
    }
}

#[tokio::test]
async fn a_consent_extends_a_grant_only_when_its_fields_are_asked_for() {
    let app = spawn_app().await;
    with_mai(&app).await;
    let key = agency_key(&app, "SO-Y-TE").await;
    let grant = json!({"registry": "citizens", "purpose": "health-insurance", "fields": ["full_name"], "legal_basis": "x"});
    assert_eq!(
        app.post_json("/api/v1/agencies/SO-Y-TE/grants", &grant)
            .await
            .0,
        201
    );
    let token = session(&app).await;
    let until = sohoa_domain::Timestamp::from_datetime(
        time::OffsetDateTime::now_utc() + time::Duration::days(1),
    )
    .to_string();
    let res = consent(&app, &token, &json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["date_of_birth"], "valid_until": until})).await;
    assert_eq!(res.status(), 201);
    // By default the answer is what the grant covers.
    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance").await;
    assert_eq!(
        (s, &body["fields"]),
        (200, &json!({"full_name": "Nguyễn Thị Mai"}))
    );
    // Asked for, the consented field comes too; a field neither covers does not.
    let (s, body) = read(
        &app,
        &key,
        MAI,
        "purpose=health-insurance&fields=full_name,date_of_birth",
    )
    .await;
    assert_eq!(
        (s, &body["fields"]),
        (
            200,
            &json!({"full_name": "Nguyễn Thị Mai", "date_of_birth": "1985-03-14"})
        )
    );
    let (s, body) = read(
        &app,
        &key,
        MAI,
        "purpose=health-insurance&fields=date_of_birth,phone",
    )
    .await;
    assert_eq!((s, error_code(&body)), (403, "field_not_granted"));
}

async fn with_enterprise(app: &TestApp, tax_code: &str, status: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.csv");
    std::fs::write(
        &path,
        format!("tax_code,name,legal_form,street,unit,registered_on,status,legal_representative\n{tax_code},Công ty Bảo hiểm An Tâm,joint_stock,1 Nguyễn Huệ,26740,2010-05-20,{status},{MAI}\n"),
    )
    .unwrap();
    let (code, out, err) =
        run_cli(&app.db, &["import", "enterprises", path.to_str().unwrap()]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
}

#[tokio::test]
async fn an_enterprise_reads_only_what_a_citizen_consented_to_it_until_revoked() {
    let app = spawn_app().await;
    with_mai(&app).await;
    const INSURER: &str = "0100109106";
    with_enterprise(&app, INSURER, "active").await;
    // 0300000018 trades no more; 0300000025 is a valid tax code the registry does not hold.
    let other = "0300000018";
    with_enterprise(&app, other, "dissolved").await;
    // Keys only for trading enterprises of the registry, and only from the city's administrators.
    for (tax_code, status, code) in [
        ("0100109107", 404, "enterprise_not_found"),
        ("0300000025", 404, "enterprise_not_found"),
        (other, 422, "enterprise_not_trading"),
    ] {
        let (s, body) = app
            .post_json(
                &format!("/api/v1/enterprise-consumers/{tax_code}/keys"),
                &json!({}),
            )
            .await;
        assert_eq!((s, error_code(&body)), (status, code), "{tax_code}: {body}");
    }
    let (s, issued) = app
        .post_json(
            &format!("/api/v1/enterprise-consumers/{INSURER}/keys"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    let key = issued["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sohoe_"), "{key}");
    let token = session(&app).await;
    // A citizen's session cannot issue keys.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/enterprise-consumers/{INSURER}/keys")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // No grant can reach an enterprise: without consent, nothing.
    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance").await;
    assert_eq!((s, error_code(&body)), (403, "no_grant"));
    let until = sohoa_domain::Timestamp::from_datetime(
        time::OffsetDateTime::now_utc() + time::Duration::days(30),
    )
    .to_string();
    let res = consent(&app, &token, &json!({"enterprise_tax_code": INSURER, "purpose": "health-insurance", "fields": ["full_name", "date_of_birth"], "valid_until": until})).await;
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    assert_eq!(created["enterprise_tax_code"], INSURER, "{created}");
    assert!(created["agency_code"].is_null(), "{created}");
    let consent_id = created["consent_id"].as_i64().unwrap();

    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["fields"],
        json!({"full_name": "Nguyễn Thị Mai", "date_of_birth": "1985-03-14"})
    );
    // Not a field, a purpose, or a citizen the consent does not name.
    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance&fields=phone").await;
    assert_eq!((s, error_code(&body)), (403, "field_not_granted"));
    assert_eq!(read(&app, &key, MAI, "purpose=marketing").await.0, 403);
    assert_eq!(
        read(&app, &key, "079085001235", "purpose=health-insurance")
            .await
            .0,
        403
    );
    // Consents cover citizens' records only: the other registries stay closed to it.
    let (s, _) = app
        .as_(&key)
        .get(&format!(
            "/api/v1/share/enterprises/{INSURER}?purpose=health-insurance"
        ))
        .await;
    assert_eq!(s, 403);
    // An agency holding no consent gains nothing from the enterprise's.
    let agency = agency_key(&app, "SO-Y-TE").await;
    assert_eq!(
        read(&app, &agency, MAI, "purpose=health-insurance").await.0,
        403
    );

    // The citizen sees the enterprise among the readers of their data.
    let (_, log) = app.as_(&token).get("/api/v1/me/access-log").await;
    let reads: Vec<&serde_json::Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == format!("enterprise:{INSURER}"))
        .collect();
    assert!(
        reads
            .iter()
            .any(|e| e["outcome"] == "success" && e["purpose"] == "health-insurance"),
        "{log}"
    );
    assert!(reads.iter().any(|e| e["outcome"] == "denied"), "{log}");

    // An enterprise that stops trading reads nothing, its consents notwithstanding: a key
    // not used before (so no cache holds it) is refused, and so is trading it for a token.
    let (s, spare) = app
        .post_json(
            &format!("/api/v1/enterprise-consumers/{INSURER}/keys"),
            &json!({}),
        )
        .await;
    assert_eq!(s, 201, "{spare}");
    let spare = spare["api_key"].as_str().unwrap().to_owned();
    with_enterprise(&app, INSURER, "dissolving").await;
    let (s, body) = read(&app, &spare, MAI, "purpose=health-insurance").await;
    assert_eq!((s, error_code(&body)), (401, "unknown_agency"), "{body}");
    let (client_id, secret) = spare.rsplit_once('_').unwrap();
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "{}", res.text().await.unwrap());
    with_enterprise(&app, INSURER, "active").await;

    // Revoked: the very next read is refused.
    assert_eq!(
        app.as_(&token)
            .delete(&format!("/api/v1/me/consents/{consent_id}"))
            .await
            .0,
        204
    );
    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance").await;
    assert_eq!((s, error_code(&body)), (403, "no_grant"));

    // A revoked key is no key at all.
    let key_id = issued["key_id"].as_str().unwrap();
    assert_eq!(
        app.as_(ADMIN_TOKEN)
            .delete(&format!(
                "/api/v1/enterprise-consumers/{INSURER}/keys/{key_id}"
            ))
            .await
            .0,
        204
    );
    let (s, body) = read(&app, &key, MAI, "purpose=health-insurance").await;
    assert_eq!((s, error_code(&body)), (401, "unknown_agency"));

    // A consent names one grantee, an enterprise that exists and trades.
    for (body, code) in [
        (
            json!({"agency_code": "SO-Y-TE", "enterprise_tax_code": INSURER, "purpose": "x-y-z", "fields": ["phone"], "one_off": true}),
            "invalid_grantee",
        ),
        (
            json!({"purpose": "health-insurance", "fields": ["phone"], "one_off": true}),
            "invalid_grantee",
        ),
        (
            json!({"enterprise_tax_code": "0100109107", "purpose": "health-insurance", "fields": ["phone"], "one_off": true}),
            "invalid_tax_code",
        ),
        (
            json!({"enterprise_tax_code": "0300000025", "purpose": "health-insurance", "fields": ["phone"], "one_off": true}),
            "enterprise_not_found",
        ),
        (
            json!({"enterprise_tax_code": other, "purpose": "health-insurance", "fields": ["phone"], "one_off": true}),
            "enterprise_not_trading",
        ),
    ] {
        let res = consent(&app, &token, &body).await;
        assert_eq!(res.status(), 422, "{body}");
        let b: serde_json::Value = res.json().await.unwrap();
        assert_eq!(error_code(&b), code, "{body}");
    }
}
