//! Bootstrapping staff accounts from the command line: the rules are the app's, the
//! messages are the operator's.

use sohoa_storage::Db;

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
    #[error("{0}")]
    Failed(String),
}

/// Opens a city administrator's account (audited as done by `cli`).
pub async fn add_admin(
    db: &Db,
    username: &str,
    display_name: &str,
    password: &str,
) -> Result<(), StaffError> {
    let added =
        sohoa_app::staff::add_city_admin(db, username, display_name, password.to_owned()).await;
    match added {
        Ok(_) => Ok(()),
        Err(e) => Err(match e.code {
            "invalid_username" => StaffError::Username,
            "username_of_another_agency" => {
                let code = e
                    .args
                    .iter()
                    .find(|(k, _)| *k == "agency")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                StaffError::OtherAgency(code.to_ascii_lowercase(), code)
            }
            "invalid_display_name" => StaffError::DisplayName,
            "invalid_password" => StaffError::Password,
            "staff_exists" => StaffError::Taken(username.to_owned()),
            _ => StaffError::Failed(e.cause.unwrap_or_else(|| e.code.to_owned())),
        }),
    }
}
