//! Applying on the web: the procedure's form with every field the registries hold already
//! filled in and locked (the citizen may say one is wrong), documents picked from the
//! citizen's own store, and a receipt with the number and the secret code to follow it.
//! Filing goes through the API's own path (`api::applications::file`), idempotency key
//! included, so a double click files once.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sohoa_domain::policy::{Principal, Role};
use sohoa_domain::services::application::{fill, readable, Answer, Completeness, Flag};
use sohoa_domain::services::procedure::{FieldKind, Procedure, ProcedureCode};
use sohoa_domain::CitizenId;
use sohoa_storage::files::Document;

use super::{render, PageCtx, Shell};
use crate::api::applications::{ApplicationView, Attachment, NewApplication, OnBehalfOf};
use crate::auth::{self, Caller};
use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::{Lang, Tr};
use crate::AppState;
use sohoa_app::applications as uc;
use sohoa_domain::services::application::LookupCode;

pub(super) struct FieldRow {
    pub(super) key: String,
    pub(super) label: String,
    /// `text`, `date`, `number` or `select`.
    pub(super) input: &'static str,
    pub(super) required: bool,
    pub(super) max_len: Option<u32>,
    pub(super) min: Option<i64>,
    pub(super) max: Option<i64>,
    pub(super) options: Vec<String>,
    /// From the registry: shown, not editable.
    pub(super) locked: bool,
    pub(super) value: String,
    pub(super) flag: String,
    /// This field's error, in the page's language.
    pub(super) error: Option<String>,
}

pub(super) struct DocRow {
    pub(super) code: String,
    pub(super) label: String,
    pub(super) required: bool,
    /// `(document id, name)` from the citizen's store.
    pub(super) choices: Vec<(String, String)>,
    pub(super) chosen: String,
}

struct Receipt {
    number: String,
    lookup_code: String,
    status: String,
    fee: String,
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyTemplate {
    shell: Shell,
    t: Tr,
    code: String,
    name: String,
    csrf: String,
    /// A fresh key per form shown: submitting the same form twice files once.
    idempotency_key: String,
    fields: Vec<FieldRow>,
    documents: Vec<DocRow>,
    error: Option<String>,
    receipt: Option<Receipt>,
    /// A digital team member who has not yet given the citizen's number and assist code.
    behalf_gate: bool,
    /// The citizen a digital team member is helping, with the code they gave.
    behalf: Option<Behalf>,
    /// Why the number or code was refused, beside the code's field.
    behalf_error: Option<String>,
}

struct Behalf {
    citizen: String,
    code: String,
    name: String,
}

/// What the citizen typed, by form control name.
pub(super) type Posted = Vec<(String, String)>;

pub(super) fn posted<'a>(p: &'a Posted, name: &str) -> &'a str {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// Whom the form is for: the signed-in citizen, or, for a community digital team member,
/// the citizen whose number and live assist code were posted (`None`: not given yet).
/// The code is checked before anything of the citizen's is shown; filing consumes it.
async fn applicant(
    caller: &Caller,
    posted_values: Option<&Posted>,
) -> Result<Option<Option<(uc::Behalf, (String, String))>>, AppError> {
    match &caller.0 {
        Principal::Citizen(_) => Ok(Some(None)),
        Principal::Staff(s) if s.role == Role::DigitalTeam => {
            let Some(p) = posted_values else {
                return Ok(None);
            };
            let (number, code) = (
                posted(p, "behalf.citizen").trim(),
                posted(p, "behalf.code").trim(),
            );
            if number.is_empty() && code.is_empty() {
                return Ok(None);
            }
            let refused = || AppError::unprocessable("invalid_assist_code").field("behalf");
            let citizen = CitizenId::parse(number)
                .map_err(|_| AppError::unprocessable("invalid_citizen_id").field("behalf"))?;
            let code_hash = LookupCode::parse(code)
                .map(|c| c.hash())
                .ok_or_else(refused)?;
            let behalf = uc::Behalf { citizen, code_hash };
            Ok(Some(Some((behalf, (number.to_owned(), code.to_owned())))))
        }
        _ => Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
        )),
    }
}

/// The page a digital team member starts from: the citizen's number and assist code.
fn gate(
    ctx: &PageCtx,
    headers: &HeaderMap,
    code: &str,
    error: Option<String>,
) -> Result<(ApplyTemplate, Option<axum::http::HeaderValue>), AppError> {
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let t = ctx.t();
    Ok((
        ApplyTemplate {
            shell: ctx.shell("procedures", t.get("apply-title")),
            t,
            code: code.to_owned(),
            name: String::new(),
            csrf,
            idempotency_key: String::new(),
            fields: Vec::new(),
            documents: Vec::new(),
            error: None,
            receipt: None,
            behalf_gate: true,
            behalf: None,
            behalf_error: error,
        },
        cookie,
    ))
}

