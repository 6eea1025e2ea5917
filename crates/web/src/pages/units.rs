use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use sohoa_domain::units::{Unit, UnitKind};

use super::{display_date, render, PageCtx, Pager, Shell};
use crate::api::units::{parse_code, AsOfParams, UnitListParams};
use crate::api::{date_text, parse_day};
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;

/// A unit as a row of a table: the kind already translated.
struct UnitRow {
    code: String,
    name: String,
    kind: String,
    parent: String,
    parent_name: String,
    valid_from: String,
    valid_to: String,
}

fn row(t: Tr, u: Unit) -> UnitRow {
    UnitRow {
        kind: t.get(&format!("kind-{}", u.kind.as_str())),
        code: u.code.to_string(),
        name: u.name,
        parent: u.parent_code.map(|c| c.to_string()).unwrap_or_default(),
        parent_name: String::new(),
        valid_from: u
            .valid_from
            .map_or_else(|| t.get("unit-before-records"), display_date),
        valid_to: u
            .valid_to
            .map_or_else(|| t.get("unit-valid-open"), display_date),
    }
}

struct KindOption {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsTemplate {
    shell: Shell,
    t: Tr,
    q: String,
    as_of: String,
    kinds: Vec<KindOption>,
    total: i64,
    rows: Vec<UnitRow>,
    pager: Pager,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    params: Result<ApiQuery<UnitListParams>, AppError>,
) -> PageResult<Response> {
    let ApiQuery(params) = params.page(ctx.lang)?;
    let query = params.parse().page(ctx.lang)?;
    let page = sohoa_app::units::list(&state, &query)
        .await
        .page(ctx.lang)?;
    let t = ctx.t();
    let last = page.last_page();
    let selected = query.kind.map(|k| k.as_str());
    Ok(render(&UnitsTemplate {
        shell: ctx.shell("units", t.get("units-title")),
        t,
        q: params.q.clone().unwrap_or_default(),
        as_of: date_text(query.as_of),
        kinds: [
            UnitKind::Ward,
            UnitKind::Commune,
            UnitKind::SpecialZone,
            UnitKind::Township,
            UnitKind::UrbanDistrict,
            UnitKind::RuralDistrict,
            UnitKind::DistrictCity,
            UnitKind::Town,
            UnitKind::Province,
            UnitKind::Municipality,
        ]
        .into_iter()
        .map(|k| KindOption {
            value: k.as_str(),
            label: t.get(&format!("kind-{}", k.as_str())),
            selected: selected == Some(k.as_str()),
        })
        .collect(),
        total: page.total,
        pager: Pager::new(&ctx, page.page, last),
        rows: page.items.into_iter().map(|u| row(t, u)).collect(),
    }))
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitTemplate {
    shell: Shell,
    t: Tr,
    as_of: String,
    unit: UnitRow,
    history: Vec<UnitRow>,
}

pub async fn detail(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    params: Result<ApiQuery<AsOfParams>, AppError>,
) -> PageResult<Response> {
    let code = parse_code(&code).page(ctx.lang)?;
    let ApiQuery(params) = params.page(ctx.lang)?;
    let day = parse_day(params.as_of.as_deref(), "as_of").page(ctx.lang)?;
    let history = sohoa_app::units::history(&state, &code)
        .await
        .page(ctx.lang)?;
    // The unit in force on the day asked for, else the latest one the code named.
    let unit = history
        .iter()
        .find(|u| u.is_valid_on(day))
        .or(history.last())
        .cloned()
        .ok_or_else(|| AppError::not_found("unit_not_found"))
        .page(ctx.lang)?;
    // The parent as it was while this unit was in force.
    let on = if unit.is_valid_on(day) {
        day
    } else {
        unit.valid_to.and_then(|d| d.previous_day()).unwrap_or(day)
    };
    let parent = match &unit.parent_code {
        Some(p) => sohoa_app::units::named_on(&state, p, on)
            .await
            .page(ctx.lang)?,
        None => None,
    };
    let t = ctx.t();
    let shell = ctx.shell("units", unit.name.clone());
    let mut unit = row(t, unit);
    unit.parent_name = parent.map(|p| p.name).unwrap_or_default();
    Ok(render(&UnitTemplate {
        shell,
        t,
        as_of: date_text(on),
        unit,
        history: history.into_iter().map(|u| row(t, u)).collect(),
    }))
}
