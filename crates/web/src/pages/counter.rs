//! The one-stop counter on the web, for its officers: call the next number to the desk,
//! identify the person by CCCD, scan what they brought, fill the procedure's form for them
//! (their registry fields locked, their documents offered), and take their confirmation
//! (the code they were sent, or their signature on the printed receipt). Every step is a
//! use case of `sohoa_app::counter` or `sohoa_app::tickets`; no script is needed. Beside
//! it, public: the kiosk where people take a number, and the waiting room's board.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sohoa_domain::counter::{label, GROUPS};
use sohoa_domain::policy::Principal;
use sohoa_domain::services::application::{fill, Completeness};
use sohoa_domain::services::procedure::ProcedureCode;

use super::apply::{
    doc_rows, field_error, field_rows, posted, typed_application, DocRow, FieldRow, Posted,
};
use super::{render, PageCtx, Shell};
use crate::api::applications::command;
use crate::auth::{self, Caller};
use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::{Lang, Tr};
use crate::AppState;
use sohoa_app::counter as uc;
use sohoa_app::Acting;

/// The person at the desk, as shown.
pub(super) struct PersonRow {
    citizen_id: String,
    name: String,
    born: String,
    address: String,
    contact: String,
    /// `(name, origin, checked)` of their documents.
    documents: Vec<(String, String, bool)>,
}

pub(super) struct FiledRow {
    number: String,
    status: String,
    code_sent_to: Option<String>,
    confirmed: bool,
    /// The VietQR code (SVG we drew) for the fee owed, when the city takes transfers.
    vietqr: Option<String>,
}

pub(super) struct CalledRow {
    id: String,
    label: String,
    desk: String,
}

#[derive(Template)]
#[template(path = "counter.html")]
pub(super) struct CounterTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    agency: String,
    error: Option<String>,
    notice: Option<String>,
    called: Option<CalledRow>,
    groups: Vec<(char, String)>,
    person: Option<PersonRow>,
    /// `(code, name)` of the procedures one may file.
    procedures: Vec<(String, String)>,
    /// What the procedures were searched for.
    q: String,
    /// The form of the procedure chosen.
    code: String,
    name: String,
    idempotency_key: String,
    fields: Vec<FieldRow>,
    documents: Vec<DocRow>,
    filed: Option<FiledRow>,
}

