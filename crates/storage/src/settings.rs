//! Small key-value facts about the installation (which reference data is loaded, whether
//! demo data was loaded). Not for configuration: that comes from flags, environment and file.

use crate::{text, Result, Tx};

pub async fn get(tx: &mut Tx, key: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| text(&r, "value")).transpose()
}

pub async fn set(tx: &mut Tx, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
