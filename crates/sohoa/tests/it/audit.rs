//! The audit chain catches tampering; `sohoa audit verify` names the broken entry.

use crate::helpers::*;

async fn with_entries() -> TestApp {
    let app = spawn_app().await;
    for code in ["SO-A", "SO-B", "SO-C"] {
        assert_eq!(
            app.post_json("/api/v1/agencies", &agency(code, "city", "79"))
                .await
                .0,
            201
        );
    }
    app
}

#[tokio::test]
async fn verify_passes_on_an_intact_chain() {
    let app = with_entries().await;
    let db = app.stop().await;
    let (code, out, err) = run_cli(&db, &["audit", "verify"]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
    // One entry for loading the reference units, one per agency.
    assert!(out.contains("intact: 4 entries"), "{out}");
}

/// Alters one row behind the application's back: first the guard that refuses updates
/// must go, as an attacker with database access would make it go.
async fn tamper(db: &TestDb, sql: &str) {
    let pool = db.raw().await;
    let disable = if db.is_postgres() {
        "ALTER TABLE audit_log DISABLE TRIGGER USER"
    } else {
        "DROP TRIGGER audit_log_no_update"
    };
    sqlx::query(disable).execute(&pool).await.unwrap();
    if !db.is_postgres() {
        sqlx::query("DROP TRIGGER audit_log_no_delete")
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn verify_names_the_altered_entry() {
    let db = with_entries().await.stop().await;
    tamper(
        &db,
        "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3",
    )
    .await;
    let (code, out, err) = run_cli(&db, &["audit", "verify"]).await;
    assert_eq!(code, 1, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
    assert!(out.contains("BROKEN at entry 3"), "{out}");
    assert!(out.contains("altered"), "{out}");
}

#[tokio::test]
async fn verify_catches_a_rehashed_entry_deletions_and_a_cut_tail() {
    let db = with_entries().await.stop().await;
    // Rewriting an entry's own hash still breaks the link from the next entry.
    let pool = db.raw().await;
    let row: (String,) = sqlx::query_as("SELECT hash FROM audit_log WHERE seq = 3")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    tamper(
        &db,
        &format!("UPDATE audit_log SET hash = '{}' WHERE seq = 2", row.0),
    )
    .await;
    let (code, out, cli_err) = run_cli(&db, &["audit", "verify"]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(out.contains("BROKEN at entry 2"), "{out}");

    let db = with_entries().await.stop().await;
    tamper(&db, "DELETE FROM audit_log WHERE seq = 2").await;
    let (code, out, cli_err) = run_cli(&db, &["audit", "verify"]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(
        out.contains("BROKEN at entry 2") && out.contains("missing"),
        "{out}"
    );

    let db = with_entries().await.stop().await;
    tamper(&db, "DELETE FROM audit_log WHERE seq = 4").await;
    let (code, out, cli_err) = run_cli(&db, &["audit", "verify"]).await;
    assert_eq!(
        code, 1,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(
        out.contains("BROKEN at entry 4") && out.contains("removed from the end"),
        "{out}"
    );
}

#[tokio::test]
async fn the_log_refuses_updates_and_deletes() {
    let app = with_entries().await;
    let pool = app.db.raw().await;
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 1")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(sqlx::query("DELETE FROM audit_log WHERE seq = 1")
        .execute(&pool)
        .await
        .is_err());
    pool.close().await;
}

#[test]
fn verify_on_an_unreachable_database_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args([
            "audit",
            "verify",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            // Nothing listens there: a second is as good as the default ten to find out.
            "--db-wait",
            "1",
        ])
        .env_remove("SOHOA_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
