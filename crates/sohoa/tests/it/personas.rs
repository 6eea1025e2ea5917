//! A populated city for access-control tests: agencies at both levels, two citizens in two
//! wards, one staff account per role (signed in), an agency's API key and the bootstrap
//! token. Each persona knows who it is, so tests can ask the policy what to expect.

use serde_json::json;
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::policy::{Principal, Role, Staff};
use sohoa_domain::{CitizenId, UnitCode};

use crate::helpers::*;

/// Mai lives in Bến Thành (26743), Lan in Tân Định (26737).
pub const MAI: &str = "079185001234";
pub const LAN: &str = "079190005678";
pub const PASSWORD: &str = "mật khẩu đủ dài 2025";

pub struct Persona {
    pub name: &'static str,
    /// What goes after `Bearer `; `None` for the anonymous caller.
    pub token: Option<String>,
    pub principal: Principal,
}

pub struct City {
    pub personas: Vec<Persona>,
    /// A live grant of SO-XAY-DUNG.
    pub grant_id: i64,
}

impl City {
    pub fn get(&self, name: &str) -> &Persona {
        self.personas
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no persona {name}"))
    }
    pub fn token(&self, name: &str) -> &str {
        self.get(name)
            .token
            .as_deref()
            .expect("a signed-in persona")
    }
}

/// (persona, username, role, agency, unit)
type StaffRow = (
    &'static str,
    &'static str,
    Role,
    Option<&'static str>,
    Option<&'static str>,
);
const STAFF: &[StaffRow] = &[
    ("city_admin", "quantri", Role::CityAdmin, None, None),
    (
        "agency_admin",
        "quantri.xaydung",
        Role::AgencyAdmin,
        Some("SO-XAY-DUNG"),
        None,
    ),
    (
        "officer",
        "canbo.benthanh",
        Role::Officer,
        Some("UBND-26743"),
        Some("26743"),
    ),
    ("leader", "lanhdao.tp", Role::Leader, None, None),
    ("auditor", "kiemtoan", Role::Auditor, None, None),
    (
        "agency_auditor",
        "kiemtoan.yte",
        Role::Auditor,
        Some("SO-Y-TE"),
        None,
    ),
    (
        "digital_team",
        "totcs.benthanh",
        Role::DigitalTeam,
        None,
        Some("26743"),
    ),
    (
        "counter_ward",
        "motcua.benthanh",
        Role::CounterOfficer,
        Some("UBND-26743"),
        Some("26743"),
    ),
    (
        "counter_center",
        "motcua.tthcc",
        Role::CounterOfficer,
        Some("TT-HCC"),
        None,
    ),
];

pub async fn login(app: &TestApp, body: serde_json::Value) -> (u16, serde_json::Value) {
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

pub async fn populate(app: &TestApp) -> City {
    for (code, level, unit) in [
        ("SO-XAY-DUNG", "city", "79"),
        ("SO-Y-TE", "city", "79"),
        ("TT-HCC", "city", "79"),
        ("UBND-26743", "commune", "26743"),
        ("UBND-26737", "commune", "26737"),
    ] {
        let (s, body) = app
            .post_json("/api/v1/agencies", &agency(code, level, unit))
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    std::fs::write(
        &path,
        format!(
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit\n\
             {MAI},Nguyễn Thị Mai,1985-03-14,female,12 Lê Lợi,26743\n\
             {LAN},Trần Thị Lan,1990-07-01,female,5 Hai Bà Trưng,26737\n"
        ),
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", path.to_str().unwrap()]).await;
    let mut personas = vec![
        Persona {
            name: "anonymous",
            token: None,
            principal: Principal::Anonymous,
        },
        Persona {
            name: "bootstrap",
            token: Some(ADMIN_TOKEN.to_owned()),
            principal: Principal::Bootstrap,
        },
    ];
    for (name, id) in [("citizen", MAI), ("other_citizen", LAN)] {
        let (s, body) = app
            .post_json(
                "/api/v1/accounts/citizens",
                &json!({"citizen_id": id, "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let (s, body) = login(app, json!({"citizen_id": id, "password": PASSWORD})).await;
        assert_eq!(s, 200, "{body}");
        personas.push(Persona {
            name,
            token: Some(body["token"].as_str().unwrap().to_owned()),
            principal: Principal::Citizen(CitizenId::parse(id).unwrap()),
        });
    }
    for &(name, username, role, agency, unit) in STAFF {
        let (s, body) = app
            .post_json(
                "/api/v1/staff",
                &json!({
                    "username": username,
                    "display_name": format!("Cán bộ {username}"),
                    "role": role.as_str(),
                    "agency_code": agency,
                    "unit_code": if role == Role::DigitalTeam { unit } else { None },
                    "password": PASSWORD,
                }),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        assert_eq!(body["unit_code"].as_str(), unit, "{body}");
        let (s, body) = login(app, json!({"username": username, "password": PASSWORD})).await;
        assert_eq!(s, 200, "{body}");
        personas.push(Persona {
            name,
            token: Some(body["token"].as_str().unwrap().to_owned()),
            principal: Principal::Staff(Staff {
                username: username.to_owned(),
                role,
                agency: agency.map(|a| AgencyCode::parse(a).unwrap()),
                unit: unit.map(|u| UnitCode::parse(u).unwrap()),
            }),
        });
    }
    let (s, key) = app
        .post_json("/api/v1/agencies/SO-XAY-DUNG/keys", &json!({}))
        .await;
    assert_eq!(s, 201, "{key}");
    personas.push(Persona {
        name: "agency_system",
        token: Some(key["api_key"].as_str().unwrap().to_owned()),
        principal: Principal::AgencySystem {
            agency: AgencyCode::parse("SO-XAY-DUNG").unwrap(),
            officer: None,
        },
    });
    // An enterprise of the registry, reading through a key of its own. Its tax code and
    // representative are none that other tests give a meaning to.
    let path = dir.path().join("e.csv");
    std::fs::write(
        &path,
        format!(
            "tax_code,name,legal_form,street,unit,registered_on,status,legal_representative\n\
             0300000032,Công ty Lan Anh,joint_stock,1 Nguyễn Huệ,26737,2010-05-20,active,{LAN}\n"
        ),
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "enterprises", path.to_str().unwrap()]).await;
    let (s, key) = app
        .post_json("/api/v1/enterprise-consumers/0300000032/keys", &json!({}))
        .await;
    assert_eq!(s, 201, "{key}");
    personas.push(Persona {
        name: "enterprise_system",
        token: Some(key["api_key"].as_str().unwrap().to_owned()),
        principal: Principal::EnterpriseSystem(sohoa_domain::TaxCode::parse("0300000032").unwrap()),
    });
    let grant = json!({"registry": "citizens", "purpose": "building-permit", "fields": ["full_name"], "legal_basis": "Luật Xây dựng"});
    let (s, body) = app
        .post_json("/api/v1/agencies/SO-XAY-DUNG/grants", &grant)
        .await;
    assert_eq!(s, 201, "{body}");
    City {
        personas,
        grant_id: body["grant_id"].as_i64().unwrap(),
    }
}
