//! What a move derives is what is stored. A draft submitted later is charged, checked and
//! routed exactly as a direct submission would be that day; and after any sequence of
//! legal moves the stored application equals what its own history computes afresh (fee,
//! deadline, decision time, overdue), with the monitoring counters agreeing with a recount.

use serde_json::{json, Value};
use sohoa_domain::services::calendar::Calendar;
use sohoa_domain::services::workflow::{Mover, Status};

use crate::applications::{apply, move_to};
use crate::helpers::*;
use crate::personas::*;

/// (code, fee, waivers): one paid, one whose fee a waiver in force covers, one whose
/// waiver ended, one free.
const KINDS: [(&str, Option<i64>, &str); 4] = [
    ("T-PAID", Some(2000), "[]"),
    (
        "T-WAIVED",
        Some(8000),
        r#"[{"from": "2025-01-01", "until": "2099-12-31", "basis": "Nghị quyết miễn lệ phí"}]"#,
    ),
    (
        "T-LAPSED",
        Some(5000),
        r#"[{"from": "2024-01-01", "until": "2024-12-31", "basis": "Đã hết hiệu lực"}]"#,
    ),
    ("T-FREE", None, "[]"),
];

fn procedure(code: &str, fee: Option<i64>, waivers: &str, deadline_days: u32) -> Value {
    json!({
        "code": code, "name_vi": format!("Thủ tục {code}"), "name_en": format!("Procedure {code}"),
        "level": "commune", "agency_code": null, "deadline_days": deadline_days, "fee": fee,
        "waivers": serde_json::from_str::<Value>(waivers).unwrap(), "documents": [],
        "form": [
            {"key": "declarant", "label_vi": "Người khai", "label_en": "Declarant",
             "kind": {"type": "text", "max_len": 100}, "required": true,
             "source": {"registry": "citizens", "field": "full_name"}},
            {"key": "address", "label_vi": "Nơi thường trú", "label_en": "Permanent residence",
             "kind": {"type": "text", "max_len": 300}, "required": true,
             "source": {"registry": "citizens", "field": "permanent_address"}},
            {"key": "purpose", "label_vi": "Mục đích", "label_en": "Purpose",
             "kind": {"type": "text", "max_len": 100}, "required": true, "source": null}
        ]
    })
}

