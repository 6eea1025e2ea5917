//! The procedure catalog for people: search (with or without diacritics) and one
//! procedure's page: who decides, in how many working days, the fee today, the documents,
//! and which fields the city already knows.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use sohoa_domain::services::procedure::{FieldKind, Level};

use super::{render, PageCtx, Pager, Shell};
use crate::api::procedures::{list_page, ProcedureListParams, ProcedureView};
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::{Lang, Tr};
use crate::AppState;

struct Row {
    code: String,
    name: String,
    decides: String,
    deadline: String,
    fee: String,
}

fn decides(t: Tr, v: &ProcedureView) -> String {
    match (&v.procedure.level, &v.procedure.agency_code) {
        (Level::City, Some(a)) => a.to_string(),
        _ => t.get("procedure-decides-commune"),
    }
}

fn fee(t: Tr, v: &ProcedureView) -> String {
    match v.procedure.fee {
        None => t.get("procedure-free"),
        Some(_) if v.waived_today => t.get("procedure-waived"),
        Some(f) => f.to_string(),
    }
}

fn name(lang: Lang, v: &ProcedureView) -> String {
    if lang == Lang::En {
        v.procedure.name_en.clone()
    } else {
        v.procedure.name_vi.clone()
    }
}

#[derive(Template)]
#[template(path = "procedures.html")]
struct ListTemplate {
    shell: Shell,
    t: Tr,
    q: String,
    total: i64,
    rows: Vec<Row>,
    pager: Pager,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    params: Result<ApiQuery<ProcedureListParams>, AppError>,
) -> PageResult<Response> {
    let ApiQuery(params) = params.page(ctx.lang)?;
    let page = list_page(&state, &params).await.page(ctx.lang)?;
    let t = ctx.t();
    let last = sohoa_domain::paging::last_page(page.total, page.per_page);
    let rows = page
        .items
        .iter()
        .map(|v| Row {
            code: v.procedure.code.to_string(),
            name: name(ctx.lang, v),
            decides: decides(t, v),
            deadline: t.with("procedure-days", "days", v.procedure.deadline_days),
            fee: fee(t, v),
        })
        .collect();
    Ok(render(&ListTemplate {
        shell: ctx.shell("procedures", t.get("procedures-title")),
        t,
        q: params.q.clone().unwrap_or_default(),
        total: page.total,
        pager: Pager::new(&ctx, page.page, last),
        rows,
    }))
}

struct FieldRow {
    label: String,
    kind: String,
    required: bool,
    from_registry: bool,
}

struct DocRow {
    name: String,
    required: bool,
}

#[derive(Template)]
#[template(path = "procedure.html")]
struct DetailTemplate {
    shell: Shell,
    t: Tr,
    code: String,
    name: String,
    decides: String,
    deadline: String,
    fee: String,
    waiver: Option<String>,
    version: i64,
    documents: Vec<DocRow>,
    fields: Vec<FieldRow>,
}

pub async fn detail(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let code = sohoa_domain::services::procedure::ProcedureCode::parse(&code)
        .ok_or_else(|| AppError::not_found("procedure_not_found"))
        .page(lang)?;
    let v: ProcedureView = sohoa_app::catalog::get(&state, &code, None)
        .await
        .page(lang)?
        .into();
    let t = ctx.t();
    let en = lang == Lang::En;
    let waiver = v
        .procedure
        .fee_on(crate::api::today())
        .and_then(|d| d.waived_by.map(|w| w.basis.clone()));
    let tpl = DetailTemplate {
        shell: ctx.shell("procedures", name(lang, &v)),
        code: v.procedure.code.to_string(),
        name: name(lang, &v),
        decides: decides(t, &v),
        deadline: t.with("procedure-days", "days", v.procedure.deadline_days),
        fee: fee(t, &v),
        waiver,
        version: v.version,
        documents: v
            .procedure
            .documents
            .iter()
            .map(|d| DocRow {
                name: if en {
                    d.name_en.clone()
                } else {
                    d.name_vi.clone()
                },
                required: d.required,
            })
            .collect(),
        fields: v
            .procedure
            .form
            .iter()
            .map(|f| FieldRow {
                label: if en {
                    f.label_en.clone()
                } else {
                    f.label_vi.clone()
                },
                kind: t.get(match f.kind {
                    FieldKind::Text { .. } => "field-text",
                    FieldKind::Date => "field-date",
                    FieldKind::Integer { .. } => "field-integer",
                    FieldKind::Choice { .. } => "field-choice",
                    FieldKind::CitizenId => "field-citizen-id",
                    FieldKind::UnitCode => "field-unit",
                }),
                required: f.required,
                from_registry: f.source.is_some(),
            })
            .collect(),
        t,
    };
    Ok(render(&tpl))
}
