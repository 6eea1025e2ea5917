//! Bootstrapping staff accounts from the command line.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::identity::{check_password, hash_password, Username};
use sohoa_domain::policy::Role;
use sohoa_storage::{accounts, Db, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error(
        "a username has 3-64 lower-case letters, digits, '.', '-' or '_', starting with a letter"
    )]
    Username,
    #[error("a username ending in .{0} is for the staff of agency {1} only")]
    OtherAgency(String, String),
    #[error("a display name has 1 to 200 characters")]
    DisplayName,
    #[error("a password has 10 to 128 characters")]
    Password,
    #[error("the username {0} is taken")]
    Taken(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Opens a city administrator's account (audited as done by `cli`).
pub async fn add_admin(
    db: &Db,
    username: &str,
    display_name: &str,
    password: &str,
) -> Result<(), StaffError> {
    let username = Username::parse(username).ok_or(StaffError::Username)?;
    if let Some(code) = username.agency_part() {
        if sohoa_storage::agencies::get(db, &code).await?.is_some() {
            return Err(StaffError::OtherAgency(
                code.as_str().to_ascii_lowercase(),
                code.to_string(),
            ));
        }
    }
    let display_name = sohoa_domain::registry::text_field("display_name", display_name, 200)
        .map_err(|_| StaffError::DisplayName)?;
    check_password(password).map_err(|_| StaffError::Password)?;
    let salt = sohoa_web::auth::random_bytes::<16>().map_err(|_| StaffError::Password)?;
    let hash = hash_password(password, &salt).map_err(|_| StaffError::Password)?;
    let role = Role::CityAdmin.as_str();
    let new = accounts::NewStaff {
        username: username.as_str(),
        display_name: &display_name,
        role,
        agency_code: None,
        unit_code: None,
        password_hash: &hash,
        created_by: "cli",
    };
    let record = AuditRecord::new("cli", "staff.create", "staff", username.as_str())
        .fields([format!("role={role}")]);
    let mut tx = db.begin().await?;
    match accounts::create_staff(&mut tx, &new, record).await {
        Err(StorageError::Conflict(_)) => return Err(StaffError::Taken(username.to_string())),
        other => other?,
    };
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}
