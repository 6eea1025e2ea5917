//! Staff accounts: opened by a city administrator (any role) or an agency's administrator
//! (officers and leaders of their own agency), listed, and disabled.

use sohoa_domain::agency::{AgencyCode, AgencyLevel};
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::identity::{check_password, hash_password, Username};
use sohoa_domain::policy::{Action, Principal, Requirement, Role, Target};
use sohoa_domain::units::UnitLevel;
use sohoa_domain::UnitCode;
use sohoa_storage::accounts::{self, NewStaff, StaffAccount};
use sohoa_storage::{agencies, units, Db, StorageError};

use crate::{authorize, Acting, App, Error, Result};

/// Accounts listed per page, at most.
pub const MAX_PAGE: i64 = 200;

/// A member of staff as an administrator writes them.
#[derive(Debug)]
pub struct NewMember<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub agency_code: Option<&'a str>,
    pub unit_code: Option<&'a str>,
    pub password: String,
}

/// The agency and unit the role is bound to, checked against the role's rules and the
/// agencies and units in force.
async fn scope_of(
    app: &App,
    role: Role,
    m: &NewMember<'_>,
) -> Result<(Option<AgencyCode>, Option<UnitCode>)> {
    let scope_err = |field: &str| Error::unprocessable("role_scope").field(field);
    let agency_code = m.agency_code.filter(|a| !a.trim().is_empty());
    let agency = match (role.agency_rule(), agency_code) {
        (Requirement::Required, None) | (Requirement::Forbidden, Some(_)) => {
            return Err(scope_err("agency_code"))
        }
        (_, None) => None,
        (_, Some(code)) => {
            let code = AgencyCode::parse(code)
                .map_err(|_| Error::unprocessable("invalid_agency_code").field("agency_code"))?;
            let agency = agencies::get(&app.db, &code)
                .await?
                .ok_or_else(|| Error::unprocessable("agency_not_found").field("agency_code"))?;
            Some(agency)
        }
    };
    let unit_code = m.unit_code.filter(|u| !u.trim().is_empty());
    match (role, unit_code) {
        (Role::DigitalTeam, Some(u)) => {
            let unit = UnitCode::parse(u)
                .map_err(|_| Error::unprocessable("invalid_unit_code").field("unit_code"))?;
            let found = units::get(&app.db, &unit, crate::today()).await?;
            if !found.is_some_and(|f| f.kind.level() == UnitLevel::Commune) {
                return Err(Error::unprocessable("unknown_unit")
                    .arg("code", &unit)
                    .field("unit_code"));
            }
            Ok((None, Some(unit)))
        }
        (Role::DigitalTeam, None) | (_, Some(_)) => Err(scope_err("unit_code")),
        (_, None) => {
            let unit = agency
                .as_ref()
                .filter(|a| a.level == AgencyLevel::Commune)
                .map(|a| a.unit_code.clone());
            Ok((agency.map(|a| a.code), unit))
        }
    }
}

/// An agency's administrator opens only names ending in `.{their agency}`; a name ending in
/// an agency's code is for that agency's staff alone.
async fn in_namespace(
    db: &Db,
    who: &Principal,
    username: &Username,
    agency: Option<&AgencyCode>,
) -> Result<()> {
    let named = match username.agency_part() {
        Some(code) => agencies::get(db, &code).await?.map(|a| a.code),
        None => None,
    };
    let admin_of = who
        .agency()
        .filter(|_| who.role() == Some(Role::AgencyAdmin));
    if let Some(own) = admin_of {
        if named.as_ref() != Some(own) {
            return Err(Error::unprocessable("username_outside_agency")
                .arg("suffix", Username::suffix_of(own))
                .field("username"));
        }
    }
    if let Some(named) = named.filter(|n| Some(n) != agency) {
        return Err(Error::unprocessable("username_of_another_agency")
            .arg("agency", named)
            .field("username"));
    }
    Ok(())
}

fn username_of(s: &str) -> Result<Username> {
    Username::parse(s).ok_or_else(|| Error::unprocessable("invalid_username").field("username"))
}

fn display_name_of(s: &str) -> Result<String> {
    sohoa_domain::registry::text_field("display_name", s, 200)
        .map_err(|_| Error::unprocessable("invalid_display_name").field("display_name"))
}

/// A checked account to store: who opens it, and what it is.
struct Member {
    actor: String,
    addr: Option<String>,
    username: Username,
    display_name: String,
    role: Role,
    agency: Option<AgencyCode>,
    unit: Option<UnitCode>,
    password: String,
}

