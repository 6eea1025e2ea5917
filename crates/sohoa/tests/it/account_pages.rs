//! Signing in on the web and "my account": cookies that scripts cannot read, CSRF tokens on
//! every form, and the citizen's page of who read their data.

use reqwest::header::HeaderMap;
use serde_json::json;

use crate::helpers::*;
use crate::personas::*;

/// The `name=value` of each `Set-Cookie` named `name`, with its attributes.
fn set_cookie<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn cookie_value(set: &str) -> String {
    set.split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: Vec::new(),
        }
    }
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn keep(&mut self, h: &HeaderMap) {
        for v in h
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let (k, rest) = v.split_once('=').unwrap();
            let value = rest.split(';').next().unwrap().to_owned();
            self.cookies.retain(|(n, _)| n != k);
            if !v.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), value));
            }
        }
    }
    async fn get(&mut self, path: &str) -> (u16, String, HeaderMap) {
        let res = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        let (s, h) = (res.status().as_u16(), res.headers().clone());
        self.keep(&h);
        (s, res.text().await.unwrap(), h)
    }
    /// Signs in through the login form, as a person would.
    async fn sign_in(&mut self, login: &str) {
        let (_, html, _) = self.get("/login").await;
        let csrf = hidden(&html, "csrf");
        let (s, body, _) = self
            .post(
                "/login",
                &[("login", login), ("password", PASSWORD), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(s, 303, "{login}: {body}");
    }
    async fn get_bytes(&mut self, path: &str) -> (u16, Vec<u8>) {
        let res = self
            .app
            .client
            .get(self.app.url(path))
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        let s = res.status().as_u16();
        (s, res.bytes().await.unwrap().to_vec())
    }
    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, HeaderMap) {
        let res = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", self.header())
            .header("origin", format!("http://{}", self.app.addr))
            .form(form)
            .send()
            .await
            .unwrap();
        let (s, h) = (res.status().as_u16(), res.headers().clone());
        self.keep(&h);
        (s, res.text().await.unwrap(), h)
    }
}