/// The form's fields: locked ones show the registry's value, the others what was posted.
pub(super) fn field_rows(
    p: &Procedure,
    prefilled: &[Answer],
    posted_values: Option<&Posted>,
    en: bool,
) -> Vec<FieldRow> {
    p.form
        .iter()
        .map(|f| {
            let locked = f.source.is_some();
            let value = if locked {
                prefilled
                    .iter()
                    .find(|a| a.key == f.key)
                    .map(|a| readable(&a.value))
                    .unwrap_or_default()
            } else {
                posted_values
                    .map(|p| posted(p, &format!("answer.{}", f.key)).to_owned())
                    .unwrap_or_default()
            };
            let (input, max_len, min, max, options) = match &f.kind {
                FieldKind::Text { max_len } => ("text", Some(*max_len), None, None, vec![]),
                FieldKind::Date => ("date", None, None, None, vec![]),
                FieldKind::Integer { min, max } => ("number", None, Some(*min), Some(*max), vec![]),
                FieldKind::Choice { options } => ("select", None, None, None, options.clone()),
                FieldKind::CitizenId => ("text", Some(12), None, None, vec![]),
                FieldKind::UnitCode => ("text", Some(5), None, None, vec![]),
            };
            FieldRow {
                key: f.key.clone(),
                label: if en {
                    f.label_en.clone()
                } else {
                    f.label_vi.clone()
                },
                input,
                required: f.required,
                max_len,
                min,
                max,
                options,
                locked,
                value,
                flag: posted_values
                    .map(|p| posted(p, &format!("flag.{}", f.key)).to_owned())
                    .unwrap_or_default(),
                error: None,
            }
        })
        .collect()
}

/// The documents the procedure asks for, each with the applicant's documents to choose.
pub(super) fn doc_rows(
    p: &Procedure,
    mine: &[Document],
    posted_values: Option<&Posted>,
    en: bool,
) -> Vec<DocRow> {
    p.documents
        .iter()
        .map(|d| DocRow {
            code: d.code.clone(),
            label: if en {
                d.name_en.clone()
            } else {
                d.name_vi.clone()
            },
            required: d.required,
            choices: mine
                .iter()
                .map(|m| (m.id.clone(), m.name.clone()))
                .collect(),
            chosen: posted_values
                .map(|p| posted(p, &format!("doc.{}", d.code)).to_owned())
                .unwrap_or_default(),
        })
        .collect()
}

/// A refused citizen's number or assist code shows the gate again, saying why; any other
/// error is the page's.
fn gate_or_fail(
    ctx: &PageCtx,
    headers: &HeaderMap,
    code: &str,
    e: AppError,
) -> Result<(ApplyTemplate, Option<axum::http::HeaderValue>), AppError> {
    if e.field.as_deref() == Some("behalf") || e.code == "invalid_assist_code" {
        gate(ctx, headers, code, Some(e.message(ctx.lang)))
    } else {
        Err(e)
    }
}

/// Builds the form of `code` for its applicant, with what was posted (if any).
async fn form(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
    addr: Option<&str>,
    headers: &HeaderMap,
    code: &str,
    posted_values: Option<&Posted>,
) -> Result<(ApplyTemplate, Option<axum::http::HeaderValue>), AppError> {
    let (helper, behalf) = match applicant(caller, posted_values).await {
        Ok(Some(Some((helper, posted)))) => (Some(helper), Some(posted)),
        Ok(Some(None)) => (None, None),
        Ok(None) => return gate(ctx, headers, code, None),
        Err(e) => return gate_or_fail(ctx, headers, code, e),
    };
    let code =
        ProcedureCode::parse(code).ok_or_else(|| AppError::not_found("procedure_not_found"))?;
    let who = sohoa_app::Acting::new(&caller.0, addr);
    let prepared = match uc::prepare(state, who, &code, helper.as_ref()).await {
        Ok(p) => p,
        Err(e) => return gate_or_fail(ctx, headers, code.as_str(), e.into()),
    };
    let p = &prepared.procedure.procedure;
    let records = &prepared.records;
    // The registry's values, exactly as filing will take them.
    let prefilled =
        fill(p, records, &serde_json::Map::new(), Completeness::Draft).unwrap_or_default();
    let prefilled_name = records
        .citizen
        .get("full_name")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let en = ctx.lang == Lang::En;
    let fields = field_rows(p, &prefilled, posted_values, en);
    let documents = doc_rows(p, &prepared.documents, posted_values, en);
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let key = format!("web-{}", hex::encode(crate::auth::random_bytes::<12>()?));
    let t = ctx.t();
    Ok((
        ApplyTemplate {
            shell: ctx.shell("procedures", t.get("apply-title")),
            t,
            code: code.to_string(),
            name: if en {
                p.name_en.clone()
            } else {
                p.name_vi.clone()
            },
            csrf,
            idempotency_key: posted_values
                .map(|p| posted(p, "idempotency_key").to_owned())
                .filter(|k| !k.is_empty())
                .unwrap_or(key),
            fields,
            documents,
            error: None,
            receipt: None,
            behalf_gate: false,
            behalf: behalf.map(|(citizen, code)| Behalf {
                citizen,
                code,
                name: prefilled_name,
            }),
            behalf_error: None,
        },
        cookie,
    ))
}