fn agency_of(caller: &Caller) -> String {
    match &caller.0 {
        Principal::Staff(s) => s
            .agency
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn empty(ctx: &PageCtx, caller: &Caller, csrf: String) -> CounterTemplate {
    let t = ctx.t();
    let en = ctx.lang == Lang::En;
    CounterTemplate {
        shell: ctx.shell("counter", t.get("counter-title")),
        t,
        csrf,
        agency: agency_of(caller),
        error: None,
        notice: None,
        called: None,
        groups: GROUPS
            .iter()
            .map(|g| (g.code, if en { g.name_en } else { g.name_vi }.to_owned()))
            .collect(),
        person: None,
        procedures: Vec::new(),
        q: String::new(),
        code: String::new(),
        name: String::new(),
        idempotency_key: String::new(),
        fields: Vec::new(),
        documents: Vec::new(),
        filed: None,
    }
}

/// The counter's start: call the next number, identify the person.
pub async fn counter(ctx: PageCtx, caller: Caller, headers: HeaderMap) -> PageResult<Response> {
    let (csrf, cookie) = auth::csrf_token(&headers).page(ctx.lang)?;
    let tpl = empty(&ctx, &caller, csrf);
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

/// The person identified by `citizen`, with their documents, and the procedures offered:
/// those matching `q` (diacritics aside), at most a page of 200.
async fn person(
    state: &AppState,
    who: Acting<'_>,
    citizen: &str,
    en: bool,
    q: Option<&str>,
) -> Result<(PersonRow, Vec<(String, String)>), AppError> {
    let p = uc::identify(state, who, citizen).await?;
    let c = p.citizen;
    let docs = sohoa_app::counter::documents_of(state, who, c.citizen_id.as_str()).await?;
    let page = sohoa_domain::paging::PageRequest::parse(Some(1), Some(200))
        .map_err(|_| AppError::internal("a page of 200"))?;
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let procedures = sohoa_app::catalog::list(state, q, None, None, page)
        .await?
        .items
        .into_iter()
        .map(|v| {
            let name = if en {
                v.procedure.name_en
            } else {
                v.procedure.name_vi
            };
            (v.procedure.code.to_string(), name)
        })
        .collect();
    Ok((
        PersonRow {
            citizen_id: c.citizen_id.to_string(),
            name: c.full_name,
            born: super::display_date(c.date_of_birth),
            address: format!(
                "{}, {}",
                c.permanent_address.street, c.permanent_address.unit_code
            ),
            contact: p.contact.unwrap_or_else(|| "—".into()),
            documents: docs
                .into_iter()
                .map(|d| {
                    let checked = matches!(
                        d.origin,
                        sohoa_storage::files::Origin::CounterScan {
                            checked: Some(_),
                            ..
                        }
                    );
                    (d.name, d.origin.as_str().to_owned(), checked)
                })
                .collect(),
        },
        procedures,
    ))
}

/// Every step of the counter's work posts here, named by `stage`.
pub async fn counter_post(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Form<Posted>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(p)) = body else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, posted(&p, "csrf")).page(ctx.lang)?;
    let (csrf, cookie) = auth::csrf_token(&headers).page(ctx.lang)?;
    let mut tpl = empty(&ctx, &caller, csrf);
    let who = Acting::new(&caller.0, addr.as_deref());
    let outcome = match posted(&p, "stage") {
        "call" => call(&state, who, &p, &mut tpl).await,
        "finish" => finish(&state, who, &p, &mut tpl).await,
        "identify" => identify(&state, who, &p, &mut tpl, ctx.lang).await,
        "form" => form(&state, who, &p, &mut tpl, ctx.lang).await,
        "file" => file(&state, who, &p, &mut tpl, ctx.lang).await,
        "confirm" => confirm(&state, who, &p, &mut tpl).await,
        "handover" => handover(&state, who, &p, &mut tpl).await,
        _ => Err(AppError::bad_request("invalid_body")),
    };
    match outcome {
        Ok(()) => {}
        Err(e) if e.status.is_client_error() => {
            tpl.error = Some(field_error(&mut tpl.fields, &e, ctx.lang));
        }
        Err(e) => return Err(e).page(ctx.lang),
    }
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

async fn call(
    state: &AppState,
    who: Acting<'_>,
    p: &Posted,
    tpl: &mut CounterTemplate,
) -> Result<(), AppError> {
    let group = Some(posted(p, "group")).filter(|g| !g.is_empty());
    let t = sohoa_app::tickets::call_next(state, who, group, posted(p, "desk")).await?;
    tpl.called = Some(CalledRow {
        label: label(t.group, t.number),
        desk: t.desk.unwrap_or_default(),
        id: t.id,
    });
    Ok(())
}

async fn finish(
    state: &AppState,
    who: Acting<'_>,
    p: &Posted,
    tpl: &mut CounterTemplate,
) -> Result<(), AppError> {
    let served = posted(p, "outcome") == "served";
    let t = sohoa_app::tickets::finish(state, who, posted(p, "ticket"), served).await?;
    let key = if served {
        "counter-ticket-served"
    } else {
        "counter-ticket-no-show"
    };
    tpl.notice = Some(tpl.t.with(key, "ticket", label(t.group, t.number)));
    Ok(())
}

async fn identify(
    state: &AppState,
    who: Acting<'_>,
    p: &Posted,
    tpl: &mut CounterTemplate,
    lang: Lang,
) -> Result<(), AppError> {
    let q = Some(posted(p, "q"));
    let (person, procedures) = person(
        state,
        who,
        posted(p, "citizen_id").trim(),
        lang == Lang::En,
        q,
    )
    .await?;
    tpl.person = Some(person);
    tpl.procedures = procedures;
    tpl.q = posted(p, "q").to_owned();
    Ok(())
}

/// The procedure's form for the person, with what was posted (if anything).
async fn form(
    state: &AppState,
    who: Acting<'_>,
    p: &Posted,
    tpl: &mut CounterTemplate,
    lang: Lang,
) -> Result<(), AppError> {
    let citizen = posted(p, "citizen_id").trim();
    let en = lang == Lang::En;
    let (person, procedures) = person(state, who, citizen, en, None).await?;
    tpl.person = Some(person);
    tpl.procedures = procedures;
    let code = ProcedureCode::parse(posted(p, "procedure"))
        .ok_or_else(|| AppError::unprocessable("invalid_procedure_code").field("procedure"))?;
    let prepared = uc::prepare(state, who, citizen, &code).await?;
    let proc = &prepared.procedure.procedure;
    let prefilled = fill(
        proc,
        &prepared.records,
        &serde_json::Map::new(),
        Completeness::Draft,
    )
    .unwrap_or_default();
    let staged = posted(p, "stage") == "file";
    tpl.fields = field_rows(proc, &prefilled, staged.then_some(p), en);
    tpl.documents = doc_rows(proc, &prepared.documents, staged.then_some(p), en);
    tpl.code = code.to_string();
    tpl.name = if en {
        proc.name_en.clone()
    } else {
        proc.name_vi.clone()
    };
    tpl.idempotency_key = Some(posted(p, "idempotency_key"))
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .unwrap_or(format!(
            "counter-{}",
            hex::encode(crate::auth::random_bytes::<12>()?)
        ));
    Ok(())
}

async fn file(
    state: &AppState,
    who: Acting<'_>,
    p: &Posted,
    tpl: &mut CounterTemplate,
    lang: Lang,
) -> Result<(), AppError> {
    form(state, who, p, tpl, lang).await?;
    let body = typed_application(&tpl.code, &tpl.fields, &tpl.documents);
    let digest = hex::encode(sha2::Digest::finalize(sha2::Digest::chain_update(
        <sha2::Sha256 as sha2::Digest>::new(),
        serde_json::to_vec(&body).map_err(AppError::internal)?,
    )));
    let cmd = command(body, tpl.idempotency_key.clone(), digest)?;
    let filed = uc::file(state, who, posted(p, "citizen_id").trim(), cmd).await?;
    let a = &filed.filed.detail.application;
    let vietqr = a
        .fee_payable
        .filter(|f| f.dong() > 0)
        .and_then(|f| crate::api::rails::vietqr_view(state, a.number.as_str(), f).ok())
        .map(|v| v.svg);
    tpl.filed = Some(FiledRow {
        number: a.number.to_string(),
        status: super::applications::status_name(tpl.t, a.status),
        code_sent_to: filed.code_sent_to.clone(),
        confirmed: false,
        vietqr,
    });
    tpl.fields.clear();
    tpl.documents.clear();
    Ok(())
}

async fn confirm(
    state: &AppState,
    who: Acting<'_>,
    p: &Posted,
    tpl: &mut CounterTemplate,
) -> Result<(), AppError> {
    let number = posted(p, "number");
    let how = match posted(p, "method") {
        "signed_receipt" => uc::Confirmation::SignedReceipt,
        _ => uc::Confirmation::Code(posted(p, "code").to_owned()),
    };
    // Shown again as it was, so a wrong code can be typed again.
    tpl.filed = Some(FiledRow {
        number: number.to_owned(),
        status: String::new(),
        code_sent_to: Some(posted(p, "code_sent_to").to_owned()).filter(|c| !c.is_empty()),
        confirmed: false,
        vietqr: None,
    });
    let d = uc::confirm(state, who, number, how).await?;
    tpl.filed = Some(FiledRow {
        number: d.application.number.to_string(),
        status: super::applications::status_name(tpl.t, d.application.status),
        code_sent_to: None,
        confirmed: true,
        vietqr: None,
    });
    Ok(())
}

/// A paper result handed over at this counter: to whom, which ID was checked.
async fn handover(
    state: &AppState,
    who: Acting<'_>,
    p: &Posted,
    tpl: &mut CounterTemplate,
) -> Result<(), AppError> {
    let cmd = uc::HandoverCmd {
        recipient_name: posted(p, "recipient_name").to_owned(),
        id_document: posted(p, "id_document").to_owned(),
    };
    let h = uc::hand_over(state, who, posted(p, "number").trim(), &cmd).await?;
    tpl.notice = Some(tpl.t.with2(
        "counter-handed-over",
        "number",
        h.number,
        "recipient",
        h.recipient,
    ));
    Ok(())
}

/// Scanning posts a multipart form: the person's CCCD, what the paper is, whether it was
/// checked against the original, and the pages.
pub async fn scan(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    mut form: axum::extract::Multipart,
) -> PageResult<Response> {
    let (csrf, cookie) = auth::csrf_token(&headers).page(ctx.lang)?;
    let mut tpl = empty(&ctx, &caller, csrf);
    let who = Acting::new(&caller.0, addr.as_deref());
    let mut fields = Posted::new();
    let mut pages = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::bad_request("invalid_body").detail(e.body_text()))
        .page(ctx.lang)?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() {
            let media = field
                .content_type()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::bad_request("invalid_body").detail(e.body_text()))
                .page(ctx.lang)?;
            if !bytes.is_empty() {
                pages.push((media, bytes.to_vec()));
            }
        } else {
            let text = field.text().await.unwrap_or_default();
            fields.push((name, text));
        }
    }
    auth::check_csrf(&headers, posted(&fields, "csrf")).page(ctx.lang)?;
    let citizen = posted(&fields, "citizen_id").trim().to_owned();
    let outcome = async {
        let mut checked = Vec::with_capacity(pages.len());
        for (media, bytes) in pages {
            let kind = crate::api::documents::sniff(&media, &bytes, crate::api::documents::KINDS)?;
            checked.push((kind, bytes));
        }
        let doc = uc::scan(
            &state,
            who,
            uc::Scan {
                citizen: citizen.clone(),
                name: posted(&fields, "name").to_owned(),
                checked_against_original: posted(&fields, "checked") == "on",
                pages: checked,
            },
        )
        .await?;
        Ok::<_, AppError>(doc)
    }
    .await;
    match outcome {
        Ok(doc) => tpl.notice = Some(tpl.t.with("counter-scanned", "name", doc.name)),
        Err(e) if e.status.is_client_error() => tpl.error = Some(e.message(ctx.lang)),
        Err(e) => return Err(e).page(ctx.lang),
    }
    if let Ok((person, procedures)) =
        person(&state, who, &citizen, ctx.lang == Lang::En, None).await
    {
        tpl.person = Some(person);
        tpl.procedures = procedures;
    }
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

