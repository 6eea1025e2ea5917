//! One error type for the whole web layer. Client errors keep their status and say, in both
//! languages, what to change; internal errors say nothing of their cause to the client and
//! are logged (with the route) by the observing middleware.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sohoa_storage::StorageError;

use crate::i18n::{catalog, Lang};

/// Every error code the platform answers with. Each has `error-<code>` messages (with `_`
/// turned into `-`) in every locale; a test checks it.
pub const ALL_CODES: &[&str] = &[
    "invalid_json",
    "invalid_body",
    "already_filed",
    "invalid_token",
    "invalid_activation_code",
    "unsupported_media_type",
    "payload_too_large",
    "invalid_query",
    "invalid_page",
    "invalid_date",
    "invalid_unit_code",
    "invalid_unit_kind",
    "unit_not_found",
    "unknown_unit",
    "invalid_agency_code",
    "invalid_agency_name",
    "agency_level_mismatch",
    "agency_not_found",
    "agency_exists",
    "unauthenticated",
    "unknown_agency",
    "invalid_purpose",
    "invalid_field",
    "invalid_legal_basis",
    "no_grant",
    "field_not_granted",
    "record_not_found",
    "invalid_citizen_id",
    "invalid_tax_code",
    "invalid_parcel_key",
    "key_not_found",
    "enterprise_not_found",
    "enterprise_not_trading",
    "invalid_grantee",
    "grant_not_found",
    "invalid_credentials",
    "account_locked",
    "unknown_citizen",
    "invalid_password",
    "account_exists",
    "invalid_valid_until",
    "consent_not_found",
    "forbidden",
    "rate_limited",
    "csrf_failed",
    "invalid_username",
    "invalid_display_name",
    "invalid_role",
    "role_scope",
    "staff_exists",
    "username_outside_agency",
    "username_of_another_agency",
    "staff_not_found",
    "citizen_not_found",
    "not_awaiting_confirmation",
    "invalid_confirmation_code",
    "result_not_issued",
    "invalid_recipient",
    "already_handed_over",
    "invalid_vietqr",
    "vietqr_unavailable",
    "invalid_statement",
    "invalid_scan",
    "invalid_ticket_group",
    "tickets_exhausted",
    "invalid_desk",
    "no_ticket_waiting",
    "ticket_not_found",
    "scan_empty",
    "scan_too_many_pages",
    "scan_pdf_among_pages",
    "scan_type_mismatch",
    "scan_too_large",
    "job_not_found",
    "job_not_retryable",
    "job_not_cancellable",
    "totp_required",
    "invalid_totp",
    "oidc_unavailable",
    "oidc_failed",
    "oidc_not_found",
    "invalid_procedure_code",
    "invalid_procedure",
    "procedure_not_found",
    "idempotency_key_required",
    "idempotency_key_reused",
    "invalid_answers",
    "application_not_found",
    "illegal_transition",
    "application_changed",
    "no_deciding_agency",
    "comment_required",
    "invalid_comment",
    "invalid_assignee",
    "invalid_bulk",
    "invalid_assist_code",
    "unsupported_file_type",
    "empty_file",
    "pdf_unreadable",
    "pdf_unsigned",
    "signature_range_malformed",
    "signature_partial",
    "pdf_too_large",
    "certificate_serial_invalid",
    "certificate_not_found",
    "certificate_already_revoked",
    "certificate_is_root",
    "revocation_reason_invalid",
    "signature_not_whole_file",
    "signature_revoked",
    "signature_expired",
    "signature_untrusted",
    "signature_invalid",
    "signer_not_applicant",
    "form_already_signed",
    "form_not_this_application",
    "signature_required",
    "application_closed",
    "remote_signing_unavailable",
    "remote_signing_refused",
    "remote_signing_failed",
    "invalid_document_name",
    "document_not_found",
    "nothing_to_pay",
    "payments_unavailable",
    "invalid_signature",
    "payment_not_found",
    "payment_amount_mismatch",
    "invalid_receipt",
    "fee_unpaid",
    "result_not_found",
    "enterprise_required",
    "not_legal_representative",
    "not_found",
    "method_not_allowed",
    "timeout",
    "database_unavailable",
    "internal",
    "report_category_not_found",
    "invalid_description",
    "invalid_attribute",
    "invalid_address",
    "invalid_media_url",
    "invalid_location",
    "location_outside_city",
    "location_required",
    "invalid_contact",
    "contact_required",
    "no_responsible_agency",
    "report_not_found",
    "invalid_report_status",
    "resolution_note_required",
    "illegal_report_transition",
    "not_reporter",
    "invalid_score",
    "report_not_resolved",
    "report_already_rated",
    "invalid_note",
    "reopen_window_passed",
    "report_settled",
    "invalid_bbox",
    "photo_not_found",
    "too_many_photos",
    "report_changed",
    "application_not_decided",
    "application_already_rated",
    "invalid_month",
    "api_key_required",
    "service_code_required",
    "open311_not_found",
    "indicator_not_found",
    "invalid_indicator_code",
    "invalid_indicator",
    "invalid_formula",
    "indicator_derived",
    "invalid_rules",
    "indicator_period_mismatch",
    "invalid_period",
    "indicator_value_repeated",
    "invalid_indicator_value",
    "indicator_value_below_min",
    "indicator_value_above_max",
    "indicator_values_rejected",
    "invalid_csv",
    "invalid_csv_row",
    "indicator_value_not_found",
    "indicator_value_reviewed",
    "review_note_required",
    "invalid_task",
    "task_not_found",
    "invalid_progress",
    "task_closed",
    "task_changed",
    "series_too_short",
    "no_forecast",
    "indicator_not_derived",
];

