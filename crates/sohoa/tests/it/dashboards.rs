//! Leaders' dashboards end to end: live procedure monitoring after a random workload agrees
//! with a recount written here from the stored applications (independently of the
//! server's own counting), `sohoa monitoring` finds and repairs a damaged counter, and the
//! drill-down reaches the overdue applications themselves.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::applications::{apply, catalog, move_to};
use crate::helpers::*;
use crate::personas::*;

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// xorshift: a reproducible workload without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn vietnam_date(at: &str) -> time::Date {
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        .date()
}

fn ymd(s: &str) -> time::Date {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
}

/// One group's figures as the recount makes them.
#[derive(Debug, Default, Clone)]
struct Expected {
    received: i64,
    in_progress: i64,
    overdue: i64,
    on_time: i64,
    late: i64,
    days: Vec<i64>,
}

/// agency, unit, procedure, status, received_on, due_on, paused_on, decided_at,
/// submitted_at, created_at
type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

/// The figures, recounted from the rows of `applications`, grouped by `by` (months
/// `from..=to`).
async fn recount(
    app: &TestApp,
    by: &str,
    (from, to): (&str, &str),
    today: &str,
) -> BTreeMap<String, Expected> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT agency_code, unit_code, procedure_code, status, received_on, due_on, paused_on, \
             decided_at, submitted_at, created_at FROM applications WHERE status <> 'draft'",
    )
    .fetch_all(&app.db.raw().await)
    .await
    .unwrap();
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for (agency, unit, procedure, status, received, due, paused, decided, submitted, created) in
        rows
    {
        let key = |month: Option<String>| match by {
            "city" => "city".to_owned(),
            "agency" => agency.clone(),
            "unit" => unit.clone(),
            "procedure" => procedure.clone(),
            _ => month.unwrap(),
        };
        if let Some(r) = &received {
            let month = r[..7].to_owned();
            if (from..=to).contains(&month.as_str()) {
                out.entry(key(Some(month))).or_default().received += 1;
            }
        }
        if let Some(d) = &decided {
            let day = vietnam_date(d);
            let month = day.to_string()[..7].to_owned();
            if (from..=to).contains(&month.as_str()) {
                let on_time = due.as_deref().is_none_or(|due| day <= ymd(due));
                let start = match &received {
                    Some(r) => ymd(r),
                    None => vietnam_date(submitted.as_deref().unwrap_or(&created)),
                };
                let e = out.entry(key(Some(month))).or_default();
                if on_time {
                    e.on_time += 1;
                } else {
                    e.late += 1;
                }
                e.days.push((day - start).whole_days().max(0));
            }
        }
        let open = [
            "submitted",
            "received",
            "in_review",
            "supplement_requested",
            "resubmitted",
        ]
        .contains(&status.as_str())
            && decided.is_none();
        if open && by != "month" {
            let e = out.entry(key(None)).or_default();
            e.in_progress += 1;
            let running = ["received", "in_review", "resubmitted"].contains(&status.as_str())
                && paused.is_none();
            if running && due.as_deref().is_some_and(|d| d < today) {
                e.overdue += 1;
            }
        }
    }
    out
}

