//! The one-stop counter (bộ phận một cửa): a counter officer identifies the person at the
//! desk by their CCCD, files any procedure for them through the very path online filing
//! takes (the same autofill, checks and record, its channel `counter`), and the person
//! confirms it on the spot, with the one-time code sent to their registered phone or
//! e-mail or by signing the printed receipt. Until then the filing is a draft nobody
//! processes. A ward's counter takes in its residents' applications; the city's Center for
//! Public Administrative Services takes in any, and each goes to its deciding agency.
//! Paper results are handed over at the counter, to a named person whose ID was checked.

use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::policy::{Action, Principal, Role, Target};
use sohoa_domain::registry::clean_text;
use sohoa_domain::services::application::LookupCode;
use sohoa_domain::services::channel::Channel;
use sohoa_domain::services::workflow::Status;
use sohoa_domain::{CitizenId, Timestamp};
use sohoa_storage::applications::{self as store, Application};
use sohoa_storage::counter::{self as rows, Handover};
use sohoa_storage::registry::citizens;
use sohoa_storage::StorageError;

use crate::applications::{
    audit_read, file_by, moved, reloaded, Counter, Detail, FileApplication, Filed,
};
use crate::{Acting, App, Error, Result};

/// How long a confirmation code lives: the person is at the desk.
pub const CONFIRMATION_MINUTES: i64 = 15;

/// The purpose counter look-ups are audited under, as the citizen's access log shows it.
pub const PURPOSE: &str = "counter intake";

/// The counter officer's agency: only counter officers work a counter.
fn counter_of(who: &Principal) -> Result<&Principal> {
    match who {
        Principal::Staff(s) if s.role == Role::CounterOfficer && s.agency.is_some() => Ok(who),
        _ => Err(Error::forbidden("forbidden")),
    }
}

fn citizen_id(s: &str) -> Result<CitizenId> {
    CitizenId::parse(s).map_err(|_| Error::unprocessable("invalid_citizen_id").field("citizen_id"))
}

/// The person at the desk as the officer compares them with their card.
#[derive(Debug, Clone)]
pub struct Person {
    pub citizen: sohoa_domain::registry::citizen::Citizen,
    /// Where a confirmation code would go, masked (`09******78`, `a***@example.vn`).
    pub contact: Option<String>,
}

/// Looks the person up by their CCCD for the intake: an audited read (purpose "counter
/// intake") in their access log. A CCCD the registry does not hold, or of a resident of
/// another ward at a ward's counter, is not found alike; the attempt is audited too.
pub async fn identify(app: &App, who: Acting<'_>, citizen: &str) -> Result<Person> {
    counter_of(who.principal)?;
    let id = citizen_id(citizen)?;
    let found = in_area(app, who, &id).await?;
    let allowed = found.is_some();
    let record = AuditRecord::new(who.actor(), "citizen.read_counter", "citizen", id.as_str())
        .purpose(PURPOSE)
        .fields([
            "full_name",
            "date_of_birth",
            "sex",
            "permanent_address",
            "contact",
            "documents",
        ])
        .outcome(if allowed {
            Outcome::Success
        } else {
            Outcome::Denied
        })
        .actor_unit(who.principal.agency().map(ToString::to_string))
        .client_addr(who.addr());
    app.audit.record(record).await?;
    match found {
        Some(f) if allowed => Ok(Person {
            contact: masked_contact(&f.citizen),
            citizen: f.citizen,
        }),
        _ => Err(not_in_area()),
    }
}

/// The person's registry record if this counter serves them: the registry holds them and,
/// at a ward's counter, they live in the ward.
async fn in_area(app: &App, who: Acting<'_>, id: &CitizenId) -> Result<Option<citizens::Stored>> {
    let Some(found) = citizens::get(&app.db, id).await? else {
        return Ok(None);
    };
    let target = Target {
        unit: Some(&found.citizen.permanent_address.unit_code),
        citizen: Some(id),
        ..Target::default()
    };
    let allowed = crate::authorize(who.principal, Action::CounterIntake, &target).is_ok();
    Ok(allowed.then_some(found))
}

/// Someone this counter does not serve looks like someone the registry does not hold.
fn not_in_area() -> Error {
    Error::not_found("citizen_not_found").field("citizen_id")
}

/// The registered contact a code goes to, masked for the officer's screen: the phone
/// first (what the national portal uses), else the e-mail.
fn masked_contact(c: &sohoa_domain::registry::citizen::Citizen) -> Option<String> {
    if let Some(p) = c.phone.as_deref().filter(|p| p.len() >= 4) {
        let (head, tail) = (&p[..2], &p[p.len() - 2..]);
        return Some(format!("{head}{}{tail}", "*".repeat(p.len() - 4)));
    }
    let e = c.email.as_deref()?;
    let (user, domain) = e.split_once('@')?;
    let first: String = user.chars().take(1).collect();
    Some(format!("{first}***@{domain}"))
}

