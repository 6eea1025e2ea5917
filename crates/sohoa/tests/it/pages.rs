//! Server-rendered pages: Vietnamese by default, English on request, usable on a phone.

use crate::helpers::*;

async fn page(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let h = res.headers().clone();
    (status, res.text().await.unwrap(), h)
}

#[tokio::test]
async fn the_home_page_renders_in_vietnamese_by_default_and_in_english_on_request() {
    let app = spawn_app_with(Options {
        admin: false,
        demo: true,
        ..Options::default()
    })
    .await;
    let (status, vi, h) = page(&app, "/", &[]).await;
    assert_eq!(status, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(vi.contains("<html lang=\"vi\">"));
    assert!(vi.contains("Chính quyền số cho người dân"));
    assert!(vi.contains("168 đơn vị cấp xã"), "{vi}");
    assert!(vi.contains("name=\"viewport\""));

    let (_, en, h) = page(&app, "/?lang=en", &[]).await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Digital government for residents"));
    assert!(h["set-cookie"].to_str().unwrap().starts_with("lang=en"));

    let (_, by_cookie, _) = page(&app, "/units", &[("cookie", "lang=en")]).await;
    assert!(
        by_cookie.contains("Administrative units in force") || by_cookie.contains("Units in force")
    );
    let (_, by_header, _) = page(&app, "/agencies", &[("accept-language", "en-GB,en;q=0.9")]).await;
    assert!(by_header.contains("<html lang=\"en\">"));
    assert!(by_header.contains("Department of Justice"));
    let (_, vi_agencies, _) = page(&app, "/agencies", &[]).await;
    assert!(vi_agencies.contains("Sở Tư pháp"));
}

#[tokio::test]
async fn no_message_key_leaks_into_a_page() {
    let app = spawn_app_with(Options {
        admin: false,
        demo: true,
        ..Options::default()
    })
    .await;
    for path in [
        "/",
        "/units",
        "/units/25747",
        "/units/25747?as_of=2025-01-01",
        "/agencies",
        "/api/docs",
        "/nowhere",
    ] {
        for lang in ["vi", "en"] {
            let (_, html, _) = page(
                &app,
                &format!(
                    "{path}{}lang={lang}",
                    if path.contains('?') { "&" } else { "?" }
                ),
                &[],
            )
            .await;
            for marker in [
                "error-", "units-", "nav-", "kind-", "home-", "pager-", "unit-",
            ] {
                assert!(
                    !html.contains(&format!(">{marker}")),
                    "{path} ({lang}) shows a raw key {marker}: {html}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_units_page_searches_filters_and_pages() {
    let app = spawn_app().await;
    let (_, html, _) = page(&app, "/units?q=ben+thanh", &[]).await;
    assert!(html.contains("Phường Bến Thành"));
    assert!(html.contains("1 đơn vị"));
    let (_, html, _) = page(&app, "/units?kind=ward&as_of=2025-07-01", &[]).await;
    assert!(html.contains("113 đơn vị"));
    assert!(html.contains("rel=\"next\""));
    assert!(html.contains("page=2"));
    // The language switch keeps the filters.
    assert!(html.contains("kind=ward"), "{html}");
    let (_, html, _) = page(&app, "/units/25747?as_of=2025-07-01", &[]).await;
    assert!(html.contains("Phường Thủ Dầu Một") && html.contains("Phường Phú Cường"));
    assert!(html.contains("Thành phố Hồ Chí Minh (79)"), "{html}");
    assert!(html.contains("01/07/2025"));
    // Before the reform the same code was a ward of the city of Thủ Dầu Một.
    let (_, html, _) = page(&app, "/units/25747?as_of=2025-01-01", &[]).await;
    assert!(html.contains("<h1>Phường Phú Cường</h1>"), "{html}");
    assert!(html.contains("Thành phố Thủ Dầu Một (718)"), "{html}");
}

#[tokio::test]
async fn errors_on_pages_are_friendly_pages_in_the_readers_language() {
    let app = spawn_app().await;
    let (status, html, h) = page(&app, "/nowhere?lang=en", &[]).await;
    assert_eq!(status, 404);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(html.contains("This page or resource was not found."));
    let (status, html, _) = page(&app, "/units?as_of=someday", &[]).await;
    assert_eq!(status, 400);
    assert!(html.contains("Ngày không hợp lệ"));
    let (status, _, _) = page(&app, "/units/abc", &[]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn user_input_is_escaped() {
    let app = spawn_app().await;
    let (_, html, _) = page(&app, "/units?q=%3Cscript%3Ealert(1)%3C/script%3E", &[]).await;
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn the_stylesheet_is_embedded_and_no_page_loads_from_elsewhere() {
    let app = spawn_app().await;
    let res = app.get("/static/app.css").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let (_, html, _) = page(&app, "/", &[]).await;
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference in {html}"
    );
    assert!(
        !html.contains("style=") && !html.contains("<script"),
        "inline style or script breaks the CSP"
    );
}

/// Where the data holds codes, people read names: the commune of an address (the name in
/// force on the day), a procedure, an agency. The stored answer keeps the code for
/// machines beside the name.
#[tokio::test]
async fn people_read_names_where_the_data_holds_codes() {
    use serde_json::json;
    let app = spawn_app().await;
    let city = crate::personas::populate(&app).await;
    let (mai, officer) = (city.token("citizen"), city.token("officer"));
    let bearer = |t: &str| format!("Bearer {t}");
    let (s, me, _) = page(&app, "/me", &[("authorization", &bearer(mai))]).await;
    assert_eq!(s, 200);
    assert!(me.contains("12 Lê Lợi, Phường Bến Thành"), "{me}");
    assert!(!me.contains("12 Lê Lợi, 26743"), "{me}");
    // A procedure drawing the address from the registry.
    let residence = json!({
        "code": "T-XACNHAN", "name_vi": "Xác nhận nơi cư trú", "name_en": "Confirmation of residence",
        "level": "commune", "agency_code": null, "deadline_days": 3, "fee": null, "waivers": [],
        "documents": [],
        "form": [{"key": "address", "label_vi": "Nơi thường trú", "label_en": "Permanent residence",
                  "kind": {"type": "text", "max_len": 300}, "required": true,
                  "source": {"registry": "citizens", "field": "permanent_address"}}]
    });
    let res = app
        .client
        .put(app.url("/api/v1/procedures/T-XACNHAN"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&residence)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (s, form, _) = page(
        &app,
        "/procedures/T-XACNHAN/apply",
        &[("authorization", &bearer(mai))],
    )
    .await;
    assert_eq!(s, 200);
    assert!(form.contains("12 Lê Lợi, Phường Bến Thành"), "{form}");
    let (s, filed) = crate::applications::apply(
        &app,
        mai,
        "names-1",
        &json!({"procedure_code": "T-XACNHAN"}),
    )
    .await;
    assert_eq!(s, 201, "{filed}");
    let answer = &filed["answers"][0]["value"];
    assert_eq!(
        (answer["unit_code"].as_str(), answer["unit_name"].as_str()),
        (Some("26743"), Some("Phường Bến Thành")),
        "{answer}"
    );
    let number = filed["number"].as_str().unwrap();
    // The officer's queue and the application's page name the procedure and the commune.
    let (s, queue, _) = page(&app, "/queue", &[("authorization", &bearer(officer))]).await;
    assert_eq!(s, 200);
    assert!(queue.contains("Xác nhận nơi cư trú (T-XACNHAN)"), "{queue}");
    let (s, item, _) = page(
        &app,
        &format!("/queue/{number}"),
        &[("authorization", &bearer(officer))],
    )
    .await;
    assert_eq!(s, 200);
    assert!(item.contains("Xác nhận nơi cư trú (T-XACNHAN)"), "{item}");
    assert!(item.contains("12 Lê Lợi, Phường Bến Thành"), "{item}");
    // Mai's list of applications, and the agencies' page.
    let (_, me, _) = page(&app, "/me", &[("authorization", &bearer(mai))]).await;
    assert!(me.contains("Xác nhận nơi cư trú (T-XACNHAN)"), "{me}");
    let (_, agencies, _) = page(&app, "/agencies", &[]).await;
    assert!(agencies.contains("Phường Bến Thành (26743)"), "{agencies}");
}