/// The receipt's PDF, for the counter that took the application in.
pub async fn receipt(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> PageResult<Response> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let r = uc::receipt(&state, who, &number).await.page(ctx.lang)?;
    Ok(crate::api::counter::receipt_response(&state, &headers, &r))
}

#[derive(Template)]
#[template(path = "kiosk.html")]
struct KioskTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    agency: String,
    agency_name: String,
    groups: Vec<(char, String)>,
    /// The number taken: its label, its group, how many wait before it.
    ticket: Option<(String, String, i64)>,
    error: Option<String>,
}

async fn kiosk_page(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    agency: &str,
) -> Result<(KioskTemplate, Option<axum::http::HeaderValue>), AppError> {
    let board = sohoa_app::tickets::board(state, agency).await?;
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let t = ctx.t();
    let en = ctx.lang == Lang::En;
    Ok((
        KioskTemplate {
            shell: ctx.shell("counter", t.get("kiosk-title")),
            t,
            csrf,
            agency: board.agency.code.to_string(),
            agency_name: if en {
                board.agency.name_en
            } else {
                board.agency.name_vi
            },
            groups: GROUPS
                .iter()
                .map(|g| (g.code, if en { g.name_en } else { g.name_vi }.to_owned()))
                .collect(),
            ticket: None,
            error: None,
        },
        cookie,
    ))
}

