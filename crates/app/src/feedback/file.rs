//! Filing a report.

use std::collections::BTreeMap;

use serde_json::Value;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::geo::{unit_in_address, Point};
use sohoa_domain::feedback::report::{
    self as rules, Category, Contact, ReportStatus, DUPLICATE_RADIUS_M, DUPLICATE_WINDOW_DAYS,
};
use sohoa_domain::policy::Principal;
use sohoa_domain::{Timestamp, UnitCode};
use sohoa_storage::feedback::{self as store, PublicReport, Report};
use sohoa_storage::StorageError;

use super::sha256_hex;
use crate::{Acting, App, Error, Result};

/// What a report is filed with, from whichever channel.
#[derive(Debug, Default)]
pub struct Filing {
    pub category: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub description: Option<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub media_url: Option<String>,
    /// `api`, `web` or `open311`.
    pub channel: String,
}

/// A filed report, the code its reporter follows it with (shown once), and open reports
/// of the same kind close by that the reporter may join instead.
#[derive(Debug)]
pub struct Filed {
    pub report: Report,
    pub reporter_code: String,
    pub nearby: Vec<PublicReport>,
}

/// The checked words of a report: its description (the category's name when only
/// attributes say what is wrong), its attributes, address and media link.
struct Words {
    description: String,
    attributes: serde_json::Map<String, Value>,
    address: Option<String>,
    media_url: Option<String>,
}

/// A text given, trimmed, unless blank.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn words(category: &Category, f: &Filing) -> Result<Words> {
    let invalid_description = || Error::unprocessable("invalid_description").field("description");
    let description = match f.description.as_deref() {
        Some(d) => Some(rules::description(d).ok_or_else(invalid_description)?),
        None => None,
    };
    let attributes = category.answers(&f.attributes).map_err(|e| {
        Error::unprocessable("invalid_attribute")
            .field(format!("attribute[{}]", e.code))
            .detail(e.to_string())
    })?;
    let description = description
        .or_else(|| (!attributes.is_empty()).then(|| category.name_vi.clone()))
        .ok_or_else(invalid_description)?;
    let address = match given(f.address.as_deref()) {
        Some(a) => Some(
            rules::note(a)
                .filter(|a| a.chars().count() <= 300)
                .ok_or_else(|| Error::unprocessable("invalid_address").field("address_string"))?,
        ),
        None => None,
    };
    let media_url = match given(f.media_url.as_deref()) {
        Some(u)
            if (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 1000
                && !u.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Some(u.to_owned())
        }
        Some(_) => return Err(Error::unprocessable("invalid_media_url").field("media_url")),
        None => None,
    };
    Ok(Words {
        description,
        attributes: attributes.into_iter().collect(),
        address,
        media_url,
    })
}

/// Where: a point given, or the commune the address names (placed at its centre).
async fn place(app: &App, f: &Filing, address: Option<&str>) -> Result<(Point, UnitCode)> {
    let geo = app.feedback.geography(&app.db).await?;
    match (f.lat, f.lon) {
        (Some(lat), Some(lon)) => {
            let p = Point::new(lat, lon)
                .map_err(|_| Error::unprocessable("invalid_location").field("lat"))?;
            let unit = geo
                .boundaries
                .locate(p)
                .cloned()
                .ok_or_else(|| Error::unprocessable("location_outside_city").field("lat"))?;
            Ok((p, unit))
        }
        (None, None) => {
            let unit = address
                .and_then(unit_in_address)
                .ok_or_else(|| Error::unprocessable("location_required").field("lat"))?;
            let area = geo.boundaries.get(&unit).ok_or_else(|| {
                Error::unprocessable("location_outside_city").field("address_string")
            })?;
            Ok((area.centre(), unit))
        }
        _ => Err(Error::unprocessable("invalid_location").field("long")),
    }
}