pub fn message_key(code: &str) -> String {
    format!("error-{}", code.replace('_', "-"))
}

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    /// Values for the message's placeholders.
    pub args: Vec<(&'static str, String)>,
    /// The field the error is about, when there is one.
    pub field: Option<String>,
    /// A technical detail safe to show (e.g. a JSON parser's position); never internal state.
    pub detail: Option<String>,
    /// The cause of an internal error: logged, never sent.
    pub internal: Option<String>,
    /// Seconds to wait before trying again (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u32>,
    /// A bearer token was presented and is not valid: the 401's challenge says so
    /// (RFC 6750 §3.1), whatever the kind of token.
    pub invalid_token: bool,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        debug_assert!(ALL_CODES.contains(&code), "unlisted error code {code}");
        Self {
            status,
            code,
            args: Vec::new(),
            field: None,
            detail: None,
            internal: None,
            retry_after: None,
            invalid_token: false,
        }
    }
    pub fn bad_request(code: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code)
    }
    pub fn unprocessable(code: &'static str) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code)
    }
    pub fn not_found(code: &'static str) -> Self {
        Self::new(StatusCode::NOT_FOUND, code)
    }
    pub fn conflict(code: &'static str) -> Self {
        Self::new(StatusCode::CONFLICT, code)
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal");
        e.internal = Some(cause.to_string());
        e
    }
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Marks a 401 as the answer to a bearer token that is not valid.
    pub fn bearer_invalid(mut self) -> Self {
        self.invalid_token = true;
        self
    }

    /// Sets `Retry-After`, and the `seconds` the message may quote.
    pub fn retry_after(mut self, secs: u64) -> Self {
        let secs = u32::try_from(secs).unwrap_or(u32::MAX);
        self.retry_after = Some(secs);
        self.arg("seconds", secs)
    }

    /// The headers that belong with this error whatever renders it (JSON or a page).
    pub fn decorate(&self, res: &mut Response) {
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.invalid_token {
                r#"Bearer error="invalid_token""#
            } else {
                "Bearer"
            };
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        // Messages that name the thing at fault say `{$detail}`; an error raised with only
        // its field names that field there rather than print the placeholder.
        match (&self.field, self.args.iter().any(|(k, _)| *k == "detail")) {
            (Some(field), false) => {
                let mut args = self.args.clone();
                args.push(("detail", field.clone()));
                catalog().get(lang, &message_key(self.code), &args)
            }
            _ => catalog().get(lang, &message_key(self.code), &self.args),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message_vi: self.message(Lang::Vi),
                message_en: self.message(Lang::En),
                field: self.field.clone(),
                detail: self.detail.clone(),
            },
        }
    }
}

