//! What anyone may read of reports, for the public maps and Open311: the communes'
//! boundaries, the categories, the reports inside a box or matching a search (where, what
//! kind, how far along; nothing about who reported).

use std::sync::Arc;

use sohoa_domain::feedback::geo::BBox;
use sohoa_domain::feedback::report::{Category, ReportStatus};
use sohoa_storage::feedback::{self as store, PublicReport, Report, Search};

use crate::cache::Geography;
use crate::{App, Error, Result};

/// Reports drawn on one map, at most.
pub const MAX_FEATURES: i64 = 5000;

/// The communes' boundaries, and whether they are the shipped approximation.
pub async fn geography(app: &App) -> Result<Arc<Geography>> {
    Ok(app.feedback.geography(&app.db).await?)
}

/// The categories residents file reports under.
pub async fn categories(app: &App) -> Result<Arc<Vec<Category>>> {
    Ok(app.feedback.categories(&app.db).await?)
}

/// The statuses a map filter names: one of ours, or an Open311 status (`open`, `closed`)
/// standing for several; `None` for all.
pub fn statuses_of(s: Option<&str>) -> Result<Option<Vec<ReportStatus>>> {
    match s {
        None | Some("") => Ok(None),
        Some(s) => ReportStatus::from_open311(s)
            .map(<[ReportStatus]>::to_vec)
            .or_else(|| ReportStatus::parse(s).map(|x| vec![x]))
            .map(Some)
            .ok_or_else(|| Error::bad_request("invalid_report_status").field("status")),
    }
}

fn check_limit(limit: i64) -> Result<()> {
    if (1..=MAX_FEATURES).contains(&limit) {
        Ok(())
    } else {
        Err(Error::bad_request("invalid_query").field("limit"))
    }
}

/// Reports inside `b` (of these statuses and category, or all), at most `limit`.
pub async fn in_box(
    app: &App,
    b: &BBox,
    statuses: Option<&[ReportStatus]>,
    category: Option<&str>,
    limit: i64,
) -> Result<Vec<PublicReport>> {
    check_limit(limit)?;
    Ok(store::in_box(&app.db, b, statuses, category, limit).await?)
}

/// [`in_box`] as the JSON array of GeoJSON features the database writes, and whether
/// there were more than `limit`.
pub async fn in_box_geojson(
    app: &App,
    b: &BBox,
    statuses: Option<&[ReportStatus]>,
    category: Option<&str>,
    limit: i64,
) -> Result<(String, bool)> {
    check_limit(limit)?;
    Ok(store::in_box_geojson(&app.db, b, statuses, category, limit).await?)
}

/// Reports matching an Open311 search: by ids, or by categories, statuses and time.
pub async fn search(app: &App, s: &Search) -> Result<Vec<Report>> {
    Ok(store::search(&app.db, s).await?)
}

/// One report, as Open311 shows it to anyone.
pub async fn get(app: &App, id: &str) -> Result<Report> {
    store::get(&app.db, id)
        .await?
        .ok_or_else(|| Error::not_found("report_not_found"))
}

/// The id of the report an Open311 token was given for, once it exists.
pub async fn by_token(app: &App, token: &str) -> Result<String> {
    store::by_token(&app.db, token)
        .await?
        .ok_or_else(|| Error::not_found("report_not_found"))
}
