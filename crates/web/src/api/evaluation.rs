//! The service evaluation: applicants rate decided applications; leaders read, per commune
//! and agency over a span of months, satisfaction, applications' on-time rate, and how many
//! reports were resolved and how fast. The public reads the same per commune over whole
//! months that have ended, each figure as published from at least five cases and
//! published again only after five more changes (see `publishable`): no reading, and no
//! difference of two readings, points at fewer than five people.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::evaluation::{self as uc, Evaluation, GroupBy, Span};
use sohoa_domain::feedback::evaluation::Month;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRating {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5, example = 5)]
    pub satisfaction: i64,
    /// Whether the applicant got the result when promised.
    pub on_time: bool,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationRatingView {
    pub number: String,
    pub satisfaction: i64,
    pub on_time: bool,
    pub comment: Option<String>,
    pub rated_at: String,
}

/// The applicant rates a decided application, once.
#[utoipa::path(post, path = "/api/v1/applications/{number}/rating", tag = "feedback", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")), request_body = ApplicationRating,
    responses((status = 201, body = ApplicationRatingView), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn rate_application(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<ApplicationRating>,
) -> ApiResult<(StatusCode, Json<ApplicationRatingView>)> {
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    let r = sohoa_app::applications::rate(
        &state,
        who,
        &number,
        body.satisfaction,
        body.on_time,
        body.comment.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationRatingView {
            number: r.number,
            satisfaction: r.satisfaction,
            on_time: r.on_time,
            comment: r.comment,
            rated_at: r.rated_at,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// First month, `YYYY-MM` (default: eleven months before `to`).
    #[param(value_type = Option<sohoa_domain::feedback::evaluation::Month>)]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: this month).
    #[param(value_type = Option<sohoa_domain::feedback::evaluation::Month>)]
    pub to: Option<String>,
    /// `unit` (default), `agency`, or `unit_agency` (leaders only).
    #[param(pattern = "^(unit|agency|unit_agency)$")]
    pub by: Option<String>,
}

/// One row of the evaluation. Rates are 0-1; a figure is `null` when nothing was counted
/// (or, publicly, fewer than five cases).
impl Period {
    /// The months asked for.
    pub(crate) fn span(&self) -> Result<Span, AppError> {
        let month = |s: Option<&str>, field: &'static str| match s {
            None => Ok(None),
            Some(s) => Month::parse(s)
                .map(Some)
                .map_err(|_| AppError::bad_request("invalid_month").field(field)),
        };
        let to = month(self.to.as_deref(), "to")?;
        let from = month(self.from.as_deref(), "from")?;
        Ok(Span::new(from, to)?)
    }
}

/// The full evaluation for leaders and city administrators, by commune, agency or both.
#[utoipa::path(get, path = "/api/v1/evaluation", tag = "feedback", security(("bearer" = [])), params(Period),
    responses((status = 200, body = Evaluation), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn full(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Period>,
) -> ApiResult<Json<Evaluation>> {
    let by = match p.by.as_deref() {
        None | Some("unit") => GroupBy::Unit,
        Some("agency") => GroupBy::Agency,
        Some("unit_agency") => GroupBy::UnitAndAgency,
        Some(_) => return Err(AppError::bad_request("invalid_query").field("by")),
    };
    Ok(Json(uc::full(&state, &caller.0, p.span()?, by).await?))
}

/// The public evaluation: per commune over the months of the period that have ended, no
/// figure (nor any difference of two readings) from fewer than five cases.
#[utoipa::path(get, path = "/api/v1/evaluation/public", tag = "feedback", params(Period),
    responses((status = 200, body = Evaluation), (status = 400, body = crate::error::ErrorBody)))]
pub async fn public(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<Period>,
) -> ApiResult<Json<Evaluation>> {
    if !matches!(p.by.as_deref(), None | Some("unit")) {
        return Err(AppError::bad_request("invalid_query").field("by"));
    }
    Ok(Json(uc::public(&state, p.span()?).await?))
}
