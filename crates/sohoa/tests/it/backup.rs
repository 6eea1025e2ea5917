//! `sohoa backup` while the server takes writes, and `sohoa restore` into a fresh database:
//! the copy verifies, ends where the snapshot did, and holds the same records.

use serde_json::json;

use crate::helpers::*;
use crate::personas::*;

async fn rows(db: &TestDb, sql: &str) -> Vec<String> {
    let pool = db.raw().await;
    let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows.into_iter().map(|r| r.0).collect()
}

const STABLE: &[&str] = &[
    "SELECT code || '|' || name_vi || '|' || unit_code FROM agencies ORDER BY code",
    "SELECT username || '|' || role || '|' || password_hash FROM staff ORDER BY username",
    "SELECT citizen_id || '|' || full_name || '|' || permanent_unit FROM citizens ORDER BY citizen_id",
    "SELECT citizen_id || '|' || password_hash FROM accounts ORDER BY citizen_id",
];

#[tokio::test]
async fn a_backup_taken_under_load_restores_to_a_copy_that_verifies() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    // An uploaded file: the backup carries it beside the database.
    let scan = [b"%PDF-1.4 ".to_vec(), vec![42u8; 4096]].concat();
    let res = app
        .client
        .post(app.url("/api/v1/me/documents"))
        .bearer_auth(city.token("citizen"))
        .header("content-type", "application/pdf")
        .body(scan.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let doc: serde_json::Value = res.json().await.unwrap();
    let doc_id = doc["document_id"].as_str().unwrap().to_owned();
    // Grants are created the whole time the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let client = app.client.clone();
        let url = app.url("/api/v1/agencies/SO-Y-TE/grants");
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = client
                    .post(&url)
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"registry": "citizens", "purpose": format!("load-{n}"), "fields": ["phone"], "legal_basis": "x"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().join("backup");
    let (code, out, err) = {
        let (url, data_dir) = (app.db.url.clone(), app.db.data_dir.clone());
        let arg = backup_dir.to_str().unwrap().to_owned();
        tokio::task::spawn_blocking(move || run_cli_at(&url, &data_dir, &["backup", &arg]))
            .await
            .unwrap()
    };
    assert_eq!(code, 0, "{out}{err}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 2, "only {written} writes during the backup");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(backup_dir.join("manifest.json")).unwrap())
            .unwrap();

    // Into a fresh database of the same kind.
    let target = TestDb::new().await;
    let (code, out, err) = run_cli(&target, &["restore", backup_dir.to_str().unwrap()]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
    let (code, out, cli_err) = run_cli(&target, &["audit", "verify"]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(
        out.contains(&format!("{} entries", manifest["audit_entries"])),
        "{out}"
    );
    for sql in STABLE {
        assert_eq!(rows(&target, sql).await, rows(&app.db, sql).await, "{sql}");
    }
    // Grants written during the backup: the copy holds a prefix of them, none half-done.
    let grants = "SELECT CAST(grant_id AS TEXT) || '|' || purpose FROM grants ORDER BY grant_id";
    let copied = rows(&target, grants).await;
    let live = rows(&app.db, grants).await;
    assert!(copied.len() < live.len());
    assert_eq!(copied[..], live[..copied.len()]);

    // Backups hold no keys: personal data in them is sealed. A server given another key
    // refuses to start rather than seal new data nobody else could open...
    let (code, cli_out, err) = run_cli(&target, &["migrate"]).await;
    assert_ne!(
        code, 0,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(
        err.contains("not the key this database was sealed with"),
        "{err}"
    );
    // ...and with the city's key file (provisioned apart from backups), it serves.
    std::fs::copy(
        app.db.data_dir.join("data.key"),
        target.data_dir.join("data.key"),
    )
    .unwrap();
    let restored = spawn_on(target, Options::default()).await;
    let (s, session) = login(&restored, json!({"citizen_id": MAI, "password": PASSWORD})).await;
    assert_eq!(s, 200);
    let res = restored
        .client
        .get(restored.url(&format!("/api/v1/me/documents/{doc_id}")))
        .bearer_auth(session["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.bytes().await.unwrap().to_vec(),
        scan,
        "the restored file"
    );
    let target = restored.stop().await;

    // Restoring over data needs --replace.
    let (code, cli_out, err) = run_cli(&target, &["restore", backup_dir.to_str().unwrap()]).await;
    assert_eq!(
        code, 2,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(err.contains("--replace"), "{err}");
    let (code, out, err) = run_cli(
        &target,
        &["restore", "--replace", backup_dir.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");

    // A backup changed by one byte is refused before anything is touched.
    let file = backup_dir.join(manifest["database_file"].as_str().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let fresh = TestDb::new().await;
    let (code, cli_out, err) = run_cli(&fresh, &["restore", backup_dir.to_str().unwrap()]).await;
    assert_eq!(
        code, 2,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(err.contains("damaged"), "{err}");
    // And a backup never goes into a directory that holds something.
    let (code, cli_out, err) = run_cli(&app.db, &["backup", backup_dir.to_str().unwrap()]).await;
    assert_eq!(
        code, 2,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(err.contains("not empty"), "{err}");
}