fn median(days: &[i64]) -> Option<f64> {
    let mut d = days.to_vec();
    d.sort_unstable();
    let n = d.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(d[n / 2] as f64),
        _ => Some((d[n / 2 - 1] + d[n / 2]) as f64 / 2.0),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[tokio::test]
async fn monitoring_matches_a_recount_after_a_random_workload() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    // A second commune's officer, for Lan's applications.
    let (s, b) = app
        .post_json(
            "/api/v1/staff",
            &json!({"username": "canbo.tandinh", "display_name": "Cán bộ Tân Định",
                "role": "officer", "agency_code": "UBND-26737", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = login(
        &app,
        json!({"username": "canbo.tandinh", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let officer2 = b["token"].as_str().unwrap().to_owned();
    let officer = city.token("officer").to_owned();
    let leader = city.token("leader").to_owned();

    // History: months of a busy commune, some of it overdue and decided late, written
    // through the same storage path as submissions.
    let (code, out, err) = run_cli(
        &app.db,
        &[
            "bench",
            "seed-applications",
            "--count",
            "300",
            "--agency",
            "UBND-26743",
            "--procedure",
            "T-CUTRU",
            "--seed",
            "7",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");

    // Today's work: both citizens apply; officers and applicants move applications at
    // random, legal moves and illegal ones alike.
    let mut numbers: Vec<(String, String)> = Vec::new(); // (number, officer token)
    for i in 0..24 {
        let (who, off) = if i % 3 == 0 {
            (city.token("other_citizen"), &officer2)
        } else {
            (city.token("citizen"), &officer)
        };
        let (s, a) = apply(
            &app,
            who,
            &format!("k-mon-{i}"),
            &json!({"procedure_code": "T-KHAISINH",
                "answers": {"child_name": "Trần Minh An", "born_on": "2026-11-20"}}),
        )
        .await;
        assert_eq!(s, 201, "{a}");
        numbers.push((a["number"].as_str().unwrap().to_owned(), off.clone()));
    }
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/applications?limit=200&after={a}"),
            None => "/api/v1/applications?limit=200".to_owned(),
        };
        let (s, page) = get(&app, &officer, &path).await;
        assert_eq!(s, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            let n = item["number"].as_str().unwrap().to_owned();
            if item["procedure_code"] == "T-CUTRU" {
                numbers.push((n, officer.clone()));
            }
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert!(numbers.len() >= 320, "{}", numbers.len());
    let mut rng = Rng(0x5eed_2026);
    let officer_moves = [
        "received",
        "in_review",
        "supplement_requested",
        "approved",
        "rejected",
        "result_issued",
    ];
    let mut moved = 0;
    for _ in 0..400 {
        let (number, off) = rng.pick(&numbers).clone();
        let by_applicant = rng.next().is_multiple_of(5);
        let (s, _) = if by_applicant {
            // Only today's applicants have sessions here; a seeded one answers 403/404.
            let to = *rng.pick(&["resubmitted", "withdrawn"]);
            let who = if off == officer2 {
                city.token("other_citizen")
            } else {
                city.token("citizen")
            };
            move_to(&app, who, &number, json!({"to": to, "comment": "Lý do"})).await
        } else {
            let to = *rng.pick(&officer_moves);
            move_to(&app, &off, &number, json!({"to": to, "comment": "Ghi chú"})).await
        };
        assert!(s < 500, "{s}");
        if s == 200 {
            moved += 1;
        }
    }
    assert!(moved >= 80, "only {moved} moves succeeded");

    // Every grouping agrees with the recount.
    let (s, m) = get(&app, &leader, "/api/v1/monitoring").await;
    assert_eq!(s, 200, "{m}");
    let today = m["today"].as_str().unwrap().to_owned();
    let to = &today[..7];
    let from = {
        let d = ymd(&today);
        let back = d.replace_day(1).unwrap() - time::Duration::days(150);
        back.to_string()[..7].to_owned()
    };
    let mut overdue_in_26743 = 0;
    for by in ["city", "agency", "unit", "procedure", "month"] {
        let (s, m) = get(
            &app,
            &leader,
            &format!("/api/v1/monitoring?by={by}&from={from}&to={to}"),
        )
        .await;
        assert_eq!(s, 200, "{m}");
        assert!(m["as_of"].as_str().is_some());
        let expected = recount(&app, by, (&from, to), &today).await;
        let rows = m["rows"].as_array().unwrap();
        let got: BTreeMap<String, &Value> = rows
            .iter()
            .map(|r| (r["key"].as_str().unwrap().to_owned(), r))
            .collect();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{by}"
        );
        for (key, e) in &expected {
            let r = got[key];
            let ctx = format!("{by} {key}: {r}");
            assert_eq!(r["received"].as_i64(), Some(e.received), "{ctx}");
            assert_eq!(r["decided_on_time"].as_i64(), Some(e.on_time), "{ctx}");
            assert_eq!(r["decided_late"].as_i64(), Some(e.late), "{ctx}");
            assert_eq!(r["decided"].as_i64(), Some(e.on_time + e.late), "{ctx}");
            assert_eq!(
                r["median_days"].as_f64(),
                median(&e.days).map(round2),
                "{ctx}"
            );
            let mean = (!e.days.is_empty())
                .then(|| round2(e.days.iter().sum::<i64>() as f64 / e.days.len() as f64));
            assert_eq!(r["mean_days"].as_f64(), mean, "{ctx}");
            if by == "month" {
                assert!(
                    r["in_progress"].is_null() && r["overdue"].is_null(),
                    "{ctx}"
                );
            } else {
                assert_eq!(r["in_progress"].as_i64(), Some(e.in_progress), "{ctx}");
                assert_eq!(r["overdue"].as_i64(), Some(e.overdue), "{ctx}");
            }
            if by == "unit" && key == "26743" {
                overdue_in_26743 = e.overdue;
            }
        }
        if by == "city" {
            let e = &expected["city"];
            assert!(e.late > 0 && e.on_time > 0 && e.overdue > 0, "{e:?}");
        }
    }

    // A narrower scope: one commune, one procedure.
    let (s, m) = get(
        &app,
        &leader,
        &format!("/api/v1/monitoring?by=procedure&unit=26737&from={from}"),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    let rows = m["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{m}");
    assert_eq!(rows[0]["key"], "T-KHAISINH");

    // Drill-down: the commune's overdue applications are listed, as many as counted.
    let mut listed = 0;
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/applications?overdue=true&unit=26743&limit=100&after={a}"),
            None => "/api/v1/applications?overdue=true&unit=26743&limit=100".to_owned(),
        };
        let (s, page) = get(&app, &leader, &path).await;
        assert_eq!(s, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["unit_code"], "26743");
            assert!(item["due_on"].as_str().unwrap() < today.as_str(), "{item}");
            listed += 1;
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert!(overdue_in_26743 > 0);
    assert_eq!(listed, overdue_in_26743);
    // An officer bound to a commune cannot look into another.
    let (s, _) = get(
        &app,
        &officer,
        "/api/v1/applications?overdue=true&unit=26737",
    )
    .await;
    assert_eq!(s, 403);

    // The same table as CSV, for a spreadsheet.
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/monitoring?by=unit&from={from}&format=csv"
        )))
        .bearer_auth(&leader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("\u{feff}key,received,in_progress,overdue"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines.iter().any(|l| l.starts_with("26743,")), "{csv}");

    // Who may look, and what is refused.
    for (token, status) in [
        (city.token("officer"), 403),
        (city.token("citizen"), 403),
        (city.token("city_admin"), 403),
    ] {
        let (s, _) = get(&app, token, "/api/v1/monitoring").await;
        assert_eq!(s, status);
    }
    for bad in [
        "by=district",
        "from=2026-13",
        "from=2026-11&to=2026-01",
        "unit=abc",
        "format=xlsx",
    ] {
        let (s, b) = get(&app, &leader, &format!("/api/v1/monitoring?{bad}")).await;
        assert_eq!(s, 400, "{bad}: {b}");
    }

    // The counters agree with the server's own recount; a damaged one is found and repaired.
    let (code, out, err) = run_cli(&app.db, &["monitoring"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("agree"), "{out}");
    for damage in [
        "UPDATE monitor_flows SET received = received + 1 WHERE unit_code = '26743'",
        "DELETE FROM monitor_open WHERE unit_code = '26737'",
    ] {
        let done = sqlx::query(damage)
            .execute(&app.db.raw().await)
            .await
            .unwrap();
        assert!(done.rows_affected() > 0, "{damage}");
    }
    let (code, out, _) = run_cli(&app.db, &["monitoring"]);
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = run_cli(&app.db, &["monitoring", "--repair"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("replaced"), "{out}");
    let (code, out, _) = run_cli(&app.db, &["monitoring"]);
    assert_eq!(code, 0, "{out}");
}