/// A filing made at the counter, awaiting the applicant's confirmation.
#[derive(Debug)]
pub struct CounterFiled {
    pub filed: Filed,
    /// Where the confirmation code went (masked); `None` when the registry holds no
    /// contact, and only a signed receipt can confirm.
    pub code_sent_to: Option<String>,
}

/// Files `cmd` for the person identified by `citizen`: checked in full as a submission
/// now, kept as a draft until they confirm. The officer's reading of what was filed is
/// audited like any reading of an application.
pub async fn file(
    app: &App,
    who: Acting<'_>,
    citizen: &str,
    mut cmd: FileApplication,
) -> Result<CounterFiled> {
    let agency = counter_of(who.principal)?
        .agency()
        .cloned()
        .ok_or_else(|| Error::forbidden("forbidden"))?;
    let applicant = citizen_id(citizen)?;
    cmd.submit = true;
    let counter = Counter {
        agency,
        applicant: applicant.clone(),
    };
    let filed = file_by(app, who, cmd, Some(counter)).await?;
    let a = &filed.detail.application;
    audit_read(app, who, a.applicant.as_str(), a.number.as_str()).await?;
    let code_sent_to = if filed.replayed || a.status != Status::Draft {
        None
    } else {
        send_code(app, who, a).await?
    };
    Ok(CounterFiled {
        filed,
        code_sent_to,
    })
}

/// Sends a fresh confirmation code for a counter filing awaiting confirmation (the first
/// did not arrive, or ran out).
pub async fn resend_code(app: &App, who: Acting<'_>, number: &str) -> Result<Option<String>> {
    let found = awaiting(app, who, number).await?;
    send_code(app, who, &found).await
}