/// The JSON shape of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code, stable across releases.
    #[schema(example = "invalid_json")]
    pub code: String,
    pub message_vi: String,
    pub message_en: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Carried in the response's extensions so the observing middleware can log an internal
/// error's cause together with the route.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body())).into_response();
        self.decorate(&mut res);
        if let Some(cause) = self.internal {
            res.extensions_mut().insert(InternalCause(cause));
        }
        res
    }
}

/// A use case's error as HTTP says it.
impl From<sohoa_app::Error> for AppError {
    fn from(e: sohoa_app::Error) -> Self {
        use sohoa_app::Kind;
        let status = match e.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::TooMany => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut err = AppError::new(status, e.code);
        err.args = e.args;
        err.field = e.field;
        err.detail = e.detail;
        err.internal = e.cause;
        err.retry_after = e.retry_after.map(|s| u32::try_from(s).unwrap_or(u32::MAX));
        err
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            let mut err = AppError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
                .retry_after(sohoa_app::error::DATABASE_RETRY_AFTER);
            err.internal = Some(e.to_string());
            return err;
        }
        AppError::internal(e)
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => {
                AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            JsonRejection::JsonSyntaxError(e) => {
                AppError::bad_request("invalid_json").detail(e.body_text())
            }
            JsonRejection::JsonDataError(e) => {
                AppError::unprocessable("invalid_body").detail(e.body_text())
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                    .arg("limit", crate::BODY_LIMIT)
            }
            other => AppError::bad_request("invalid_json").detail(other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        let detail = r.body_text();
        let detail = detail
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&detail)
            .to_owned();
        AppError::bad_request("invalid_query")
            .arg("detail", &detail)
            .detail(detail)
    }
}

pub type ApiResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_with_a_field_never_prints_the_detail_placeholder() {
        for code in ALL_CODES {
            for lang in [Lang::Vi, Lang::En] {
                let m = AppError::new(StatusCode::BAD_REQUEST, code)
                    .field("limit")
                    .message(lang);
                assert!(!m.contains("$detail"), "{code}: {m}");
            }
        }
    }

    /// Every code raised by the use cases or by this crate has its messages: a code is
    /// listed in `ALL_CODES` (whose messages the i18n test checks), found by reading the
    /// sources, since a code raised on a path no test takes would otherwise go unseen.
    #[test]
    fn every_code_raised_anywhere_is_listed() {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        walk(&here.join("src"), &mut sources);
        walk(&here.join("../app/src"), &mut sources);
        let ctors = [
            "bad_request(\"",
            "unprocessable(\"",
            "not_found(\"",
            "conflict(\"",
            "forbidden(\"",
        ];
        let mut raised = std::collections::BTreeSet::new();
        for src in &sources {
            for ctor in ctors {
                for part in src.split(ctor).skip(1) {
                    if let Some((code, _)) = part.split_once('"') {
                        raised.insert(code.to_owned());
                    }
                }
            }
        }
        assert!(raised.len() > 50, "{raised:?}");
        let unlisted: Vec<_> = raised
            .iter()
            .filter(|c| !ALL_CODES.contains(&c.as_str()))
            .collect();
        assert!(unlisted.is_empty(), "codes without messages: {unlisted:?}");
    }
}