/// The form, pre-filled from the registry.
pub async fn apply_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> PageResult<Response> {
    let (tpl, cookie) = form(&state, &ctx, &caller, None, &headers, &code, None)
        .await
        .page(ctx.lang)?;
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

/// Files the application; on an error, the form again with the error beside its field.
/// The application the filled form stands for: the fields typed in, the flags on locked
/// ones, the documents chosen, and whom it is for.
fn application_of(tpl: &ApplyTemplate) -> NewApplication {
    let mut app = typed_application(&tpl.code, &tpl.fields, &tpl.documents);
    app.on_behalf_of = tpl.behalf.as_ref().map(|b| OnBehalfOf {
        citizen_id: b.citizen.clone(),
        code: b.code.clone(),
    });
    app
}

/// The application a filled form of `code` stands for: the fields typed in, the flags on
/// locked ones, the documents chosen.
pub(super) fn typed_application(
    code: &str,
    fields: &[FieldRow],
    documents: &[DocRow],
) -> NewApplication {
    let mut answers = serde_json::Map::new();
    let mut flags = Vec::new();
    for f in fields {
        if f.locked {
            if !f.flag.trim().is_empty() {
                flags.push(Flag {
                    field: f.key.clone(),
                    note: f.flag.trim().to_owned(),
                });
            }
        } else if !f.value.trim().is_empty() {
            let v = f.value.trim();
            let value = match (f.input, v.parse::<i64>()) {
                ("number", Ok(n)) => serde_json::Value::from(n),
                _ => serde_json::Value::from(v),
            };
            answers.insert(f.key.clone(), value);
        }
    }
    let documents = documents
        .iter()
        .filter(|d| !d.chosen.is_empty())
        .map(|d| Attachment {
            code: d.code.clone(),
            document_id: d.chosen.clone(),
        })
        .collect();
    NewApplication {
        procedure_code: code.to_owned(),
        answers,
        flags,
        submit: true,
        on_behalf_of: None,
        documents,
        enterprise: None,
    }
}

/// A refusal's message, also shown beside the field it names (if the form has it).
pub(super) fn field_error(fields: &mut [FieldRow], e: &AppError, lang: Lang) -> String {
    let message = e.message(lang);
    if let Some(f) = fields.iter_mut().find(|f| Some(&f.key) == e.field.as_ref()) {
        f.error = Some(message.clone());
    }
    message
}

/// What the applicant is told once it is filed: the number, the code to look it up, the
/// status and the fee (or its waiver).
fn receipt(t: Tr, view: ApplicationView) -> Receipt {
    let money = |n: i64| {
        sohoa_domain::Money::from_dong(n)
            .map(|m| m.to_string())
            .unwrap_or_else(|_| n.to_string())
    };
    let fee = match (view.fee, view.fee_payable, &view.waiver_basis) {
        (Some(fee), Some(0), Some(basis)) if fee > 0 => {
            t.with2("apply-fee-waived", "fee", money(fee), "basis", basis)
        }
        (_, Some(n), _) if n > 0 => t.with("apply-fee-due", "fee", money(n)),
        _ => t.get("apply-fee-none"),
    };
    Receipt {
        status: super::applications::status_name(t, view.status),
        fee,
        number: view.number.to_string(),
        lookup_code: view.lookup_code.unwrap_or_default(),
    }
}

pub async fn apply_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Result<Form<Posted>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(p)) = body else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, posted(&p, "csrf")).page(ctx.lang)?;
    let (mut tpl, cookie) = form(
        &state,
        &ctx,
        &caller,
        addr.as_deref(),
        &headers,
        &code,
        Some(&p),
    )
    .await
    .page(ctx.lang)?;
    // A digital team member's number and code checked: now the form itself, to be filled.
    if tpl.behalf_gate || posted(&p, "stage") == "behalf" {
        return Ok(super::account::with_cookie(render(&tpl), cookie));
    }
    let body = application_of(&tpl);
    let key = tpl.idempotency_key.clone();
    match crate::api::applications::file(&state, &caller, addr, key, body).await {
        Ok((view, _)) => tpl.receipt = Some(receipt(ctx.t(), view)),
        Err(e) if e.status.is_client_error() => {
            tpl.error = Some(field_error(&mut tpl.fields, &e, ctx.lang));
        }
        Err(e) => return Err(e).page(ctx.lang),
    }
    Ok(super::account::with_cookie(render(&tpl), cookie))
}