/// Hashes the password (once it is one the rules admit) and stores the account with its
/// audit entry.
async fn store_member(db: &Db, m: Member) -> Result<StaffAccount> {
    check_password(&m.password)
        .map_err(|_| Error::unprocessable("invalid_password").field("password"))?;
    let salt = crate::random_bytes::<16>()?;
    let password = m.password;
    let hash = crate::blocking(move || hash_password(&password, &salt))
        .await?
        .map_err(Error::internal)?;
    let new = NewStaff {
        username: m.username.as_str(),
        display_name: &m.display_name,
        role: m.role.as_str(),
        agency_code: m.agency.as_ref().map(AgencyCode::as_str),
        unit_code: m.unit.as_ref().map(UnitCode::as_str),
        password_hash: &hash,
        created_by: &m.actor,
    };
    let record = AuditRecord::new(
        m.actor.clone(),
        "staff.create",
        "staff",
        m.username.as_str(),
    )
    .actor_unit(m.agency.as_ref().map(ToString::to_string))
    .fields([format!("role={}", m.role.as_str())])
    .client_addr(m.addr);
    let mut tx = db.begin().await?;
    let created = match accounts::create_staff(&mut tx, &new, record).await {
        Err(StorageError::Conflict(_)) => {
            return Err(Error::conflict("staff_exists").field("username"))
        }
        other => other?,
    };
    tx.commit().await.map_err(StorageError::from)?;
    Ok(created)
}

/// Opens a staff account.
pub async fn open(app: &App, who: Acting<'_>, m: NewMember<'_>) -> Result<StaffAccount> {
    let username = username_of(m.username)?;
    let display_name = display_name_of(m.display_name)?;
    let role =
        Role::parse(m.role).ok_or_else(|| Error::unprocessable("invalid_role").field("role"))?;
    let (agency, unit) = scope_of(app, role, &m).await?;
    let target = Target {
        agency: agency.as_ref(),
        unit: unit.as_ref(),
        role: Some(role),
        ..Target::default()
    };
    authorize(who.principal, Action::ManageStaff, &target)?;
    in_namespace(&app.db, who.principal, &username, agency.as_ref()).await?;
    let member = Member {
        actor: who.actor(),
        addr: who.addr(),
        username,
        display_name,
        role,
        agency,
        unit,
        password: m.password,
    };
    store_member(&app.db, member).await
}

/// Opens the first city administrator's account from the command line, before any server
/// runs (audited as done by `cli`).
pub async fn add_city_admin(
    db: &Db,
    username: &str,
    display_name: &str,
    password: String,
) -> Result<StaffAccount> {
    let username = username_of(username)?;
    in_namespace(db, &Principal::Anonymous, &username, None).await?;
    let member = Member {
        actor: "cli".to_owned(),
        addr: None,
        username,
        display_name: display_name_of(display_name)?,
        role: Role::CityAdmin,
        agency: None,
        unit: None,
        password,
    };
    store_member(db, member).await
}

/// A page of staff accounts by username, and whether more follow.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<StaffAccount>,
    pub more: bool,
}

/// Staff accounts of one agency (or all, for a city-wide reader), `limit` after the
/// username `after`.
pub async fn list(
    app: &App,
    who: &Principal,
    agency: Option<AgencyCode>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page> {
    // No agency named means all of them, which only a city-wide reader may ask for.
    let target = Target {
        agency: agency.as_ref(),
        ..Target::default()
    };
    authorize(who, Action::ReadStaff, &target)?;
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::bad_request("invalid_page"));
    }
    let agency = agency.as_ref().map(AgencyCode::as_str);
    let mut items = accounts::list_staff(&app.db, agency, after, limit + 1).await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    Ok(Page { items, more })
}

/// Disables a staff account: it can no longer sign in. Accounts outside the caller's reach answer as missing: usernames of other agencies are none of
/// their business.
pub async fn disable(app: &App, who: Acting<'_>, username: &str) -> Result<()> {
    let not_found = || Error::not_found("staff_not_found");
    let account = accounts::staff_by_username(&app.db, username)
        .await?
        .filter(|s| s.disabled_at.is_none())
        .ok_or_else(not_found)?;
    let staff = crate::identity::staff_of(&account);
    let target = Target {
        agency: staff.agency.as_ref(),
        unit: staff.unit.as_ref(),
        role: Some(staff.role),
        ..Target::default()
    };
    authorize(who.principal, Action::ManageStaff, &target).map_err(|_| not_found())?;
    let record = AuditRecord::new(who.actor(), "staff.disable", "staff", &account.username)
        .actor_unit(account.agency_code.as_ref().map(ToString::to_string))
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if !accounts::disable_staff(&mut tx, &account.username, record).await? {
        return Err(not_found());
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}
