//! `sohoa generate` and `sohoa import`: every rejected row named, nothing half-written.

use std::path::Path;

use crate::helpers::*;

const HEADER: &str = "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,temporary_street,temporary_unit,household_id,phone,email\n";

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_owned()
}

async fn count_citizens(db: &TestDb) -> i64 {
    let d = sohoa::open(&db.store()).await.unwrap();
    let n = sohoa_storage::registry::citizens::count(&d).await.unwrap();
    d.close().await;
    n
}

#[tokio::test]
async fn generated_data_is_deterministic_and_imports_cleanly_and_idempotently() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let args = [
            "generate",
            "--citizens",
            "3000",
            "--enterprises",
            "300",
            "--parcels",
            "600",
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
        ];
        let (code, cli_out, err) = run_cli(&db, &args).await;
        assert_eq!(
            code, 0,
            "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
        );
    }
    for f in ["citizens.csv", "enterprises.csv", "parcels.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    for (registry, file, n) in [
        ("citizens", "citizens.csv", 3000),
        ("enterprises", "enterprises.csv", 300),
        ("parcels", "parcels.csv", 600),
    ] {
        let path = a.join(file);
        let (code, out, err) = run_cli(&db, &["import", registry, path.to_str().unwrap()]).await;
        assert_eq!(
            code, 0,
            "{registry}: exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"
        );
        assert!(
            out.contains(&format!(
                "{n} rows read: {n} inserted, 0 updated, 0 unchanged, 0 rejected"
            )),
            "{out}"
        );
        let (code, out, cli_err) =
            run_cli(&db, &["import", registry, path.to_str().unwrap()]).await;
        assert_eq!(
            code, 0,
            "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
        );
        assert!(
            out.contains(&format!("0 inserted, 0 updated, {n} unchanged")),
            "re-import changed something: {out}"
        );
    }
    // One audit entry per import that changed something, and the chain is intact.
    let (code, out, cli_err) = run_cli(&db, &["audit", "verify"]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(out.contains("intact: 4 entries"), "{out}");
    // Names carry Vietnamese diacritics, in realistic proportions.
    let text = std::fs::read_to_string(a.join("citizens.csv")).unwrap();
    let nguyen = text
        .lines()
        .filter(|l| {
            l.split(',')
                .nth(1)
                .is_some_and(|n| n.starts_with("Nguyễn "))
        })
        .count();
    assert!((600..1700).contains(&nguyen), "{nguyen} of 3000 are Nguyễn");
}

#[tokio::test]
async fn every_bad_row_is_reported_with_its_line_and_field_and_good_rows_load() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = HEADER.as_bytes().to_vec();
    let rows: &[&[u8]] = &[
        b"079185001234,Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Mai,1985-03-14,female,12 L\xc3\xaa L\xe1\xbb\xa3i,26743,,,HH1,0912345678,\n", // 2 ok
        b"07918500123,Tran Van B,1985-03-14,female,1 A,26743,,,,,\n",            // 3 malformed CCCD
        b"079085001235,Le Van C,1985-01-01,male,1 A,99999,,,,,\n",               // 4 unknown unit
        b"079225001236,Pham Van D,2025-01-01,male,1 A,26743,,,,,\n",             // 5 CCCD says 2025 male: ok
        b"079230001237,Pham Thi E,2030-01-01,male,1 A,26743,,,,,\n",             // 6 future birth date
        b"079185001234,Nguyen Thi Mai,1985-03-14,female,12 Le Loi,26743,,,,,\n", // 7 duplicate of line 2
        b"079085001238,Vo Van G,1986-01-01,male,1 A,26743,,,,,\n",               // 8 CCCD says 1985
        b"079085001239,Do Van H,1985-01-01,male,1 A,26743,,,,,,extra\n",         // 9 extra field
        b"079085001240,Ho Van \xff\xfe,1985-01-01,male,1 A,26743,,,,,\n",        // 10 invalid UTF-8
        b"079085001241,Ngo Van K,1985-01-01,male,1 A",                          // 11 truncated
    ];
    for r in rows {
        csv.extend_from_slice(r);
    }
    let path = write(dir.path(), "bad.csv", &csv);
    let (code, out, err) = run_cli(&db, &["import", "citizens", &path]).await;
    assert_eq!(code, 3, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
    for (line, field, code) in [
        (3, "citizen_id", "invalid_citizen_id"),
        (4, "permanent_unit", "unknown_unit"),
        (6, "date_of_birth", "future_date"),
        (7, "citizen_id", "duplicate"),
        (8, "citizen_id", "citizen_id_mismatch"),
        (9, "row", "wrong_field_count"),
        (10, "full_name", "invalid_utf8"),
        (11, "row", "wrong_field_count"),
    ] {
        let expected = format!("rejected line {line}: {field}: ");
        let hit = out.lines().find(|l| l.starts_with(&expected));
        assert!(
            hit.is_some_and(|l| l.ends_with(&format!("({code})"))),
            "line {line} not reported as {field}/{code}:\n{out}"
        );
    }
    assert!(out.contains("same record is on line 2"));
    assert!(
        out.contains("10 rows read: 2 inserted, 0 updated, 0 unchanged, 8 rejected"),
        "{out}"
    );
    assert_eq!(count_citizens(&db).await, 2);

    // All or nothing: the same file loads nothing into a fresh database.
    let fresh = TestDb::new().await;
    let (code, out, cli_err) =
        run_cli(&fresh, &["import", "citizens", &path, "--all-or-nothing"]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(out.contains("nothing was loaded"), "{out}");
    assert_eq!(count_citizens(&fresh).await, 0);
}

#[tokio::test]
async fn a_changed_record_gets_a_new_version_and_keeps_its_history() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let row = "079185001234,Nguyễn Thị Mai,1985-03-14,nữ,12 Lê Lợi,26743,,,HH1,0912345678,\n";
    let v1 = write(dir.path(), "v1.csv", format!("{HEADER}{row}").as_bytes());
    let v2 = write(
        dir.path(),
        "v2.csv",
        format!("{HEADER}{}", row.replace("0912345678", "0987654321")).as_bytes(),
    );
    run_cli_ok(&db, &["import", "citizens", &v1]).await;
    let (code, out, cli_err) = run_cli(&db, &["import", "citizens", &v2]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(out.contains("0 inserted, 1 updated, 0 unchanged"), "{out}");
    let d = sohoa::open(&db.store()).await.unwrap();
    let id = sohoa_domain::CitizenId::parse("079185001234").unwrap();
    let now = sohoa_storage::registry::citizens::get(&d, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (now.version, now.citizen.phone.as_deref()),
        (2, Some("0987654321"))
    );
    let history = sohoa_storage::registry::history(&d, "citizen", "079185001234")
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].version, 1);
    assert!(
        history[0].data.contains("0912345678"),
        "{}",
        history[0].data
    );
    assert!(history[0].source.starts_with("import:v1.csv"));
    // Nobody deletes a record, not even by accident.
    let pool = db.raw().await;
    assert!(sqlx::query("DELETE FROM citizens")
        .execute(&pool)
        .await
        .is_err());
    pool.close().await;
    d.close().await;
}

