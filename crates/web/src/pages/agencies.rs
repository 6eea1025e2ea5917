use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{render, PageCtx, Pager, Shell};
use crate::api::agencies::{list_page, AgencyListParams, AgencyView};
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::{Lang, Tr};
use crate::AppState;

struct AgencyRow {
    code: String,
    name: String,
    level: String,
    unit_code: String,
    unit_name: String,
}

#[derive(Template)]
#[template(path = "agencies.html")]
struct AgenciesTemplate {
    shell: Shell,
    t: Tr,
    q: String,
    total: i64,
    rows: Vec<AgencyRow>,
    pager: Pager,
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    params: Result<ApiQuery<AgencyListParams>, AppError>,
) -> PageResult<Response> {
    let ApiQuery(params) = params.page(ctx.lang)?;
    let page = list_page(&state, &params).await.page(ctx.lang)?;
    let t = ctx.t();
    let last = sohoa_domain::paging::last_page(page.total, page.per_page);
    let row = |a: AgencyView| AgencyRow {
        level: t.get(&format!("level-{}", a.level.as_str())),
        name: if ctx.lang == Lang::En {
            a.name_en
        } else {
            a.name_vi
        },
        code: a.code,
        unit_name: super::labels::unit(a.unit_code.as_str(), crate::api::today()),
        unit_code: a.unit_code,
    };
    Ok(render(&AgenciesTemplate {
        shell: ctx.shell("agencies", t.get("agencies-title")),
        t,
        q: params.q.clone().unwrap_or_default(),
        total: page.total,
        pager: Pager::new(&ctx, page.page, last),
        rows: page.items.into_iter().map(row).collect(),
    }))
}