/// The kiosk: a button per service group.
pub async fn kiosk(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    Path(agency): Path<String>,
) -> PageResult<Response> {
    let (tpl, cookie) = kiosk_page(&state, &ctx, &headers, &agency)
        .await
        .page(ctx.lang)?;
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

/// Takes a number and shows it, with how many wait before it.
pub async fn kiosk_take(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(agency): Path<String>,
    body: Result<Form<Posted>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(p)) = body else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, posted(&p, "csrf")).page(ctx.lang)?;
    let (mut tpl, cookie) = kiosk_page(&state, &ctx, &headers, &agency)
        .await
        .page(ctx.lang)?;
    let who = Acting::new(&caller.0, addr.as_deref());
    match sohoa_app::tickets::take(&state, who, &agency, posted(&p, "group")).await {
        Ok(t) => {
            let board = sohoa_app::tickets::board(&state, &agency)
                .await
                .page(ctx.lang)?;
            let ahead = board
                .lines
                .iter()
                .find(|l| l.group.code == t.group)
                .map_or(0, |l| l.waiting - 1);
            let group = tpl
                .groups
                .iter()
                .find(|g| g.0 == t.group)
                .map(|g| g.1.clone())
                .unwrap_or_default();
            tpl.ticket = Some((label(t.group, t.number), group, ahead.max(0)));
        }
        Err(e) => {
            let e = AppError::from(e);
            if !e.status.is_client_error() {
                return Err(e).page(ctx.lang);
            }
            tpl.error = Some(e.message(ctx.lang));
        }
    }
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardTemplate {
    shell: Shell,
    t: Tr,
    agency: String,
    agency_name: String,
    /// `(ticket, desk)`, newest first.
    called: Vec<(String, String)>,
    /// `(group, waiting, average wait)`.
    lines: Vec<(String, i64, String)>,
}

/// The waiting room's board: it reloads itself every five seconds (a television's browser
/// needs no script for it).
pub async fn display(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(agency): Path<String>,
) -> PageResult<Response> {
    let b = sohoa_app::tickets::board(&state, &agency)
        .await
        .page(ctx.lang)?;
    let t = ctx.t();
    let en = ctx.lang == Lang::En;
    Ok(render(&BoardTemplate {
        shell: ctx.shell("counter", t.get("board-title")),
        agency: b.agency.code.to_string(),
        agency_name: if en {
            b.agency.name_en
        } else {
            b.agency.name_vi
        },
        called: b
            .called
            .into_iter()
            .map(|c| (label(c.group, c.number), c.desk.unwrap_or_default()))
            .collect(),
        lines: b
            .lines
            .into_iter()
            .map(|l| {
                let name = if en { l.group.name_en } else { l.group.name_vi };
                let wait = l
                    .average_wait_minutes
                    .map_or_else(|| "—".to_owned(), |m| t.with("board-minutes", "minutes", m));
                (format!("{} — {name}", l.group.code), l.waiting, wait)
            })
            .collect(),
        t,
    }))
}