#[tokio::test]
async fn a_citizen_signs_in_sees_who_read_their_data_revokes_a_consent_and_signs_out() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    // The construction department reads Mai's name; Mai allows the health department her
    // phone number.
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/share/citizens/{MAI}?purpose=building-permit"
        )))
        .bearer_auth(city.token("agency_system"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .post(app.url("/api/v1/me/consents"))
        .bearer_auth(city.token("citizen"))
        .json(&json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["phone"], "one_off": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let consent_id = res.json::<serde_json::Value>().await.unwrap()["consent_id"]
        .as_i64()
        .unwrap();

    let mut b = Browser::new(&app);
    // Not signed in: sent to the sign-in page, and back afterwards.
    let (s, _, h) = b.get("/me").await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/login?next=%2Fme");
    let (s, html, h) = b.get("/login?next=%2Fme").await;
    assert_eq!(s, 200);
    let csrf_cookie = set_cookie(&h, "__Host-sohoa_csrf").expect("a CSRF cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(csrf_cookie.contains(attr), "{csrf_cookie}");
    }
    assert_eq!(h["cache-control"], "no-store");
    let csrf = hidden(&html, "csrf");
    assert_eq!(csrf, cookie_value(csrf_cookie));
    assert!(html.contains("<label for=\"login\">"));

    // A form without the token, with another token, or from another site is refused.
    for (token, origin) in [
        ("", None),
        (&"0".repeat(64)[..], None),
        (&csrf[..], Some("https://evil.example")),
    ] {
        let mut req = app
            .client
            .post(app.url("/login"))
            .header("cookie", b.header())
            .form(&[
                ("login", MAI),
                ("password", PASSWORD),
                ("csrf", token),
                ("next", "/me"),
            ]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{token:?} {origin:?}");
        assert!(res.text().await.unwrap().contains("csrf_failed"));
    }
    // A wrong password: the form again, with the error tied to the fields.
    let (s, html, _) = b
        .post(
            "/login",
            &[
                ("login", MAI),
                ("password", "wrong password"),
                ("csrf", &csrf),
                ("next", "/me"),
            ],
        )
        .await;
    assert_eq!(s, 401);
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains(&format!("value=\"{MAI}\"")));
    // The right one: a session cookie scripts cannot read, and back to the page asked for.
    let (s, _, h) = b
        .post(
            "/login",
            &[
                ("login", MAI),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", "/me"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/me");
    let session = set_cookie(&h, "__Host-sohoa_session").expect("a session cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(session.contains(attr), "{session}");
    }
    // Only a path of this site is a place to return to.
    let (_, _, h) = b
        .post(
            "/login",
            &[
                ("login", MAI),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(h["location"], "/me");

    let (s, html, _) = b.get("/me").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Nguyễn Thị Mai"));
    assert!(html.contains("agency:SO-XAY-DUNG"), "{html}");
    assert!(html.contains("building-permit"));
    assert!(html.contains("SO-Y-TE"));
    assert!(html.contains(&format!("/me/consents/{consent_id}/revoke")));
    // Lan's page is not Mai's: only one's own data.
    assert!(!html.contains(LAN));
    // The API does not take the cookie: another site could make a browser send it.
    let res = app
        .client
        .get(app.url("/api/v1/me/access-log"))
        .header("cookie", b.header())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Revoke the consent from the page.
    let csrf = hidden(&html, "csrf");
    let (s, _, h) = b
        .post(
            &format!("/me/consents/{consent_id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/me");
    let (_, consents) = {
        let res = app
            .client
            .get(app.url("/api/v1/me/consents"))
            .bearer_auth(city.token("citizen"))
            .send()
            .await
            .unwrap();
        (res.status(), res.json::<serde_json::Value>().await.unwrap())
    };
    assert!(consents[0]["revoked_at"].is_string(), "{consents}");
    // Lan cannot revoke Mai's consents by guessing ids.
    let mut lan = Browser::new(&app);
    let (_, html, _) = lan.get("/login").await;
    let lan_csrf = hidden(&html, "csrf");
    let (s, _, _) = lan
        .post(
            "/login",
            &[("login", LAN), ("password", PASSWORD), ("csrf", &lan_csrf)],
        )
        .await;
    assert_eq!(s, 303);
    let (s, _, _) = lan
        .post(
            &format!("/me/consents/{consent_id}/revoke"),
            &[("csrf", &lan_csrf)],
        )
        .await;
    assert_eq!(s, 404);

    // English on request.
    let (_, html, _) = b.get("/me?lang=en").await;
    assert!(html.contains("Who looked at my data"));
    // Sign out: the cookie goes, and the old one no longer opens the page.
    let old = b.header();
    let (s, _, h) = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(s, 303);
    assert!(set_cookie(&h, "__Host-sohoa_session")
        .unwrap()
        .contains("Max-Age=0"));
    let res = app
        .client
        .get(app.url("/me"))
        .header("cookie", old)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn staff_sign_in_on_the_web_and_see_their_role_and_scope() {
    let app = spawn_app().await;
    populate(&app).await;
    let mut b = Browser::new(&app);
    b.sign_in("canbo.benthanh").await;
    let (s, html, _) = b.get("/me").await;
    assert_eq!(s, 200);
    assert!(html.contains("canbo.benthanh"));
    assert!(html.contains("Cán bộ"));
    assert!(html.contains("UBND-26743"));
    assert!(!html.contains("Ai đã xem dữ liệu của tôi"));
}

#[tokio::test]
async fn anyone_checks_a_status_and_a_result_on_the_web_and_citizens_see_their_applications() {
    use crate::applications::{apply, catalog, move_to};
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    let (s, filed) = apply(
        &app,
        city.token("citizen"),
        "w1",
        &json!({"procedure_code": "T-KHAISINH", "answers": {"child_name": "Bé Na", "born_on": "2026-11-01"}}),
    )
    .await;
    assert_eq!(s, 201);
    let number = filed["number"].as_str().unwrap().to_owned();
    let code = filed["lookup_code"].as_str().unwrap().to_owned();

    // Anyone, with the number and the receipt's code.
    let mut b = Browser::new(&app);
    let (s, html, _) = b.get("/status").await;
    assert_eq!(s, 200);
    let csrf = hidden(&html, "csrf");
    let (s, html, _) = b
        .post(
            "/status",
            &[("number", &number), ("code", &code), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains(&format!("Hồ sơ {number}")) && html.contains("Đã nộp"),
        "{html}"
    );
    assert!(
        !html.contains("Nguyễn Thị Mai") && !html.contains(MAI),
        "personal data shown"
    );
    let (_, html, _) = b
        .post(
            "/status",
            &[("number", &number), ("code", "AAAA-AAAA"), ("csrf", &csrf)],
        )
        .await;
    assert!(
        html.contains("Không tìm thấy hồ sơ") && html.contains("aria-invalid=\"true\""),
        "{html}"
    );
    let (s, _, _) = b
        .post(
            "/status",
            &[("number", &number), ("code", &code), ("csrf", "forged")],
        )
        .await;
    assert_eq!(s, 403, "a form without its CSRF token is refused");

    // The result, once issued, verifies on the public page.
    for to in ["received", "in_review", "approved", "result_issued"] {
        let (s, _) = move_to(&app, city.token("officer"), &number, json!({"to": to})).await;
        assert_eq!(s, 200, "{to}");
    }
    let (s, html, _) = b.get(&format!("/verify?number={number}")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Chữ ký hợp lệ") && html.contains("UBND-26743"),
        "{html}"
    );
    assert!(html.contains("openssl dgst -sha256 -verify"));
    let (_, html, _) = b.get("/verify?number=HS0000000000&lang=en").await;
    assert!(html.contains("No result has been issued"), "{html}");

    // Mai, signed in, finds it among her applications.
    let mut mai = Browser::new(&app);
    mai.sign_in(MAI).await;
    let (s, html, _) = mai.get("/me").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Hồ sơ của tôi") && html.contains(&number) && html.contains("Đã trả kết quả"),
        "{html}"
    );

    // Her result rendered as a document, its signature checked, and its files exactly
    // the signed bytes the API gives: what openssl verifies.
    assert!(
        html.contains(&format!("href=\"/results/{number}\"")),
        "{html}"
    );
    let (s, html, _) = mai.get(&format!("/results/{number}")).await;
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("Kết quả giải quyết thủ tục hành chính")
            && html.contains("Chữ ký hợp lệ")
            && html.contains("(UBND-26743)")
            && html.contains(MAI),
        "{html}"
    );
    let signed: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/v1/applications/{number}/result")))
        .bearer_auth(city.token("citizen"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    use base64::Engine;
    let text = |k: &str| signed[k].as_str().unwrap().as_bytes().to_vec();
    let der = base64::engine::general_purpose::STANDARD
        .decode(signed["signature"].as_str().unwrap())
        .unwrap();
    for (file, expected) in [
        ("result.json", text("document")),
        ("result.sig", der),
        ("agency.pem", text("certificate")),
    ] {
        let got = mai.get_bytes(&format!("/results/{number}/{file}")).await;
        assert_eq!(got, (200, expected), "{file}");
    }
    let (s, _) = mai
        .get_bytes(&format!("/results/{number}/secret.txt"))
        .await;
    assert_eq!(s, 404);
    // Nobody else: a stranger is sent to sign in, an unknown number is absent.
    let (s, _, h) = b.get(&format!("/results/{number}")).await;
    assert!(s == 303 || s == 401, "{s} {h:?}");
    let (s, _, _) = mai.get("/results/HS0000000000").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_citizen_applies_on_the_web_with_registry_fields_locked_and_files_once() {
    use crate::applications::catalog;
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    let mut mai = Browser::new(&app);
    // Not signed in: sent to sign in first.
    let (s, _, _) = mai.get("/procedures/T-KHAISINH/apply").await;
    assert!(s == 303 || s == 401, "{s}");
    mai.sign_in(MAI).await;

    // The procedure's page leads to the form; the registry's value is filled in and locked.
    let (_, html, _) = mai.get("/procedures/T-KHAISINH").await;
    assert!(
        html.contains("href=\"/procedures/T-KHAISINH/apply\""),
        "{html}"
    );
    let (s, form, _) = mai.get("/procedures/T-KHAISINH/apply").await;
    assert_eq!(s, 200, "{form}");
    assert!(
        form.contains(r#"id="answer-declarant" type="text" value="Nguyễn Thị Mai" readonly"#),
        "{form}"
    );
    assert!(
        !form.contains(r#"name="answer.declarant""#),
        "a locked field is not posted"
    );
    let csrf = hidden(&form, "csrf");
    let key = hidden(&form, "idempotency_key");

    // A bad date: the form again, the error beside the field, nothing filed.
    let (s, html, _) = mai
        .post(
            "/procedures/T-KHAISINH/apply",
            &[
                ("csrf", &csrf),
                ("idempotency_key", &key),
                ("answer.child_name", "Trần Minh An"),
                ("answer.born_on", "2026-02-30"),
                ("flag.declarant", ""),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        html.contains(r#"aria-invalid="true" aria-describedby="error-born_on""#)
            && html.contains(r#"id="error-born_on""#)
            && html.contains("Trần Minh An"),
        "{html}"
    );
    async fn count(app: &TestApp) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM applications")
            .fetch_one(&app.db.raw().await)
            .await
            .unwrap()
    }
    assert_eq!(count(&app).await, 0);

    // Corrected: filed, with a receipt; the same form sent twice files once.
    let good = [
        ("csrf", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("answer.child_name", "Trần Minh An"),
        ("answer.born_on", "2026-11-20"),
        ("flag.declarant", "Tên đúng là Nguyễn Thị Mai Anh"),
    ];
    let (s, receipt, _) = mai.post("/procedures/T-KHAISINH/apply", &good).await;
    assert_eq!(s, 200);
    assert!(receipt.contains("Đã nộp hồ sơ"), "{receipt}");
    let (_, again, _) = mai.post("/procedures/T-KHAISINH/apply", &good).await;
    let number = |html: &str| {
        let i = html.find(">HS").unwrap() + 1;
        html[i..i + 12].to_owned()
    };
    assert_eq!(number(&receipt), number(&again));
    assert_eq!(count(&app).await, 1);
    let (s, filed) = app
        .client
        .get(app.url(&format!("/api/v1/applications/{}", number(&receipt))))
        .bearer_auth(city.token("citizen"))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(s, 200);
    let filed: serde_json::Value = filed.json().await.unwrap();
    assert_eq!(filed["status"], "submitted");
    assert_eq!(filed["flags"][0]["field"], "declarant");
    assert_eq!(filed["answers"][0]["value"], "Nguyễn Thị Mai");

    // Staff have no citizen's form.
    let mut officer = Browser::new(&app);
    officer.sign_in("canbo.benthanh").await;
    let (s, _, _) = officer.get("/procedures/T-KHAISINH/apply").await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn an_officer_works_the_queue_on_the_web() {
    use crate::applications::{apply, catalog};
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    let mut numbers = Vec::new();
    for (key, child) in [("q1", "Bé Một"), ("q2", "Bé Hai")] {
        let (s, filed) = apply(
            &app,
            city.token("citizen"),
            key,
            &json!({"procedure_code": "T-KHAISINH", "answers": {"child_name": child, "born_on": "2026-11-01"}}),
        )
        .await;
        assert_eq!(s, 201);
        numbers.push(filed["number"].as_str().unwrap().to_owned());
    }
    let mut officer = Browser::new(&app);
    officer.sign_in("canbo.benthanh").await;
    let (_, me, _) = officer.get("/me").await;
    assert!(me.contains("href=\"/queue\""), "{me}");
    let (s, html, _) = officer.get("/queue").await;
    assert_eq!(s, 200, "{html}");
    assert!(numbers.iter().all(|n| html.contains(n.as_str())), "{html}");
    let (_, html, _) = officer.get("/queue?status=received").await;
    assert!(html.contains("Không có hồ sơ nào khớp"), "{html}");

    // Take it, receive it, review it; a supplement needs a comment, said beside the form.
    let n = &numbers[0];
    let (s, page, _) = officer.get(&format!("/queue/{n}")).await;
    assert_eq!(s, 200, "{page}");
    assert!(
        page.contains("Bé Một") && page.contains("Nguyễn Thị Mai"),
        "{page}"
    );
    let csrf = hidden(&page, "csrf");
    let act = format!("/queue/{n}/act");
    let (s, _, h) = officer
        .post(&act, &[("csrf", &csrf), ("action", "take")])
        .await;
    assert_eq!(
        (s, h["location"].to_str().unwrap()),
        (303, format!("/queue/{n}").as_str())
    );
    for to in ["received", "in_review"] {
        let (s, body, _) = officer
            .post(&act, &[("csrf", &csrf), ("action", to), ("comment", "")])
            .await;
        assert_eq!(s, 303, "{to}: {body}");
    }
    let (s, page, _) = officer
        .post(
            &act,
            &[
                ("csrf", &csrf),
                ("action", "supplement_requested"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    let (s, _, _) = officer
        .post(
            &act,
            &[
                ("csrf", &csrf),
                ("action", "supplement_requested"),
                ("comment", "Thiếu giấy chứng sinh"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (_, page, _) = officer.get(&format!("/queue/{n}")).await;
    assert!(
        page.contains("Thiếu giấy chứng sinh") && page.contains("canbo.benthanh"),
        "{page}"
    );
    let (_, html, _) = officer.get("/queue?assigned=me").await;
    assert!(
        html.contains(n.as_str()) && !html.contains(numbers[1].as_str()),
        "{html}"
    );

    // Without the CSRF token nothing moves; a citizen has no queue.
    let (s, _, _) = officer
        .post(&act, &[("csrf", "forged"), ("action", "rejected")])
        .await;
    assert!(s == 400 || s == 403, "{s}");
    let mut mai = Browser::new(&app);
    mai.sign_in(MAI).await;
    let (s, _, _) = mai.get("/queue").await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn a_helper_seeing_a_residents_registry_fields_on_the_form_is_in_their_access_log() {
    use crate::applications::catalog;
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    let (s, b, _) = app
        .as_(city.token("citizen"))
        .send(reqwest::Method::POST, "/api/v1/me/assist-codes", None)
        .await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    async fn assisted(app: &TestApp, token: &str) -> Vec<serde_json::Value> {
        let (s, log) = app.as_(token).get("/api/v1/me/access-log?limit=200").await;
        assert_eq!(s, 200, "{log}");
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["action"] == "citizen.read_assisted")
            .cloned()
            .collect()
    }
    let mai = city.token("citizen");
    let mut helper = Browser::new(&app);
    helper.sign_in("totcs.benthanh").await;
    let (s, gate, _) = helper.get("/procedures/T-KHAISINH/apply").await;
    assert_eq!(s, 200, "{gate}");
    let csrf = hidden(&gate, "csrf");
    // A wrong code shows nothing of Mai's, and reads nothing.
    let (s, html, _) = helper
        .post(
            "/procedures/T-KHAISINH/apply",
            &[
                ("csrf", &csrf),
                ("stage", "behalf"),
                ("behalf.citizen", MAI),
                ("behalf.code", "AAAA-AAAA"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(!html.contains("Nguyễn Thị Mai"), "{html}");
    assert!(assisted(&app, mai).await.is_empty());
    // Her code: the form shows her registry fields, and she sees who read which.
    let (s, html, _) = helper
        .post(
            "/procedures/T-KHAISINH/apply",
            &[
                ("csrf", &csrf),
                ("stage", "behalf"),
                ("behalf.citizen", MAI),
                ("behalf.code", &code),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(html.contains("Nguyễn Thị Mai"), "{html}");
    let reads = assisted(&app, mai).await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["actor"], "staff:totcs.benthanh");
    assert_eq!(reads[0]["fields"], serde_json::json!(["declarant"]));
    assert_eq!(reads[0]["purpose"], "assisted application");
}

/// The counter page's forms reach their use cases: the procedure search narrows what is
/// offered (diacritics aside), a handover of an unknown application says so beside the
/// form, and only counter officers get the page.
#[tokio::test]
async fn the_counter_page_searches_procedures_and_refuses_unknown_handovers() {
    let app = spawn_app().await;
    populate(&app).await;
    crate::applications::catalog(&app).await;
    let mut officer = Browser::new(&app);
    officer.sign_in("canbo.benthanh").await;
    let (s, _, _) = officer.get("/counter").await;
    assert_eq!(s, 403);
    let mut desk = Browser::new(&app);
    desk.sign_in("motcua.benthanh").await;
    let (s, html, _) = desk.get("/counter").await;
    assert_eq!(s, 200, "{html}");
    let csrf = hidden(&html, "csrf");
    let (s, html, _) = desk
        .post(
            "/counter",
            &[
                ("csrf", &csrf),
                ("stage", "identify"),
                ("citizen_id", MAI),
                ("q", "khai sinh"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(html.contains("Nguyễn Thị Mai"), "{html}");
    assert!(html.contains("value=\"T-KHAISINH\""), "{html}");
    assert!(!html.contains("value=\"T-CUTRU\""), "{html}");
    let (s, html, _) = desk
        .post(
            "/counter",
            &[
                ("csrf", &csrf),
                ("stage", "handover"),
                ("number", "HS0000000000"),
                ("recipient_name", "Nguyễn Thị Mai"),
                ("id_document", "CCCD"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"counter-error\""), "{html}");
}