#[tokio::test]
async fn files_that_are_not_registry_files_stop_with_a_clear_message() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = write(
        dir.path(),
        "extra.csv",
        b"citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,shoe_size\n",
    );
    let (code, cli_out, err) = run_cli(&db, &["import", "citizens", &extra]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(err.contains("Unknown columns: shoe_size"), "{err}");
    let missing = write(
        dir.path(),
        "missing.csv",
        b"citizen_id,full_name\n079185001234,A B\n",
    );
    let (code, cli_out, err) = run_cli(&db, &["import", "citizens", &missing]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(
        err.contains("Missing columns: date_of_birth, sex, permanent_street, permanent_unit"),
        "{err}"
    );
    // A file with no line breaks (a binary, a runaway export) stops before filling memory.
    let mut huge = HEADER.as_bytes().to_vec();
    huge.extend(std::iter::repeat_n(b'x', 3 << 20));
    let huge = write(dir.path(), "huge.csv", &huge);
    let (code, cli_out, err) = run_cli(&db, &["import", "citizens", &huge]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(err.contains("longer than 1024 KiB"), "{err}");
    let (code, cli_out, err) = run_cli(&db, &["import", "citizens", "/nonexistent/file.csv"]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(err.contains("cannot read /nonexistent/file.csv"), "{err}");
    assert_eq!(count_citizens(&db).await, 0);
}

#[tokio::test]
async fn ndjson_imports_and_other_registries_check_their_rules() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let nd = write(
        dir.path(),
        "c.ndjson",
        "{\"citizen_id\":\"079185001234\",\"full_name\":\"Nguyễn Thị Mai\",\"date_of_birth\":\"1985-03-14\",\"sex\":\"female\",\"permanent_street\":\"12 Lê Lợi\",\"permanent_unit\":26743}\n\
         \n\
         {\"citizen_id\":\"079085001235\",\"full_name\":\"Lê Văn C\",\"shoe\":42}\n\
         not json\n"
            .as_bytes(),
    );
    let (code, out, cli_err) = run_cli(&db, &["import", "citizens", &nd]).await;
    assert_eq!(
        code, 3,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(
        out.contains("rejected line 3: row: unknown field \"shoe\""),
        "{out}"
    );
    assert!(
        out.contains("rejected line 4: row: not a JSON object"),
        "{out}"
    );
    assert!(out.contains("3 rows read: 1 inserted"), "{out}");

    let ent = write(
        dir.path(),
        "e.csv",
        "tax_code,name,legal_form,street,unit,registered_on,status,legal_representative\n\
         0100109106,Công ty A,joint_stock,1 Nguyễn Huệ,26740,2010-05-20,active,079185001234\n\
         0100109107,Công ty B,joint_stock,1 Nguyễn Huệ,26740,2010-05-20,active,079185001234\n"
            .as_bytes(),
    );
    let (code, out, cli_err) = run_cli(&db, &["import", "enterprises", &ent]).await;
    assert_eq!(
        code, 3,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(
        out.contains(
            "rejected line 3: tax_code: the check digit does not match (invalid_tax_code)"
        ),
        "{out}"
    );

    let par = write(
        dir.path(),
        "p.csv",
        "unit,map_sheet,parcel_number,area_m2,land_use,owners,geometry\n\
         26743,12,345,85.5,ODT,079185001234:100,\n\
         26743,12,346,85.5,ODT,079185001234:60;0100109106:30,\n"
            .as_bytes(),
    );
    let (code, out, cli_err) = run_cli(&db, &["import", "parcels", &par]).await;
    assert_eq!(
        code, 3,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(
        out.contains("rejected line 3: owners: shares add up to 90.00%"),
        "{out}"
    );
    let d = sohoa::open(&db.store()).await.unwrap();
    assert_eq!(
        sohoa_storage::registry::parcels::owned_by(&d, "079185001234")
            .await
            .unwrap(),
        vec!["26743-12-345"]
    );
    d.close().await;
}
