//! The procedure catalog: the demo's real procedures, searchable without diacritics on the
//! API and the pages; every save a new version; edits only by those the policy allows.

use serde_json::json;

use crate::helpers::*;
use crate::personas::*;

fn procedure(code: &str, name: &str, agency: Option<&str>) -> serde_json::Value {
    json!({
        "code": code, "name_vi": name, "name_en": "Permit", "level": if agency.is_some() { "city" } else { "commune" },
        "agency_code": agency, "deadline_days": 10, "fee": 50000, "waivers": [],
        "documents": [], "form": [
            {"key": "applicant_name", "label_vi": "Họ tên", "label_en": "Name", "kind": {"type": "text", "max_len": 100},
             "required": true, "source": {"registry": "citizens", "field": "full_name"}}
        ]
    })
}

#[tokio::test]
async fn the_demo_catalog_is_searchable_without_diacritics() {
    let app = spawn_app_with(Options {
        demo: true,
        ..Options::default()
    })
    .await;
    let (s, all) = app.get_json("/api/v1/procedures?per_page=50").await;
    assert_eq!(s, 200);
    assert_eq!(all["total"], 11);
    let (_, found) = app.get_json("/api/v1/procedures?q=dang+ky+khai+sinh").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["code"], "1.001193");
    let (_, city) = app.get_json("/api/v1/procedures?level=city").await;
    assert!(city["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["agency_code"].is_string()));
    let (s, body) = app.get_json("/api/v1/procedures?level=province").await;
    assert_eq!((s, error_code(&body)), (400, "invalid_query"));
    let (s, body) = app.get_json("/api/v1/procedures/9.999999").await;
    assert_eq!((s, error_code(&body)), (404, "procedure_not_found"));

    let page = app
        .get("/procedures?q=ly+lich+tu+phap")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Cấp Phiếu lý lịch tư pháp"), "{page}");
    let page = app.get("/procedures/1.001193").await.text().await.unwrap();
    assert!(page.contains("Đăng ký khai sinh"));
    assert!(page.contains("Lấy từ cơ sở dữ liệu dân cư"));
    assert!(page.contains("1 ngày làm việc"));
    let page = app
        .get("/procedures/1.001193?lang=en")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Birth registration") && page.contains("From the population registry"));
}

#[tokio::test]
async fn every_change_is_a_version_and_only_the_allowed_edit() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    let admin = city.token("bootstrap");
    let p = procedure("1.009001", "Cấp giấy phép A", Some("SO-XAY-DUNG"));
    assert_eq!(
        app.as_(admin).put("/api/v1/procedures/1.009001", &p).await,
        (
            200,
            json!({"code": "1.009001", "version": 1, "changed": true})
        )
    );
    assert_eq!(
        app.as_(admin)
            .put("/api/v1/procedures/1.009001", &p)
            .await
            .1["changed"],
        false
    );
    let mut p2 = p.clone();
    p2["name_vi"] = json!("Cấp giấy phép A (sửa đổi)");
    assert_eq!(
        app.as_(admin)
            .put("/api/v1/procedures/1.009001", &p2)
            .await
            .1["version"],
        2
    );
    let (_, v1) = app.get_json("/api/v1/procedures/1.009001?version=1").await;
    assert_eq!(v1["name_vi"], "Cấp giấy phép A");
    let (_, now) = app.get_json("/api/v1/procedures/1.009001").await;
    assert_eq!(
        (now["version"].as_i64(), now["name_vi"].as_str()),
        (Some(2), Some("Cấp giấy phép A (sửa đổi)"))
    );
    assert_eq!(now["fee_today"], 50000);

    // Broken entries: every rule is named, nothing is saved.
    let mut bad = p.clone();
    bad["deadline_days"] = json!(0);
    bad["form"][0]["source"]["field"] = json!("salary");
    let (s, body) = app
        .as_(admin)
        .put("/api/v1/procedures/1.009001", &bad)
        .await;
    assert_eq!((s, error_code(&body)), (422, "invalid_procedure"));
    assert!(
        body["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("deadline_days"),
        "{body}"
    );
    let (s, body) = app.as_(admin).put("/api/v1/procedures/1.009002", &p).await;
    assert_eq!((s, error_code(&body)), (422, "invalid_procedure_code"));

    // The construction department's administrator edits its own procedures only.
    let own = city.token("agency_admin");
    let mut p3 = p2.clone();
    p3["deadline_days"] = json!(12);
    assert_eq!(
        app.as_(own).put("/api/v1/procedures/1.009001", &p3).await.0,
        200
    );
    let health = procedure("1.009003", "Giấy phép y tế", Some("SO-Y-TE"));
    assert_eq!(
        app.as_(own)
            .put("/api/v1/procedures/1.009003", &health)
            .await
            .0,
        403
    );
    let commune = procedure("1.009004", "Thủ tục cấp xã", None);
    assert_eq!(
        app.as_(own)
            .put("/api/v1/procedures/1.009004", &commune)
            .await
            .0,
        403
    );
    // Nor hand one of its own to another agency.
    let mut moved = p3.clone();
    moved["agency_code"] = json!("SO-Y-TE");
    assert_eq!(
        app.as_(own)
            .put("/api/v1/procedures/1.009001", &moved)
            .await
            .0,
        403
    );
    assert_eq!(
        app.as_(city.token("officer"))
            .put("/api/v1/procedures/1.009001", &p3)
            .await
            .0,
        403
    );
    let e = sohoa_storage::audit::entries_for_object(app.server_db(), "procedure", "1.009001", 10)
        .await
        .unwrap();
    assert_eq!(e.len(), 3);
    assert_eq!(e[0].record.actor, "staff:quantri.xaydung");
}
