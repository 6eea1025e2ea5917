use askama::Template;
use axum::extract::State;
use axum::response::Response;
use sohoa_domain::paging::PageRequest;

use super::{render, PageCtx, Shell};
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate {
    shell: Shell,
    t: Tr,
    communes: i64,
    agencies: i64,
}

pub async fn home(State(state): State<AppState>, ctx: PageCtx) -> PageResult<Response> {
    let query = sohoa_storage::units::UnitQuery {
        as_of: crate::api::today(),
        level: Some(sohoa_domain::units::UnitLevel::Commune),
        kind: None,
        parent: None,
        search: None,
        page: PageRequest::parse(Some(1), Some(1)).unwrap_or_default(),
    };
    let communes = sohoa_app::units::list(&state, &query)
        .await
        .page(ctx.lang)?
        .total;
    let agencies = sohoa_app::agencies::list(&state, None, None, PageRequest::default())
        .await
        .page(ctx.lang)?
        .total;
    let t = ctx.t();
    Ok(render(&HomeTemplate {
        shell: ctx.shell("home", t.get("home-title")),
        t,
        communes,
        agencies,
    }))
}
