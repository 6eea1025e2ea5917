use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use sohoa_domain::units::UnitKind;

use super::{render, PageCtx, Pager, Shell};
use crate::api::units::{parse_code, AsOfParams, UnitListParams, UnitView};
use crate::api::{date_text, parse_day};
use crate::error::{AppError, PageErrorExt, PageResult};
use crate::extract::ApiQuery;
use crate::i18n::Tr;
use crate::AppState;

/// A unit as a row of a table: the kind already translated.
struct UnitRow {
    code: String,
    name: String,
    kind: String,
    parent: String,
    valid_from: String,
    valid_to: String,
}

fn row(t: Tr, u: UnitView) -> UnitRow {
    UnitRow {
        kind: t.get(&format!("kind-{}", u.kind_str())),
        code: u.code,
        name: u.name,
        parent: u.parent_code.unwrap_or_default(),
        valid_from: u.valid_from.unwrap_or_else(|| t.get("unit-before-records")),
        valid_to: u.valid_to.unwrap_or_else(|| t.get("unit-valid-open")),
    }
}

impl UnitView {
    fn kind_str(&self) -> &'static str {
        self.kind.as_str()
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
    let page = sohoa_storage::units::list(&state.db, &query)
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
        rows: page.items.into_iter().map(|u| row(t, u.into())).collect(),
    }))
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitTemplate {
    shell: Shell,
    t: Tr,
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
    let history = sohoa_storage::units::history(&state.db, &code)
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
    let t = ctx.t();
    Ok(render(&UnitTemplate {
        shell: ctx.shell("units", unit.name.clone()),
        t,
        unit: row(t, unit.into()),
        history: history.into_iter().map(|u| row(t, u.into())).collect(),
    }))
}
