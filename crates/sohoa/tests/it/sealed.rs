//! Personal data at rest: phone, email and addresses are sealed in the database, open only
//! through the application, and move to a new key while the server keeps answering.

use serde_json::json;

use crate::helpers::*;

const MAI: &str = "079185001234";
const PHONE: &str = "0912345678";
const EMAIL: &str = "mai.nguyen@example.vn";
const STREET: &str = "12 Lê Lợi";

fn citizens_csv(dir: &std::path::Path, phone: &str) -> String {
    let path = dir.join(format!("c-{phone}.csv"));
    std::fs::write(
        &path,
        format!(
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,temporary_street,temporary_unit,phone,email\n\
             {MAI},Nguyễn Thị Mai,1985-03-14,female,{STREET},26743,5 Pasteur,26740,{phone},{EMAIL}\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

async fn raw_row(db: &TestDb) -> Vec<String> {
    let pool = db.raw().await;
    let row: (String, String, String, String) = sqlx::query_as(
        "SELECT permanent_street, temporary_street, phone, email FROM citizens WHERE citizen_id = '079185001234'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let history: Vec<(String,)> =
        sqlx::query_as("SELECT data FROM registry_history WHERE record_id = '079185001234'")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    let mut out = vec![row.0, row.1, row.2, row.3];
    out.extend(history.into_iter().map(|h| h.0));
    out
}

/// An agency allowed the sealed fields, reading Mai's record.
async fn reader(app: &TestApp) -> String {
    assert_eq!(
        app.post_json("/api/v1/agencies", &agency("SO-Y-TE", "city", "79"))
            .await
            .0,
        201
    );
    let (_, key) = app
        .post_json("/api/v1/agencies/SO-Y-TE/keys", &json!({}))
        .await;
    let grant = json!({"registry": "citizens", "purpose": "health-insurance",
                       "fields": ["phone", "email", "permanent_address", "temporary_address"], "legal_basis": "x"});
    assert_eq!(
        app.post_json("/api/v1/agencies/SO-Y-TE/grants", &grant)
            .await
            .0,
        201
    );
    key["api_key"].as_str().unwrap().to_owned()
}

async fn read(app: &TestApp, key: &str) -> (u16, serde_json::Value) {
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/share/citizens/{MAI}?purpose=health-insurance"
        )))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap())
}

#[tokio::test]
async fn personal_fields_are_sealed_and_move_to_a_new_key_while_the_server_runs() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    run_cli_ok(
        &app.db,
        &[
            "import",
            "citizens",
            &citizens_csv(dir.path(), "0900000001"),
        ],
    )
    .await;
    run_cli_ok(
        &app.db,
        &["import", "citizens", &citizens_csv(dir.path(), PHONE)],
    )
    .await;
    let key = reader(&app).await;
    let (s, body) = read(&app, &key).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["fields"]["phone"], PHONE);
    assert_eq!(body["fields"]["email"], EMAIL);
    assert_eq!(body["fields"]["permanent_address"]["street"], STREET);
    // In the database, and in the superseded version, nothing readable.
    let stored = raw_row(&app.db).await;
    assert_eq!(stored.len(), 5, "{stored:?}");
    for v in &stored[..4] {
        assert!(v.starts_with("v1.1."), "{v}");
    }
    for secret in [PHONE, "0900000001", EMAIL, "Lê Lợi", "Pasteur"] {
        assert!(
            stored.iter().all(|v| !v.contains(secret)),
            "{secret} in {stored:?}"
        );
    }
    let history = sohoa_storage::registry::history(app.server_db(), "citizen", MAI)
        .await
        .unwrap();
    assert!(
        history[0].data.contains("0900000001"),
        "{}",
        history[0].data
    );

    // Rotation: the new key goes first in the file; the running server takes it up.
    let (code, line, cli_err) = run_cli(&app.db, &["keys", "generate"]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{line}\n--- stderr\n{cli_err}"
    );
    let line = line.trim().to_owned();
    assert!(line.starts_with("2:"), "{line}");
    let key_file = app.db.data_dir.join("data.key");
    let old = std::fs::read_to_string(&key_file).unwrap();
    let old_line = old
        .lines()
        .find(|l| l.starts_with("1:"))
        .unwrap()
        .to_owned();
    std::fs::write(&key_file, format!("{line}\n{old_line}\n")).unwrap();
    app.until_keys(&[2, 1]).await;
    // Readers keep reading the whole time the rotation runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers = {
        let stop = stop.clone();
        let (client, url, key) = (
            app.client.clone(),
            app.url(&format!(
                "/api/v1/share/citizens/{MAI}?purpose=health-insurance"
            )),
            key.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = client.get(&url).bearer_auth(&key).send().await.unwrap();
                assert_eq!(res.status(), 200);
                n += 1;
            }
            n
        })
    };
    let (code, out, err) = {
        let (url, data_dir) = (app.db.url.clone(), app.db.data_dir.clone());
        tokio::task::spawn_blocking(move || run_cli_at(&url, &data_dir, &["keys", "rotate"]))
            .await
            .unwrap()
    };
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 records re-sealed under key 2"), "{out}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(readers.await.unwrap() > 0);
    let stored = raw_row(&app.db).await;
    for v in &stored[..4] {
        assert!(v.starts_with("v1.2."), "{v}");
    }
    assert!(stored[4].contains("\"v1.2."), "{}", stored[4]);
    // Rotating again changes nothing; re-sealing made no new version.
    let (_, out, _) = run_cli(&app.db, &["keys", "rotate"]).await;
    assert!(out.contains("0 records re-sealed"), "{out}");
    assert_eq!(
        sohoa_storage::registry::history(app.server_db(), "citizen", MAI)
            .await
            .unwrap()
            .len(),
        1
    );

    // The old key can go.
    std::fs::write(&key_file, format!("{line}\n")).unwrap();
    app.until_keys(&[2]).await;
    let (s, body) = read(&app, &key).await;
    assert_eq!((s, body["fields"]["phone"].as_str()), (200, Some(PHONE)));
    // A file with a wrong key for id 2 is refused by the server (which keeps its keys) and
    // by the command line.
    let (_, other, _) = run_cli(&app.db, &["keys", "generate", "--id", "2"]).await;
    std::fs::write(&key_file, other.trim()).unwrap();
    tokio::time::sleep(sohoa::KEY_FILE_POLL * 2 + std::time::Duration::from_millis(500)).await;
    assert_eq!(read(&app, &key).await.0, 200);
    let (code, cli_out, err) = run_cli(&app.db, &["migrate"]).await;
    assert_ne!(
        code, 0,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{err}"
    );
    assert!(err.contains("not the key"), "{err}");
}
