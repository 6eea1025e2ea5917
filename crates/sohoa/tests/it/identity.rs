//! Who may do what, proven over HTTP: every API route × every persona, then the scoped
//! rules (own and foreign agency, unit and citizen), sessions, lockout and rate limits.

use serde_json::json;
use sohoa_domain::policy::{self, Action};
use sohoa_web::{route_table, RouteKind};

use crate::helpers::*;
use crate::personas::*;

/// A request for `path` with every parameter filled with something of the caller's city:
/// the first agency, Mai, a live grant. Deletes and changes aim at things that do not
/// exist (or bodies that are empty), so an admitted caller gets 404 or 422 and the matrix
/// leaves the data as it was.
fn concrete(path: &str) -> String {
    path.replace("{code}", "SO-XAY-DUNG")
        .replace("{key_id}", "nokey")
        .replace("{grant_id}", "999999")
        .replace("{registry}", "citizens")
        .replace("{id}", MAI)
        .replace("{username}", "nobody.here")
        .replace("{consent_id}", "999999")
        .replace("{unit_code}", "26743")
        .replace("{number}", "HS0000000000")
        .replace("{document_id}", "doc_none")
        + match path {
            "/api/v1/share/{registry}/{id}" | "/api/v1/registry/citizens" => {
                "?purpose=building-permit"
            }
            _ => "",
        }
}