async fn put_procedure(app: &TestApp, body: &Value) {
    let code = body["code"].as_str().unwrap();
    let res = app
        .client
        .put(app.url(&format!("/api/v1/procedures/{code}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
}

async fn kinds(app: &TestApp) {
    for (code, fee, waivers) in KINDS {
        put_procedure(app, &procedure(code, fee, waivers, 5)).await;
    }
}

async fn pay_at_counter(app: &TestApp, officer: &str, number: &str, receipt: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/applications/{number}/counter-payments")))
        .bearer_auth(officer)
        .json(&json!({ "receipt": receipt }))
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap())
}

const FEE_FIELDS: [&str; 3] = ["fee", "fee_payable", "waiver_basis"];

#[tokio::test]
async fn a_draft_submitted_later_owes_what_a_direct_submission_owes() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    kinds(&app).await;
    let (mai, officer) = (city.token("citizen"), city.token("officer"));
    for (i, (code, fee, _)) in KINDS.into_iter().enumerate() {
        let answers = json!({"purpose": "Nộp cho ngân hàng"});
        let (s, direct) = apply(
            &app,
            mai,
            &format!("direct-{i}"),
            &json!({"procedure_code": code, "answers": answers}),
        )
        .await;
        assert_eq!(s, 201, "{direct}");
        let (s, draft) = apply(
            &app,
            mai,
            &format!("draft-{i}"),
            &json!({"procedure_code": code, "submit": false, "answers": answers}),
        )
        .await;
        assert_eq!(s, 201, "{draft}");
        assert!(draft["fee"].is_null(), "{draft}");
        let number = draft["number"].as_str().unwrap();
        let (s, moved) = move_to(&app, mai, number, json!({"to": "submitted"})).await;
        assert_eq!(s, 200, "{moved}");
        let (_, stored) = app
            .as_(mai)
            .get(&format!("/api/v1/applications/{number}"))
            .await;
        for f in FEE_FIELDS {
            assert_eq!(stored[f], direct[f], "{code} {f}: {stored}");
            assert_eq!(moved[f], direct[f], "{code} {f}: {moved}");
        }
        assert_eq!(stored["fee"].as_i64(), fee, "{code}");
        assert!(stored["submitted_at"].is_string(), "{stored}");
        // The officer can receive it only once what is payable is paid, as for the direct one.
        let payable = stored["fee_payable"].as_i64().unwrap_or(0);
        for n in [number, direct["number"].as_str().unwrap()] {
            let (s, b) = move_to(&app, officer, n, json!({"to": "received"})).await;
            if payable > 0 {
                assert_eq!((s, error_code(&b)), (409, "fee_unpaid"), "{code}: {b}");
                let (s, p) = pay_at_counter(&app, officer, n, &format!("BL-{n}")).await;
                assert_eq!(s, 201, "{p}");
                let (s, b) = move_to(&app, officer, n, json!({"to": "received"})).await;
                assert_eq!(s, 200, "{code}: {b}");
            } else {
                assert_eq!(s, 200, "{code}: {b}");
            }
        }
    }
    assert_eq!(KINDS.len(), 4);
}

/// A draft kept for weeks is submitted under the catalog and the registry of the day it is
/// submitted: the fee of the version in force, the address the registry holds now, and the
/// commune (so the deciding People's Committee) of that address.
#[tokio::test]
async fn a_draft_is_submitted_under_todays_catalog_and_registry() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    kinds(&app).await;
    let mai = city.token("citizen");
    let (s, draft) = apply(
        &app,
        mai,
        "old-draft",
        &json!({"procedure_code": "T-FREE", "submit": false, "answers": {"purpose": "Vay vốn"}}),
    )
    .await;
    assert_eq!(s, 201, "{draft}");
    assert_eq!(draft["agency_code"], "UBND-26743");
    let number = draft["number"].as_str().unwrap();
    let version = draft["procedure_version"].as_i64().unwrap();
    // Since the draft: a fee was introduced, and Mai moved to Tân Định.
    put_procedure(&app, &procedure("T-FREE", Some(3000), "[]", 5)).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("moved.csv");
    std::fs::write(
        &csv,
        format!(
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit\n\
             {MAI},Nguyễn Thị Mai,1985-03-14,female,5 Hai Bà Trưng,26737\n"
        ),
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", csv.to_str().unwrap()]).await;

    let (s, moved) = move_to(&app, mai, number, json!({"to": "submitted"})).await;
    assert_eq!(s, 200, "{moved}");
    let (_, stored) = app
        .as_(mai)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    assert_eq!(
        stored["procedure_version"].as_i64(),
        Some(version + 1),
        "{stored}"
    );
    assert_eq!(
        (stored["fee"].as_i64(), stored["fee_payable"].as_i64()),
        (Some(3000), Some(3000))
    );
    assert_eq!(stored["unit_code"], "26737", "{stored}");
    assert_eq!(stored["agency_code"], "UBND-26737", "{stored}");
    let address = stored["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "address")
        .unwrap();
    assert!(
        address["value"].to_string().contains("Hai Bà Trưng"),
        "the registry's address of today: {address}"
    );
    let typed = stored["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "purpose")
        .unwrap();
    assert_eq!(typed["value"], "Vay vốn", "the typed answer is kept");
    // Tân Định's officers have it now; Bến Thành's do not.
    let (s, _) = app
        .as_(city.token("officer"))
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    assert_eq!(s, 404);
    assert!(run_cli_ok(&app.db, &["audit", "verify"])
        .await
        .contains("intact"));
    // The monitoring counters moved with it, from one commune to the other.
    let (code, out, err) = run_cli(&app.db, &["monitoring"]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
}

/// A tiny deterministic generator: the seed is printed on failure, and
/// `SOHOA_MOVES_SEED` replays it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn vietnam_day(at: &str) -> time::Date {
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{at}: {e}"));
    t.to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        .date()
}

fn day_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// What an application's history says it must hold, computed afresh from its events and
/// the procedure it was filed under (the test's own definitions).
fn expected(app: &Value, cal: &Calendar, today: time::Date) -> Value {
    let code = app["procedure_code"].as_str().unwrap();
    let &(_, fee, _) = KINDS.iter().find(|k| k.0 == code).unwrap();
    let events = app["events"].as_array().unwrap();
    let mut submitted_on = None;
    let (mut received, mut due, mut paused) = (None, None, None);
    let mut decided_at = Value::Null;
    for e in events {
        let day = vietnam_day(e["at"].as_str().unwrap());
        match e["to_status"].as_str().unwrap() {
            "submitted" => submitted_on = Some(day),
            "received" => {
                received = Some(day);
                due = Some(cal.add_working_days(day, 5));
            }
            "supplement_requested" => paused = paused.or(Some(day)),
            "resubmitted" => {
                if let (Some(since), Some(d)) = (paused.take(), due) {
                    due = Some(cal.add_working_days(d, cal.working_days_between(since, day)));
                }
            }
            "approved" | "rejected" => decided_at = e["at"].clone(),
            _ => {}
        }
    }
    let (fee, payable, basis) = match (submitted_on, fee, code) {
        (None, _, _) | (_, None, _) => (Value::Null, Value::Null, Value::Null),
        (Some(_), Some(f), "T-WAIVED") => (json!(f), json!(0), json!("Nghị quyết miễn lệ phí")),
        (Some(_), Some(f), _) => (json!(f), json!(f), Value::Null),
    };
    let status = Status::parse(app["status"].as_str().unwrap()).unwrap();
    let overdue = status.clock_runs() && paused.is_none() && due.is_some_and(|d| today > d);
    json!({
        "fee": fee, "fee_payable": payable, "waiver_basis": basis,
        "received_on": received.map(day_text), "due_on": due.map(day_text),
        "paused_on": paused.map(day_text), "decided_at": decided_at, "overdue": overdue,
    })
}

/// Random sequences of legal (and some illegal) moves over HTTP, by the applicant and the
/// ward's officer, on applications of every kind, filed directly or as drafts. After each
/// move: the stored application equals its history's computation, and `sohoa monitoring`
/// finds the counters equal to a recount.
#[tokio::test]
async fn after_any_sequence_of_moves_the_stored_application_is_what_its_history_computes() {
    let seed = std::env::var("SOHOA_MOVES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut rng = Rng(seed);
    let app = spawn_app().await;
    let city = populate(&app).await;
    kinds(&app).await;
    let (mai, officer) = (city.token("citizen"), city.token("officer"));
    let cal = Calendar::shipped().unwrap();
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        .date();
    let mut numbers = Vec::new();
    for i in 0..4 {
        let (code, _, _) = KINDS[rng.below(KINDS.len())];
        let submit = rng.below(2) == 0;
        let (s, b) = apply(
            &app,
            mai,
            &format!("p-{i}"),
            &json!({"procedure_code": code, "submit": submit, "answers": {"purpose": "Kiểm tra"}}),
        )
        .await;
        assert_eq!(s, 201, "seed {seed}: {b}");
        numbers.push(b["number"].as_str().unwrap().to_owned());
    }
    for step in 0..28 {
        let number = &numbers[rng.below(numbers.len())];
        let path = format!("/api/v1/applications/{number}");
        let (_, before) = app.as_(mai).get(&path).await;
        let from = Status::parse(before["status"].as_str().unwrap()).unwrap();
        let to = Status::ALL[rng.below(Status::ALL.len())];
        let ctx = format!("seed {seed} step {step}: {number} {from:?} → {to:?}");
        let mover = from.mover_to(to);
        let token = match mover {
            Ok(Mover::Applicant) | Err(_) => mai,
            Ok(Mover::Officer) => officer,
        };
        let unpaid =
            before["fee_payable"].as_i64().unwrap_or(0) > 0 && before["fee_paid_at"].is_null();
        if to == Status::Received && mover.is_ok() && unpaid {
            let (s, b) = move_to(&app, token, number, json!({"to": "received"})).await;
            assert_eq!((s, error_code(&b)), (409, "fee_unpaid"), "{ctx}");
            let (s, b) = pay_at_counter(&app, officer, number, &format!("R-{step}")).await;
            assert_eq!(s, 201, "{ctx}: {b}");
        }
        let (s, b) = move_to(
            &app,
            token,
            number,
            json!({"to": to.as_str(), "comment": "Lý do kiểm tra"}),
        )
        .await;
        let (_, after) = app.as_(mai).get(&path).await;
        match mover {
            Ok(_) => assert_eq!(s, 200, "{ctx}: {b}"),
            Err(_) => {
                assert_eq!((s, error_code(&b)), (409, "illegal_transition"), "{ctx}");
                assert_eq!(
                    after["revision"], before["revision"],
                    "{ctx}: nothing changed"
                );
            }
        }
        let want = expected(&after, &cal, today);
        for (field, value) in want.as_object().unwrap() {
            assert_eq!(&after[field], value, "{ctx}: {field} in {after}");
        }
        let (code, out, err) = run_cli(&app.db, &["monitoring"]).await;
        assert_eq!(
            code, 0,
            "{ctx}: sohoa monitoring disagrees, exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"
        );
    }
}