/// Who reports: a signed-in citizen, or anyone with a way to reach them; and the contact
/// lines given (sealed before they are stored).
fn reporter_of(who: &Principal, f: &Filing) -> Result<(Option<String>, Vec<String>)> {
    let reporter = match who {
        Principal::Citizen(id) => Some(format!("citizen:{id}")),
        _ => None,
    };
    let mut contact = Vec::new();
    if let Some(e) = f.email.as_deref().filter(|e| !e.trim().is_empty()) {
        let c = Contact::email(e)
            .map_err(|_| Error::unprocessable("invalid_contact").field("email"))?;
        contact.push(format!("email:{}", c.as_str()));
    }
    if let Some(p) = f.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        let c = Contact::phone(p)
            .map_err(|_| Error::unprocessable("invalid_contact").field("phone"))?;
        contact.push(format!("phone:{}", c.as_str()));
    }
    if let Some(n) = f.name.as_deref().and_then(rules::note) {
        if n.chars().count() <= 200 {
            contact.push(format!("name:{n}"));
        }
    }
    let has_way_back = contact.iter().any(|c| !c.starts_with("name:"));
    if reporter.is_none() && !has_way_back {
        return Err(Error::unprocessable("contact_required").field("email"));
    }
    Ok((reporter, contact))
}

/// Files a report: checks it, finds its commune and the agency that answers it, and writes
/// it with its counters and audit entry in one transaction.
pub async fn file(app: &App, who: Acting<'_>, f: Filing) -> Result<Filed> {
    let categories = app.feedback.categories(&app.db).await?;
    let category = categories
        .iter()
        .find(|c| c.code == f.category)
        .ok_or_else(|| Error::not_found("report_category_not_found").field("service_code"))?;
    let words = words(category, &f)?;
    let (point, unit) = place(app, &f, words.address.as_deref()).await?;
    let (reporter, contact) = reporter_of(who.principal, &f)?;
    let agency = store::route(&app.db, &category.code, &unit)
        .await?
        .ok_or_else(|| Error::conflict("no_responsible_agency"))?;
    let now = Timestamp::now();
    let today = now
        .datetime()
        .to_offset(sohoa_domain::timestamp::VIETNAM)
        .date();
    let due_on = crate::calendar()?.add_working_days(today, category.deadline_days);
    let id = format!(
        "PA-{}-{}",
        today.to_string().replace('-', ""),
        hex::encode_upper(crate::random_bytes::<4>()?)
    );
    let reporter_code = hex::encode(crate::random_bytes::<12>()?);
    let sealed_contact = if contact.is_empty() {
        None
    } else {
        let keys = app.db.keyring()?;
        Some(keys.seal(&store::contact_context(&id), &contact.join("\n"))?)
    };
    let report = Report {
        token: format!("tk-{}", hex::encode(crate::random_bytes::<8>()?)),
        category_code: category.code.clone(),
        status: ReportStatus::Open,
        agency_code: agency,
        unit_code: unit.as_str().to_owned(),
        lat: point.lat(),
        lon: point.lon(),
        address: words.address,
        description: words.description,
        attributes: Value::Object(words.attributes).to_string(),
        media_url: words.media_url,
        reporter,
        contact: sealed_contact,
        reporter_code_hash: sha256_hex(&reporter_code),
        channel: f.channel,
        supporters: 0,
        status_note: None,
        resolution_note: None,
        created_at: now,
        updated_at: now,
        due_on,
        resolved_at: None,
        rating: None,
        rating_comment: None,
        rated_at: None,
        reopened: 0,
        revision: 1,
        id,
    };
    let nearby = nearby(app, &category.code, point).await?;
    let record = AuditRecord::new(who.actor(), "report.file", "report", &report.id)
        .purpose(format!("report {}", report.category_code))
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    store::insert(&mut tx, &report, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(Filed {
        report,
        reporter_code,
        nearby,
    })
}

/// Open reports of the category close in place and time: what a resident about to file
/// the same problem is offered to join.
pub async fn nearby(app: &App, category: &str, p: Point) -> Result<Vec<PublicReport>> {
    let since = Timestamp::from_datetime(
        Timestamp::now().datetime() - time::Duration::days(DUPLICATE_WINDOW_DAYS),
    );
    let found = store::open_near(
        &app.db,
        category,
        &p.around(DUPLICATE_RADIUS_M),
        &since.to_string(),
    )
    .await?;
    let mut near: Vec<(f64, PublicReport)> = found
        .into_iter()
        .filter_map(|r| {
            let d = Point::new(r.lat, r.lon).ok()?.distance_m(p);
            (d <= DUPLICATE_RADIUS_M).then_some((d, r))
        })
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(near.into_iter().take(10).map(|(_, r)| r).collect())
}