async fn send_code(app: &App, who: Acting<'_>, a: &Application) -> Result<Option<String>> {
    let Some(person) = citizens::get(&app.db, &a.applicant).await? else {
        return Ok(None);
    };
    let Some(sent_to) = masked_contact(&person.citizen) else {
        return Ok(None);
    };
    let code = LookupCode::from_random(crate::random_bytes::<8>()?);
    let expires = Timestamp::from_datetime(
        Timestamp::now().datetime() + time::Duration::minutes(CONFIRMATION_MINUTES),
    );
    let subject = "Xác nhận hồ sơ nộp tại bộ phận một cửa / Confirm your application";
    let body = format!(
        "Cán bộ một cửa đã lập hồ sơ {number} cho bạn. Nếu đúng, đọc mã {code} cho cán bộ \
         (hiệu lực {CONFIRMATION_MINUTES} phút). Nếu bạn không ở quầy, đừng đưa mã cho ai.\n\
         A counter officer filed application {number} for you. If that is right, read code \
         {code} to the officer (valid {CONFIRMATION_MINUTES} minutes). If you are not at the \
         counter, give it to nobody.\n",
        number = a.number
    );
    let record = AuditRecord::new(
        who.actor(),
        "application.confirmation_sent",
        "application",
        a.number.as_str(),
    )
    .purpose(PURPOSE)
    .actor_unit(who.principal.agency().map(ToString::to_string))
    .client_addr(who.addr());
    let keys = app.db.keyring()?;
    let mut tx = app.db.begin().await?;
    rows::start_confirmation(
        &mut tx,
        &keys,
        a.number.as_str(),
        a.applicant.as_str(),
        &code.hash(),
        expires,
        (subject, &body),
        record,
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(Some(sent_to))
}

/// How the person at the desk confirmed a filing.
#[derive(Debug, Clone)]
pub enum Confirmation {
    /// The one-time code they were sent, read back to the officer.
    Code(String),
    /// They signed the printed receipt; the officer records it (and keeps the paper).
    SignedReceipt,
}

/// A counter filing of this counter's, still a draft awaiting its applicant.
async fn awaiting(app: &App, who: Acting<'_>, number: &str) -> Result<Application> {
    let found = at_this_counter(app, who, number).await?;
    if found.status != Status::Draft {
        return Err(
            Error::conflict("not_awaiting_confirmation").arg("status", found.status.as_str())
        );
    }
    Ok(found)
}

/// An application this counter took in (or, at a ward's counter, of the ward): anything
/// else is not found, as for any reader who may not see it.
async fn at_this_counter(app: &App, who: Acting<'_>, number: &str) -> Result<Application> {
    let staff = match counter_of(who.principal)? {
        Principal::Staff(s) => s,
        _ => return Err(Error::forbidden("forbidden")),
    };
    let not_found = || Error::not_found("application_not_found");
    let number = sohoa_domain::services::application::ApplicationNumber::parse(number)
        .ok_or_else(not_found)?;
    let found = store::get(&app.db, number.as_str())
        .await?
        .ok_or_else(not_found)?;
    let took_it = found.channel == Channel::Counter && found.intake_agency == staff.agency;
    let of_the_ward = staff.unit.is_some() && staff.unit.as_ref() == Some(&found.unit_code);
    let target = Target {
        unit: Some(&found.unit_code),
        citizen: Some(&found.applicant),
        ..Target::default()
    };
    let allowed = crate::authorize(who.principal, Action::CounterIntake, &target).is_ok();
    if !(allowed && (took_it || (of_the_ward && found.status != Status::Draft))) {
        return Err(not_found());
    }
    Ok(found)
}

/// The applicant confirms a counter filing: it is submitted exactly as the applicant's own
/// submission of a draft would be (checked again today), the code spent in the same
/// transaction. A wrong code counts against it; five void it.
pub async fn confirm(
    app: &App,
    who: Acting<'_>,
    number: &str,
    how: Confirmation,
) -> Result<Detail> {
    let found = awaiting(app, who, number).await?;
    let code_hash = match &how {
        Confirmation::Code(c) => Some(
            LookupCode::parse(c)
                .map(|c| c.hash())
                .ok_or_else(|| Error::unprocessable("invalid_confirmation_code").field("code"))?,
        ),
        Confirmation::SignedReceipt => None,
    };
    let (after, fields, _) = moved(app, &found, Status::Submitted).await?;
    let (comment, purpose) = match how {
        Confirmation::Code(_) => (
            "xác nhận bằng mã một lần / confirmed by one-time code",
            "counter intake: one-time code",
        ),
        Confirmation::SignedReceipt => (
            "xác nhận bằng chữ ký trên phiếu / confirmed by signed receipt",
            "counter intake: signed receipt",
        ),
    };
    let record = AuditRecord::new(
        who.actor(),
        "application.submitted",
        "application",
        found.number.as_str(),
    )
    .fields(fields)
    .purpose(purpose)
    .actor_unit(who.principal.agency().map(ToString::to_string))
    .client_addr(who.addr());
    let keys = app.db.keyring()?;
    let mut tx = app.db.begin().await?;
    match &code_hash {
        Some(h) => {
            if !rows::spend_confirmation(&mut tx, found.number.as_str(), h).await? {
                // The wrong code's count must stick.
                tx.commit().await.map_err(StorageError::from)?;
                return Err(Error::unprocessable("invalid_confirmation_code").field("code"));
            }
        }
        None => rows::drop_confirmation(&mut tx, found.number.as_str()).await?,
    }
    if !store::update(&mut tx, &keys, &found, &after, Some(comment), record).await? {
        return Err(Error::conflict("application_changed"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    let d = reloaded(app, found.number.as_str()).await?;
    audit_read(
        app,
        who,
        d.application.applicant.as_str(),
        found.number.as_str(),
    )
    .await?;
    Ok(d)
}

/// Who took a paper result, as the officer records it.
#[derive(Debug, Clone)]
pub struct HandoverCmd {
    /// The person's name as on the document shown.
    pub recipient_name: String,
    /// The identity document checked: its kind and number ("CCCD 079…", "giấy ủy quyền …").
    pub id_document: String,
}

/// Records that a paper result was handed over at this counter: to whom, the identity
/// document checked, by whom and when; once per application (the signed result online
/// stays the same record).
pub async fn hand_over(
    app: &App,
    who: Acting<'_>,
    number: &str,
    cmd: &HandoverCmd,
) -> Result<Handover> {
    let found = at_this_counter(app, who, number).await?;
    if found.status != Status::ResultIssued {
        return Err(Error::conflict("result_not_issued").arg("status", found.status.as_str()));
    }
    let bounded = |s: &str, max: usize| clean_text(s).filter(|t| t.chars().count() <= max);
    let name = bounded(&cmd.recipient_name, 200)
        .ok_or_else(|| Error::unprocessable("invalid_recipient").field("recipient_name"))?;
    let document = bounded(&cmd.id_document, 100)
        .ok_or_else(|| Error::unprocessable("invalid_recipient").field("id_document"))?;
    let agency = who
        .principal
        .agency()
        .map(ToString::to_string)
        .unwrap_or_default();
    let h = Handover {
        number: found.number.to_string(),
        recipient: format!("{name} — {document}"),
        handed_by: who.actor(),
        agency: agency.clone(),
        handed_at: Timestamp::now(),
    };
    let record = AuditRecord::new(
        who.actor(),
        "application.handover",
        "application",
        found.number.as_str(),
    )
    .fields(["recipient"])
    .actor_unit(Some(agency))
    .client_addr(who.addr());
    let keys = app.db.keyring()?;
    let mut tx = app.db.begin().await?;
    if !rows::record_handover(&mut tx, &keys, &h, record).await? {
        return Err(Error::conflict("already_handed_over"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(h)
}

/// Why a scan cannot be kept, as a code whose messages name the file in both languages.
fn scan_error(e: sohoa_pdf::scan::ScanError) -> Error {
    use sohoa_pdf::scan::ScanError as S;
    let detail = e.to_string();
    let err = match e {
        S::Empty => Error::unprocessable("scan_empty"),
        S::TooManyPages => {
            Error::unprocessable("scan_too_many_pages").arg("max", sohoa_pdf::scan::MAX_PAGES)
        }
        S::PdfAmongPages => Error::unprocessable("scan_pdf_among_pages"),
        S::NotDeclaredType { index, kind } => Error::unprocessable("scan_type_mismatch")
            .arg("index", index)
            .arg("kind", kind),
        S::Image {
            index,
            error: sohoa_pdf::ImageError::TooLarge(mp),
        } => Error::unprocessable("scan_too_large")
            .arg("index", index)
            .arg("megapixels", mp),
        S::Image { index, .. } => Error::unprocessable("invalid_scan").arg("index", index),
    };
    err.field("pages").detail(detail)
}

/// Paper the person brought, scanned at the counter.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The person whose document it is (their store receives it).
    pub citizen: String,
    /// What it is ("CCCD", "Giấy khai sinh").
    pub name: String,
    /// The officer compared the scan with the original paper.
    pub checked_against_original: bool,
    /// The files as sent, each with its checked media type: one PDF, or pages as images.
    pub pages: Vec<(&'static str, Vec<u8>)>,
}

/// Scans paper into the person's document store, once by content (the same paper scanned
/// twice is one document), marked as checked against the original by this officer when
/// they say so; audited, and in the person's access log. The document is theirs: offered
/// for this and every later application, online too, without bringing the paper again.
pub async fn scan(app: &App, who: Acting<'_>, s: Scan) -> Result<sohoa_storage::files::Document> {
    counter_of(who.principal)?;
    let id = citizen_id(&s.citizen)?;
    if in_area(app, who, &id).await?.is_none() {
        return Err(not_in_area());
    }
    let name = clean_text(&s.name)
        .filter(|n| n.chars().count() <= 200)
        .ok_or_else(|| Error::unprocessable("invalid_document_name").field("name"))?;
    let title = name.clone();
    let pages = s.pages;
    let pdf = crate::blocking(move || {
        let parts: Vec<sohoa_pdf::scan::Part<'_>> = pages
            .iter()
            .map(|(m, b)| sohoa_pdf::scan::Part {
                media_type: m,
                bytes: b,
            })
            .collect();
        sohoa_pdf::scan::combine(&parts, &title)
    })
    .await?
    .map_err(scan_error)?;
    let now = Timestamp::now();
    let origin = sohoa_storage::files::Origin::CounterScan {
        scanned_by: who.actor(),
        checked: s.checked_against_original.then(|| (who.actor(), now)),
    };
    let purpose = if s.checked_against_original {
        "counter intake: scanned, checked against the original"
    } else {
        "counter intake: scanned"
    };
    let record = AuditRecord::new(who.actor(), "document.scan", "citizen", id.as_str())
        .purpose(purpose)
        .actor_unit(who.principal.agency().map(ToString::to_string))
        .client_addr(who.addr());
    let stored = crate::documents::put(
        app,
        &id,
        name,
        pdf,
        "application/pdf",
        origin,
        record.clone(),
    )
    .await?;
    // The store's audit entry names the document; this one, the citizen, so that their
    // access log shows what was added to their store and by whom.
    app.audit
        .record(record.purpose(format!("{purpose}: {}", stored.id)))
        .await?;
    Ok(stored)
}

/// What a receipt (phiếu tiếp nhận và hẹn trả kết quả) says.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub application: Application,
    pub procedure_vi: String,
    pub procedure_en: String,
    /// The deciding agency's name.
    pub agency: String,
    /// The counter's agency name (none for an application not taken in at a counter).
    pub intake: Option<String>,
    pub applicant_name: String,
    /// Shows the status to anyone with the number (printed for the applicant only).
    pub lookup_code: String,
    /// The day the result is due: the agency's, once received; until then the day it
    /// would be if received today (`estimated`).
    pub due_on: Option<time::Date>,
    pub estimated: bool,
    /// What the person handed in: the procedure's document name, and whether the officer
    /// checked it against the original.
    pub documents: Vec<(String, bool)>,
    /// Who prints it.
    pub officer: String,
}

/// The receipt of an application, for its applicant or for the counter that took it in
/// (the officer's reading of the applicant's name is audited, as any reading is).
pub async fn receipt(app: &App, who: Acting<'_>, number: &str) -> Result<Receipt> {
    let found = match who.principal {
        Principal::Citizen(_) => {
            crate::applications::load_for(app, who.principal, number, Action::ReadApplication)
                .await?
        }
        _ => at_this_counter(app, who, number).await?,
    };
    let detail = crate::applications::detail(app, found).await?;
    let a = detail.application;
    let proc =
        sohoa_storage::procedures::get(&app.db, &a.procedure_code, Some(a.procedure_version))
            .await?
            .ok_or_else(|| Error::internal("an application's procedure version is missing"))?;
    let name_of = |code: Option<sohoa_domain::agency::AgencyCode>| async move {
        match code {
            Some(c) => Ok::<_, Error>(
                sohoa_storage::agencies::get(&app.db, &c)
                    .await?
                    .map(|a| a.name_vi),
            ),
            None => Ok(None),
        }
    };
    let agency = name_of(Some(a.agency_code.clone()))
        .await?
        .unwrap_or_else(|| a.agency_code.to_string());
    let intake = name_of(a.intake_agency.clone()).await?;
    let person = citizens::get(&app.db, &a.applicant).await?;
    audit_read(app, who, a.applicant.as_str(), a.number.as_str()).await?;
    let (due_on, estimated) = match a.due_on {
        Some(d) => (Some(d), false),
        None if a.status.is_closed() => (None, false),
        None => {
            let days = proc.procedure.deadline_days;
            (
                Some(crate::calendar()?.add_working_days(crate::today(), days)),
                true,
            )
        }
    };
    let documents = detail
        .documents
        .iter()
        .map(|d| {
            let name = proc
                .procedure
                .documents
                .iter()
                .find(|p| p.code == d.code)
                .map_or_else(|| d.code.clone(), |p| p.name_vi.clone());
            let checked = matches!(
                d.document.origin,
                sohoa_storage::files::Origin::CounterScan {
                    checked: Some(_),
                    ..
                }
            );
            (name, checked)
        })
        .collect();
    Ok(Receipt {
        procedure_vi: proc.procedure.name_vi.clone(),
        procedure_en: proc.procedure.name_en.clone(),
        agency,
        intake,
        applicant_name: person.map(|p| p.citizen.full_name).unwrap_or_default(),
        lookup_code: a
            .content
            .as_ref()
            .map(|c| c.lookup_code.clone())
            .unwrap_or_default(),
        due_on,
        estimated,
        documents,
        officer: who.actor(),
        application: a,
    })
}

/// A form of procedure `code` for the person at the desk: their registry fields as filing
/// will take them and their documents (scans included). Reading them is the audited
/// look-up of [`identify`].
pub async fn prepare(
    app: &App,
    who: Acting<'_>,
    citizen: &str,
    code: &sohoa_domain::services::procedure::ProcedureCode,
) -> Result<crate::applications::Prepared> {
    let person = identify(app, who, citizen).await?;
    let procedure = crate::catalog::in_force(app, code)
        .await?
        .ok_or_else(|| Error::not_found("procedure_not_found"))?;
    let applicant = person.citizen.citizen_id.clone();
    let (records, _) =
        crate::applications::records_for(app, &procedure.procedure, &applicant, None).await?;
    let documents = sohoa_storage::files::list(&app.db, applicant.as_str(), 200).await?;
    Ok(crate::applications::Prepared {
        procedure,
        applicant,
        records,
        documents,
    })
}

/// The documents in the person's store, for the counter that has just identified them
/// (that look-up's audit entry names the documents among what was read).
pub async fn documents_of(
    app: &App,
    who: Acting<'_>,
    citizen: &str,
) -> Result<Vec<sohoa_storage::files::Document>> {
    counter_of(who.principal)?;
    let id = citizen_id(citizen)?;
    if in_area(app, who, &id).await?.is_none() {
        return Err(not_in_area());
    }
    Ok(sohoa_storage::files::list(&app.db, id.as_str(), 200).await?)
}