async fn call(app: &TestApp, method: &reqwest::Method, url: &str, token: Option<&str>) -> u16 {
    let mut req = app
        .client
        .request(method.clone(), app.url(url))
        .header("content-type", "application/json");
    if *method != reqwest::Method::GET {
        req = req.body("{}");
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn counts(app: &TestApp) -> Vec<i64> {
    let pool = app.db.raw().await;
    let mut out = Vec::new();
    for table in [
        "agencies",
        "agency_keys",
        "grants",
        "staff",
        "accounts",
        "consents",
        "citizens",
        "applications",
        "application_events",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        out.push(n);
    }
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    out.push(live);
    out
}

#[tokio::test]
async fn every_route_refuses_every_caller_the_policy_refuses() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let before = counts(&app).await;
    // Pages too: they take the same bearer credentials as the API (and cookies besides).
    let api: Vec<_> = route_table()
        .into_iter()
        .filter(|r| r.kind != RouteKind::Asset)
        .collect();
    let mut checked = 0;
    // First every refusal: none may read or change anything.
    for route in &api {
        for p in &city.personas {
            if policy::admits(&p.principal, route.action).is_ok() {
                continue;
            }
            let url = concrete(route.path);
            let status = call(&app, &route.method, &url, p.token.as_deref()).await;
            // People who have not signed in are sent to the sign-in page.
            // Who may not even read the thing a route names is told it does not exist.
            let hidden = route
                .absent_unless
                .is_some_and(|read| policy::admits(&p.principal, read).is_err());
            let expected = match (&p.token, route.kind) {
                (None, RouteKind::Page) => 303,
                (None, _) => 401,
                (Some(_), _) if hidden => 404,
                (Some(_), _) => 403,
            };
            assert_eq!(
                status, expected,
                "{} {} as {}: the policy refuses",
                route.method, route.path, p.name
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} refusals checked");
    assert_eq!(counts(&app).await, before, "a refused request changed data");
    // Then every admission reaches the handler (which may still refuse a target).
    for route in &api {
        if route.path.ends_with("/logout") {
            continue;
        }
        for p in &city.personas {
            if policy::admits(&p.principal, route.action).is_err() {
                continue;
            }
            let url = concrete(route.path);
            let status = call(&app, &route.method, &url, p.token.as_deref()).await;
            assert_ne!(
                status, 401,
                "{} {} as {}: the policy admits",
                route.method, route.path, p.name
            );
            assert!(
                status < 500,
                "{} {} as {}: {status}",
                route.method,
                route.path,
                p.name
            );
        }
    }
    // Signing out ends exactly the session presented.
    for p in city
        .personas
        .iter()
        .filter(|p| policy::admits(&p.principal, Action::UseSession).is_ok())
    {
        let token = p.token.as_deref().unwrap();
        assert_eq!(
            call(
                &app,
                &reqwest::Method::POST,
                "/api/v1/auth/logout",
                Some(token)
            )
            .await,
            204
        );
        assert_eq!(
            call(
                &app,
                &reqwest::Method::GET,
                "/api/v1/auth/session",
                Some(token)
            )
            .await,
            401,
            "{}",
            p.name
        );
    }
}

#[tokio::test]
async fn agency_admins_manage_only_their_own_agency() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let admin = city.token("agency_admin");
    let post = |path: &'static str, body: serde_json::Value| {
        let req = app
            .client
            .post(app.url(path))
            .bearer_auth(admin)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let s = res.status().as_u16();
            (s, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let officer = |agency: &str, role: &str| {
        json!({"username": format!("nv.{}", agency.to_lowercase()), "display_name": "Nhân viên",
               "role": role, "agency_code": agency, "password": PASSWORD})
    };
    let (s, body) = post("/api/v1/staff", officer("SO-XAY-DUNG", "officer")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["created_by"], "staff:quantri.xaydung");
    let (s, body) = post("/api/v1/staff", officer("SO-XAY-DUNG", "officer")).await;
    assert_eq!((s, error_code(&body)), (409, "staff_exists"), "{body}");
    // Names are divided among agencies by suffix: an agency's administrator names only
    // within theirs, so whether a name of another agency exists cannot be learned.
    let named = |username: &str| {
        json!({"username": username, "display_name": "Nhân viên", "role": "officer",
               "agency_code": "SO-XAY-DUNG", "password": PASSWORD})
    };
    for taken_elsewhere in ["kiemtoan.yte", "khongco.yte", "tran.binh", "x.so-y-te"] {
        let (s, body) = post("/api/v1/staff", named(taken_elsewhere)).await;
        assert_eq!(
            (s, error_code(&body), body["error"]["field"].as_str()),
            (422, "username_outside_agency", Some("username")),
            "{taken_elsewhere}: {body}"
        );
        assert!(
            body["error"]["message_en"]
                .as_str()
                .unwrap()
                .contains("tran.binh.so-xay-dung"),
            "{body}"
        );
    }
    // Nor may a city administrator put a name in one agency's namespace for another.
    let (s, body) = app.post_json("/api/v1/staff", &named("an.so-y-te")).await;
    assert_eq!(
        (s, error_code(&body)),
        (422, "username_of_another_agency"),
        "{body}"
    );
    let (s, body) = app.post_json("/api/v1/staff", &named("an.xaydung")).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = post("/api/v1/staff", officer("SO-Y-TE", "officer")).await;
    assert_eq!((s, error_code(&body)), (403, "forbidden"));
    let (s, body) = post("/api/v1/staff", officer("SO-XAY-DUNG", "agency_admin")).await;
    assert_eq!((s, error_code(&body)), (403, "forbidden"));
    let (s, _) = post("/api/v1/agencies/SO-XAY-DUNG/keys", json!({})).await;
    assert_eq!(s, 201);
    let (s, _) = post("/api/v1/agencies/SO-Y-TE/keys", json!({})).await;
    assert_eq!(s, 403);
    // The agency's own staff list, but not another's nor everyone's.
    let get = |path: String| {
        let req = app.client.get(app.url(&path)).bearer_auth(admin);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("/api/v1/staff?agency=SO-XAY-DUNG".into()).await, 200);
    assert_eq!(get("/api/v1/staff?agency=SO-Y-TE".into()).await, 403);
    assert_eq!(get("/api/v1/staff".into()).await, 403);
    // Another agency's grant, guessed by id, is "not found"; its own is revoked.
    let (s, body) = app
        .post_json(
            "/api/v1/agencies/SO-Y-TE/grants",
            &json!({"registry": "citizens", "purpose": "health-insurance", "fields": ["phone"], "legal_basis": "x"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let foreign = body["grant_id"].as_i64().unwrap();
    let delete = |path: String| {
        let req = app.client.delete(app.url(&path)).bearer_auth(admin);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(delete(format!("/api/v1/grants/{foreign}")).await, 404);
    assert_eq!(
        delete(format!("/api/v1/grants/{}", city.grant_id)).await,
        204
    );
    // Staff of another agency cannot be disabled, nor learned of.
    assert_eq!(delete("/api/v1/staff/kiemtoan.yte".into()).await, 404);
    assert_eq!(delete("/api/v1/staff/nv.so-xay-dung".into()).await, 204);
}

/// A digital team helps a resident open an account without ever holding its credentials:
/// it starts an activation, the code goes to the resident's registered phone or e-mail,
/// and the resident sets their own password. The team's answers are the same for every
/// CCCD, so they say nothing of who lives in the ward or who has an account.
#[tokio::test]
async fn digital_teams_start_accounts_that_residents_open_with_their_own_password() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let team = city.token("digital_team");
    // Mai and Lan have accounts already: new residents, in the ward and out of it, one
    // with no contact on record.
    let (hung, tai, vy, nobody) = (
        "079085000011",
        "079085000012",
        "079085000013",
        "079085000099",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    std::fs::write(
        &path,
        format!(
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,phone,email\n\
             {hung},Phạm Văn Hùng,1985-02-02,male,3 Pasteur,26743,0912345678,\n\
             {tai},Võ Văn Tài,1985-02-03,male,9 Trần Quang Khải,26737,0912345679,\n\
             {vy},Lê Văn Vỹ,1985-02-04,male,4 Pasteur,26743,,\n"
        ),
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", path.to_str().unwrap()]).await;
    let post = |path: &'static str, token: Option<&str>, body: serde_json::Value| {
        let mut req = app.client.post(app.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let res = req.send().await.unwrap();
            let s = res.status().as_u16();
            (s, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    // The team may no longer choose a resident's password.
    let (s, b) = post(
        "/api/v1/accounts/citizens",
        Some(team),
        json!({"citizen_id": hung, "password": PASSWORD}),
    )
    .await;
    assert_eq!((s, error_code(&b)), (403, "forbidden"));
    // The same answer for a resident of the ward, one elsewhere, one without a contact,
    // one with an account, and a CCCD nobody holds.
    let mut answers = Vec::new();
    for id in [hung, tai, vy, MAI, nobody] {
        answers.push(
            post(
                "/api/v1/accounts/citizens/activations",
                Some(team),
                json!({ "citizen_id": id }),
            )
            .await,
        );
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 202);
    // Only Hùng's phone got a code.
    let out = dir.path().join("outbox");
    let sent = run_cli_ok(&app.db, &["notify", "--out", out.to_str().unwrap()]).await;
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert_eq!(files.len(), 1, "{sent}: {files:?}");
    assert!(files[0].starts_with("To: 0912345678"), "{}", files[0]);
    let code = code_in(&files[0]);
    // The database never holds the code in the clear: the message is sealed at rest.
    let payloads: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = 'notification.send'")
            .fetch_all(&app.db.raw().await)
            .await
            .unwrap();
    let stored: Vec<String> = payloads
        .iter()
        .map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap()["body"].to_string())
        .collect();
    assert!(!stored.is_empty());
    assert!(
        stored
            .iter()
            .all(|b| !b.contains(&code) && !b.contains("Mã kích hoạt")),
        "{stored:?}"
    );
    // The resident opens the account with the code and a password of their own; wrong
    // codes are refused alike, and the code works once.
    let activate = |id: &str, code: &str| json!({"citizen_id": id, "code": code, "password": "mật khẩu của Hùng 2026"});
    let (s, b) = post(
        "/api/v1/accounts/citizens/activate",
        None,
        activate(hung, "AAAA-AAAA"),
    )
    .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_activation_code"));
    let (s, b) = post(
        "/api/v1/accounts/citizens/activate",
        None,
        activate(tai, &code),
    )
    .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_activation_code"));
    let (s, b) = post(
        "/api/v1/accounts/citizens/activate",
        None,
        activate(hung, &code),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = post(
        "/api/v1/accounts/citizens/activate",
        None,
        activate(hung, &code),
    )
    .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_activation_code"));
    let (s, _) = login(
        &app,
        json!({"citizen_id": hung, "password": "mật khẩu của Hùng 2026"}),
    )
    .await;
    assert_eq!(s, 200);
    // Hùng sees who started it in his access log; the refused attempts are audited too.
    let e = sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", hung, 10)
        .await
        .unwrap();
    let actions: Vec<_> = e
        .iter()
        .map(|e| (e.record.action.as_str(), e.record.actor.as_str()))
        .collect();
    assert!(
        actions.contains(&("account.activation_start", "staff:totcs.benthanh")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("account.activate", &*format!("citizen:{hung}"))),
        "{actions:?}"
    );
    let e = sohoa_storage::audit::entries_for_object(app.server_db(), "citizen", tai, 10)
        .await
        .unwrap();
    assert!(e
        .iter()
        .any(|e| e.record.action == "account.activation_start"
            && e.record.outcome == sohoa_domain::audit::Outcome::Denied));
}

/// Five wrong codes void an activation: guessing a 40-bit code is hopeless anyway, and an
/// activation cannot be worn down by retries.
#[tokio::test]
async fn an_activation_is_void_after_five_wrong_codes() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    std::fs::write(
        &path,
        "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,phone,email\n\
         079085000011,Phạm Văn Hùng,1985-02-02,male,3 Pasteur,26743,,hung@example.vn\n",
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", path.to_str().unwrap()]).await;
    let (s, _) = app
        .post_json(
            "/api/v1/accounts/citizens/activations",
            &json!({"citizen_id": "079085000011"}),
        )
        .await;
    assert_eq!(s, 202);
    let out = dir.path().join("outbox");
    run_cli_ok(&app.db, &["notify", "--out", out.to_str().unwrap()]).await;
    let mail = std::fs::read_dir(&out)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .next()
        .unwrap();
    assert!(mail.contains("To: <hung@example.vn>"), "{mail}");
    let code = code_in(&mail);
    let try_code = |code: String| {
        let req = app
            .client
            .post(app.url("/api/v1/accounts/citizens/activate"))
            .json(&json!({"citizen_id": "079085000011", "code": code, "password": PASSWORD}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    for _ in 0..5 {
        assert_eq!(try_code("AAAA-AAAA".into()).await, 422);
    }
    assert_eq!(try_code(code).await, 422, "void after five wrong codes");
}

#[tokio::test]
async fn auditors_read_the_log_within_their_scope_and_their_reading_is_logged() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let read = |who: &str, query: &str| {
        let req = app
            .client
            .get(app.url(&format!("/api/v1/audit{query}")))
            .bearer_auth(city.token(who));
        async move {
            let res = req.send().await.unwrap();
            let s = res.status().as_u16();
            (s, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, page) = read("auditor", "?limit=5").await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let first = page["items"][0]["seq"].as_i64().unwrap();
    let (_, older) = read(
        "auditor",
        &format!("?limit=5&before={}", page["next_before"]),
    )
    .await;
    assert!(older["items"][0]["seq"].as_i64().unwrap() < first);
    // The chain links on the page are the stored ones.
    assert_eq!(page["items"][0]["prev_hash"], page["items"][1]["hash"]);
    assert_eq!(read("agency_auditor", "").await.0, 403);
    assert_eq!(read("agency_auditor", "?agency=SO-XAY-DUNG").await.0, 403);
    let (s, own) = read("agency_auditor", "?agency=SO-Y-TE").await;
    assert_eq!(s, 200, "{own}");
    assert!(own["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor_unit"] == "SO-Y-TE"));
    assert_eq!(read("city_admin", "").await.0, 403);
    let reads = sohoa_storage::audit::entries_for_object(app.server_db(), "audit_log", "all", 10)
        .await
        .unwrap();
    assert!(reads.iter().any(|e| e.record.actor == "staff:kiemtoan"));
}

#[tokio::test]
async fn disabled_staff_lose_their_sessions_at_once() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let token = city.token("officer");
    let whoami = || {
        let req = app
            .client
            .get(app.url("/api/v1/auth/session"))
            .bearer_auth(token);
        async move {
            let res = req.send().await.unwrap();
            let s = res.status().as_u16();
            (s, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, me) = whoami().await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            me["kind"].as_str(),
            me["role"].as_str(),
            me["agency_code"].as_str(),
            me["unit_code"].as_str()
        ),
        (
            Some("staff"),
            Some("officer"),
            Some("UBND-26743"),
            Some("26743")
        )
    );
    let res = app
        .client
        .delete(app.url("/api/v1/staff/canbo.benthanh"))
        .bearer_auth(city.token("city_admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(whoami().await.0, 401);
    let (s, _) = login(
        &app,
        json!({"username": "canbo.benthanh", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn staff_accounts_are_validated() {
    let app = spawn_app().await;
    populate(&app).await;
    let base = json!({"username": "nv.moi", "display_name": "Nhân viên mới", "role": "officer",
                      "agency_code": "SO-Y-TE", "password": PASSWORD});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, code, field) in [
        (
            with("username", json!("Nguyen")),
            "invalid_username",
            "username",
        ),
        (
            with("username", json!("079185001234")),
            "invalid_username",
            "username",
        ),
        (
            with("display_name", json!("  ")),
            "invalid_display_name",
            "display_name",
        ),
        (with("role", json!("root")), "invalid_role", "role"),
        (
            with("agency_code", json!(null)),
            "role_scope",
            "agency_code",
        ),
        (
            with("agency_code", json!("SO-KHONG-CO")),
            "agency_not_found",
            "agency_code",
        ),
        (with("unit_code", json!("26743")), "role_scope", "unit_code"),
        (
            with("password", json!("short")),
            "invalid_password",
            "password",
        ),
        (
            json!({"username": "totcs.x", "display_name": "Tổ", "role": "digital_team", "password": PASSWORD}),
            "role_scope",
            "unit_code",
        ),
        (
            json!({"username": "totcs.x", "display_name": "Tổ", "role": "digital_team", "unit_code": "79", "password": PASSWORD}),
            "unknown_unit",
            "unit_code",
        ),
        (
            json!({"username": "qt.x", "display_name": "QT", "role": "city_admin", "agency_code": "SO-Y-TE", "password": PASSWORD}),
            "role_scope",
            "agency_code",
        ),
    ] {
        let (s, res) = app.post_json("/api/v1/staff", &body).await;
        assert_eq!((s, error_code(&res)), (422, code), "{body}");
        assert_eq!(res["error"]["field"], field, "{body}");
    }
    let (s, _) = app.post_json("/api/v1/staff", &base).await;
    assert_eq!(s, 201);
    let (s, res) = app.post_json("/api/v1/staff", &base).await;
    assert_eq!((s, error_code(&res)), (409, "staff_exists"));
    // Keyset pages over every account.
    let (s, page) = app.as_(ADMIN_TOKEN).get("/api/v1/staff?limit=3").await;
    assert_eq!(s, 200);
    let mut names: Vec<String> = Vec::new();
    let mut page = page;
    loop {
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["username"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(after) => {
                page = app
                    .as_(ADMIN_TOKEN)
                    .get(&format!("/api/v1/staff?limit=3&after={after}"))
                    .await
                    .1
            }
            None => break,
        }
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((names.len(), &names), (10, &sorted));
}

#[tokio::test]
async fn staff_lock_out_like_citizens_and_sign_in_attempts_are_rate_limited() {
    let app = spawn_app_with(Options {
        admin: true,
        login_rate_limit: Some(8),
        // Limits are each server's own: with N servers, N times the rate (ARCHITECTURE.md).
        one_server: true,
        ..Options::default()
    })
    .await;
    let (s, _) = app
        .post_json(
            "/api/v1/staff",
            &json!({"username": "kiemtoan", "display_name": "Kiểm toán", "role": "auditor", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201);
    for _ in 0..5 {
        let (s, body) = login(
            &app,
            json!({"username": "kiemtoan", "password": "wrong password!"}),
        )
        .await;
        assert_eq!((s, error_code(&body)), (401, "invalid_credentials"));
    }
    let (s, body) = login(&app, json!({"username": "kiemtoan", "password": PASSWORD})).await;
    assert_eq!((s, error_code(&body)), (429, "account_locked"));
    // Neither or both identifiers is a malformed request, not an attempt.
    let (s, _) = login(&app, json!({"password": PASSWORD})).await;
    assert_eq!(s, 422);
    // Attempts 7 and 8 pass to the accounts; the 9th within the minute is refused.
    for _ in 0..2 {
        assert_eq!(
            login(&app, json!({"citizen_id": MAI, "password": PASSWORD}))
                .await
                .0,
            401
        );
    }
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"citizen_id": MAI, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    let e = sohoa_storage::audit::entries_for_object(app.server_db(), "account", MAI, 5)
        .await
        .unwrap();
    assert_eq!(e[0].record.outcome.as_str(), "denied");
}

#[tokio::test]
async fn one_client_over_its_rate_gets_429_with_retry_after() {
    let app = spawn_app_with(Options {
        rate_limit: Some(1),
        // Limits are each server's own: with N servers, N times the rate (ARCHITECTURE.md).
        one_server: true,
        ..Options::default()
    })
    .await;
    // A burst of two, then one a second.
    assert_eq!(app.get("/api/v1/units?per_page=1").await.status(), 200);
    assert_eq!(app.get("/api/v1/units?per_page=1").await.status(), 200);
    let res = app.get("/api/v1/units?per_page=1").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    // Pages say it in the page's language; health checks are never limited.
    let res = app.get("/units").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    for _ in 0..5 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
}

#[tokio::test]
async fn the_first_administrator_comes_from_the_command_line() {
    let app = spawn_app_with(Options::default()).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args([
            "staff",
            "add-admin",
            "quantri",
            "--display-name",
            "Quản trị",
        ])
        .env("SOHOA_DATABASE_URL", &app.db.url)
        .env("SOHOA_DATA_DIR", &app.db.data_dir)
        .env("SOHOA_STAFF_PASSWORD", PASSWORD)
        .env_remove("SOHOA_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (s, body) = login(&app, json!({"username": "quantri", "password": PASSWORD})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["whoami"]["role"], "city_admin");
    // With the account (and no bootstrap token), agencies can be registered.
    let res = app
        .client
        .post(app.url("/api/v1/agencies"))
        .bearer_auth(body["token"].as_str().unwrap())
        .json(&agency("SO-Y-TE", "city", "79"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The same name twice, a bad one, or one in an agency's namespace, is refused with
    // exit code 2.
    for name in ["quantri", "Quan Tri", "quantri.so-y-te"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sohoa"))
            .args(["staff", "add-admin", name, "--display-name", "X"])
            .env("SOHOA_DATABASE_URL", &app.db.url)
            .env("SOHOA_DATA_DIR", &app.db.data_dir)
            .env("SOHOA_STAFF_PASSWORD", PASSWORD)
            .env_remove("SOHOA_CONFIG")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn two_step_verification_asks_for_a_fresh_code_once_enrolled() {
    use sohoa_domain::totp;
    let app = spawn_app().await;
    let city = populate(&app).await;
    let token = city.token("citizen");
    let post = |path: &'static str, body: serde_json::Value| {
        let who = app.as_(token);
        async move { who.post(path, &body).await }
    };
    let (s, enrol) = post("/api/v1/auth/totp", json!({})).await;
    assert_eq!(s, 200, "{enrol}");
    let secret = totp::base32_decode(enrol["secret"].as_str().unwrap()).unwrap();
    assert_eq!(secret.len(), 20);
    assert!(enrol["uri"]
        .as_str()
        .unwrap()
        .starts_with(&format!("otpauth://totp/sohoa:{MAI}?secret=")));
    let code = |s: i64| format!("{:06}", totp::code_at(&secret, s));
    let now = early_in_a_step().await;
    // Not yet confirmed: sign-in still takes the password alone.
    let (s, _) = login(&app, json!({"citizen_id": MAI, "password": PASSWORD})).await;
    assert_eq!(s, 200);
    let (s, body) = post("/api/v1/auth/totp/confirm", json!({"code": "000000"})).await;
    assert_eq!((s, error_code(&body)), (422, "invalid_totp"));
    let (s, _) = post("/api/v1/auth/totp/confirm", json!({"code": code(now - 1)})).await;
    assert_eq!(s, 204);
    // The secret is sealed at rest, like personal data.
    let pool = app.db.raw().await;
    let (stored,): (String,) = sqlx::query_as(&format!(
        "SELECT totp_secret FROM accounts WHERE citizen_id = '{MAI}'"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(
        stored.starts_with("v1.1.") && !stored.contains(&hex::encode(&secret)),
        "{stored}"
    );
    // Now the password alone is not enough.
    let (s, body) = login(&app, json!({"citizen_id": MAI, "password": PASSWORD})).await;
    assert_eq!((s, error_code(&body)), (401, "totp_required"));
    let (s, body) = login(
        &app,
        json!({"citizen_id": MAI, "password": PASSWORD, "totp": "123456"}),
    )
    .await;
    assert_eq!((s, error_code(&body)), (401, "invalid_totp"));
    let fresh = code(now);
    let (s, body) = login(
        &app,
        json!({"citizen_id": MAI, "password": PASSWORD, "totp": fresh}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // The same code twice is refused: a code works once.
    let (s, body) = login(
        &app,
        json!({"citizen_id": MAI, "password": PASSWORD, "totp": fresh}),
    )
    .await;
    assert_eq!((s, error_code(&body)), (401, "invalid_totp"));
    // A wrong password with a right code is still a wrong password.
    let (s, body) = login(
        &app,
        json!({"citizen_id": MAI, "password": "wrong password", "totp": code(now + 1)}),
    )
    .await;
    assert_eq!((s, error_code(&body)), (401, "invalid_credentials"));
    // Turning it off takes a code not used before.
    let (s, _) = post("/api/v1/auth/totp/disable", json!({"code": fresh})).await;
    assert_eq!(s, 422);
    let (s, _) = post("/api/v1/auth/totp/disable", json!({"code": code(now + 1)})).await;
    assert_eq!(s, 204);
    let (s, _) = login(&app, json!({"citizen_id": MAI, "password": PASSWORD})).await;
    assert_eq!(s, 200);
    let actions = account_actions(&app).await;
    assert!(
        actions.iter().any(|a| a == "auth.totp_enable")
            && actions.iter().any(|a| a == "auth.totp_disable"),
        "{actions:?}"
    );
}

/// A session alone never replaces the second factor: re-enrolling over a secret in force
/// takes a current code of it, and is audited.
#[tokio::test]
async fn replacing_the_second_factor_takes_a_current_code() {
    use sohoa_domain::totp;
    let app = spawn_app().await;
    let city = populate(&app).await;
    let token = city.token("citizen");
    let post = |path: &'static str, body: serde_json::Value| {
        let who = app.as_(token);
        async move { who.post(path, &body).await }
    };
    let secret_of =
        |enrol: &serde_json::Value| totp::base32_decode(enrol["secret"].as_str().unwrap()).unwrap();
    let now = early_in_a_step().await;
    let code = |secret: &[u8], s: i64| format!("{:06}", totp::code_at(secret, s));
    let (_, first) = post("/api/v1/auth/totp", json!({})).await;
    let first = secret_of(&first);
    let (s, _) = post(
        "/api/v1/auth/totp/confirm",
        json!({"code": code(&first, now - 1)}),
    )
    .await;
    assert_eq!(s, 204);

    let (s, second) = post("/api/v1/auth/totp", json!({})).await;
    assert_eq!(s, 200, "{second}");
    let second = secret_of(&second);
    let new_code = code(&second, now);
    for body in [
        json!({"code": new_code}),
        json!({"code": new_code, "current_code": "000000"}),
        json!({"code": new_code, "current_code": code(&first, now - 1)}),
    ] {
        let (s, b) = post("/api/v1/auth/totp/confirm", body.clone()).await;
        assert_eq!((s, error_code(&b)), (422, "invalid_totp"), "{body}");
        assert_eq!(b["error"]["field"], "current_code", "{b}");
    }
    // The old secret is still the one in force.
    let (s, _) = login(
        &app,
        json!({"citizen_id": MAI, "password": PASSWORD, "totp": code(&first, now)}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = post(
        "/api/v1/auth/totp/confirm",
        json!({"code": new_code, "current_code": code(&first, now + 1)}),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, _) = login(
        &app,
        json!({"citizen_id": MAI, "password": PASSWORD, "totp": code(&second, now + 1)}),
    )
    .await;
    assert_eq!(s, 200);
    let actions = account_actions(&app).await;
    assert!(
        actions.iter().any(|a| a == "auth.totp_replace"),
        "{actions:?}"
    );
}

/// Codes are judged by the clock: start early in a TOTP step, so that the steps a test
/// names stay inside the server's window while it runs. The step it starts in.
pub(crate) async fn early_in_a_step() -> i64 {
    use sohoa_domain::totp;
    let into = time::OffsetDateTime::now_utc().unix_timestamp() % totp::STEP;
    if into > totp::STEP - 8 {
        tokio::time::sleep(std::time::Duration::from_secs(
            (totp::STEP - into + 1) as u64,
        ))
        .await;
    }
    time::OffsetDateTime::now_utc().unix_timestamp() / totp::STEP
}

/// The actions of the audit entries about Mai's account, newest first.
async fn account_actions(app: &TestApp) -> Vec<String> {
    sohoa_storage::audit::entries_for_object(
        app.server_db(),
        "account",
        &format!("citizen:{MAI}"),
        10,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.record.action)
    .collect()
}

/// The one-time code (`XXXX-XXXX`) in a message as `sohoa notify` wrote it.
fn code_in(message: &str) -> String {
    message
        .split_whitespace()
        .map(|w| w.trim_end_matches('.'))
        .find(|w| w.len() == 9 && w.as_bytes()[4] == b'-')
        .unwrap_or_else(|| panic!("no code in {message}"))
        .to_owned()
}
