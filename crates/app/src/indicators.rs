//! Socio-economic indicators: the catalog (city administrators define it), values entered
//! or imported by the owning agency (its officers by hand, its systems digitally), checked
//! against the indicator's rules, approved or rejected by leaders, published. Derived
//! indicators are computed from published values on read.

use std::collections::{BTreeMap, BTreeSet};

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::indicators::{Indicator, IndicatorCode, Period, Review, Source, ValueError};
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::UnitCode;
use sohoa_storage::indicators::{self as store, NewValue, Published, Reviewed, Revision};
use sohoa_storage::StorageError;

use crate::{authorize, Acting, App, Error, Result};

/// Values entered in one request, at most; an import has its own, larger bound.
pub const MAX_VALUES: usize = 1_000;
/// Rows of one CSV import, at most.
pub const MAX_IMPORT_ROWS: usize = 100_000;

/// The whole catalog, by code.
pub async fn catalog(app: &App) -> Result<Vec<Indicator>> {
    Ok(app
        .db
        .read_stale(|db| async move { store::all(&db).await })
        .await?)
}

/// One indicator, by its code as written.
pub async fn get(app: &App, code: &str) -> Result<Indicator> {
    let not_found = || Error::not_found("indicator_not_found").field("code");
    let code = IndicatorCode::parse(code).map_err(|_| not_found())?;
    store::get(&app.db, code.as_str())
        .await?
        .ok_or_else(not_found)
}

fn label(s: &str, field: &'static str, max: usize) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        Err(Error::unprocessable("invalid_indicator").field(field))
    } else {
        Ok(s.to_owned())
    }
}

/// Defines or redefines an indicator as a city administrator wrote it (its labels are
/// trimmed); `true` when it is new.
pub async fn define(app: &App, who: Acting<'_>, d: Indicator) -> Result<(Indicator, bool)> {
    authorize(who.principal, Action::ManageIndicators, &Target::default())?;
    let name_vi = label(&d.name_vi, "name_vi", 200)?;
    let name_en = label(&d.name_en, "name_en", 200)?;
    let unit = label(&d.unit, "unit", 40)?;
    if sohoa_storage::agencies::get(&app.db, &d.owner)
        .await?
        .is_none()
    {
        return Err(Error::unprocessable("agency_not_found").field("owner"));
    }
    if let Some(f) = &d.formula {
        // Inputs must exist, be entered (not derived themselves: no chains to loop) and
        // share the periodicity.
        for input in f.inputs() {
            let ok = input != &d.code
                && store::get(&app.db, input.as_str())
                    .await?
                    .is_some_and(|i| i.formula.is_none() && i.periodicity == d.periodicity);
            if !ok {
                return Err(Error::unprocessable("invalid_formula")
                    .field("formula")
                    .detail(format!("input {input}")));
            }
        }
        if d.source != Source::System {
            return Err(Error::unprocessable("indicator_derived").field("source"));
        }
    }
    if !d.rules.is_consistent() {
        return Err(Error::unprocessable("invalid_rules").field("rules"));
    }
    let ind = Indicator {
        name_vi,
        name_en,
        unit,
        ..d
    };
    let record = AuditRecord::new(
        who.actor(),
        "indicator.define",
        "indicator",
        ind.code.as_str(),
    )
    .client_addr(who.addr());
    let created = store::put(&app.db, &ind, record).await?;
    Ok((ind, created))
}

/// One value to enter, as written: where it came from (a 1-based line of a CSV file, or
/// an index of a request's values), the indicator's code and the rest.
#[derive(Debug)]
pub struct Candidate {
    pub line: usize,
    pub code: String,
    pub period: String,
    pub unit: String,
    /// `None` when the value as written is not a number.
    pub value: Option<f64>,
}

/// An entered value, awaiting review.
#[derive(Debug)]
pub struct Entered {
    pub value: NewValue,
    pub revision: i64,
}

/// A refused row: its line, and why.
pub type Rejected = (usize, Error);

/// Why values were not entered: one error for the whole request, or every refused row
/// with its line.
#[derive(Debug)]
pub enum Refusal {
    Error(Error),
    Rows(Vec<Rejected>),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Error(e)
    }
}

impl From<StorageError> for Refusal {
    fn from(e: StorageError) -> Self {
        Refusal::Error(e.into())
    }
}

/// Candidates from a CSV file (`indicator_code,period,unit_code,value`, a header line
/// first), with every malformed row by its line. An error is about the whole file; one
/// of too many rows names `body_limit`, the channel's bound on a request in bytes.
pub fn candidates_from_csv(
    body: &[u8],
    body_limit: usize,
) -> Result<(Vec<Candidate>, Vec<Rejected>)> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::bad_request("invalid_csv").detail("not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|_| Error::bad_request("invalid_csv"))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    if header != ["indicator_code", "period", "unit_code", "value"] {
        return Err(Error::bad_request("invalid_csv")
            .detail("the header must be indicator_code,period,unit_code,value"));
    }
    let mut candidates = Vec::new();
    let mut malformed = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                let err = Error::unprocessable("invalid_csv_row").arg("columns", 0);
                malformed.push((line, err));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != 4 {
            let err = Error::unprocessable("invalid_csv_row").arg("columns", record.len());
            malformed.push((line, err));
            continue;
        }
        candidates.push(Candidate {
            line,
            code: record[0].to_owned(),
            period: record[1].to_owned(),
            unit: record[2].to_owned(),
            value: record[3].parse::<f64>().ok(),
        });
        if candidates.len() + malformed.len() > MAX_IMPORT_ROWS {
            return Err(
                Error::new(crate::Kind::TooLarge, "payload_too_large").arg("limit", body_limit)
            );
        }
    }
    if candidates.is_empty() && malformed.is_empty() {
        return Err(Error::bad_request("invalid_csv").detail("no rows"));
    }
    Ok((candidates, malformed))
}

/// What is known so far of the indicators and units a request names: each is read once.
#[derive(Default)]
struct Seen {
    indicators: BTreeMap<String, Option<Indicator>>,
    units: BTreeMap<String, bool>,
    values: BTreeSet<(String, String, Period)>,
}

impl Seen {
    async fn indicator(&mut self, app: &App, code: &str) -> Result<Option<Indicator>> {
        if let Some(i) = self.indicators.get(code) {
            return Ok(i.clone());
        }
        let i = match IndicatorCode::parse(code) {
            Ok(c) => store::get(&app.db, c.as_str()).await?,
            Err(_) => None,
        };
        self.indicators.insert(code.to_owned(), i.clone());
        Ok(i)
    }

    async fn unit_known(&mut self, app: &App, unit: &str) -> Result<bool> {
        if let Some(k) = self.units.get(unit) {
            return Ok(*k);
        }
        let k = !store::unit_names(&app.db, &[unit.to_owned()])
            .await?
            .is_empty();
        self.units.insert(unit.to_owned(), k);
        Ok(k)
    }
}

/// One candidate checked: the value to enter, or why its row is refused. An `Err` is
/// about the whole request (the caller may not enter this indicator's values).
async fn check_one(
    app: &App,
    who: &Principal,
    seen: &mut Seen,
    c: Candidate,
) -> Result<std::result::Result<NewValue, Error>> {
    let Some(ind) = seen.indicator(app, &c.code).await? else {
        return Ok(Err(
            Error::not_found("indicator_not_found").field("indicator_code")
        ));
    };
    // The owning agency enters; anyone else is refused for the whole request.
    authorize(
        who,
        Action::EnterIndicatorValues,
        &Target::agency(&ind.owner),
    )?;
    if ind.formula.is_some() {
        return Ok(Err(
            Error::conflict("indicator_derived").field("indicator_code")
        ));
    }
    let period = match Period::parse(&c.period) {
        Ok(p) if p.periodicity() == ind.periodicity => p,
        Ok(_) => {
            return Ok(Err(Error::unprocessable("indicator_period_mismatch")
                .field("period")
                .arg("periodicity", ind.periodicity.as_str())))
        }
        Err(_) => return Ok(Err(Error::unprocessable("invalid_period").field("period"))),
    };
    let Ok(unit) = UnitCode::parse(&c.unit) else {
        return Ok(Err(
            Error::unprocessable("invalid_unit_code").field("unit_code")
        ));
    };
    let unit = unit.to_string();
    if !seen.unit_known(app, &unit).await? {
        return Ok(Err(Error::unprocessable("unknown_unit").field("unit_code")));
    }
    if !seen
        .values
        .insert((ind.code.to_string(), unit.clone(), period))
    {
        return Ok(Err(
            Error::unprocessable("indicator_value_repeated").field("period")
        ));
    }
    let Some(value) = c.value else {
        return Ok(Err(
            Error::unprocessable("invalid_indicator_value").field("value")
        ));
    };
    let previous = period.shift(-1).to_string();
    let prev = store::reference_value(&app.db, ind.code.as_str(), &unit, &previous).await?;
    Ok(match ind.rules.check(value, prev) {
        Ok(jump) => Ok(NewValue {
            code: ind.code.to_string(),
            period: period.to_string(),
            unit,
            value,
            flagged: jump.is_some(),
            change: jump.and_then(|j| j.change),
            digital: matches!(who, Principal::AgencySystem { .. }),
        }),
        Err(e) => Err(match e {
            ValueError::NotFinite => Error::unprocessable("invalid_indicator_value"),
            ValueError::BelowMin(m) => {
                Error::unprocessable("indicator_value_below_min").arg("min", m)
            }
            ValueError::AboveMax(m) => {
                Error::unprocessable("indicator_value_above_max").arg("max", m)
            }
        }
        .field("value")),
    })
}

/// Enters values, all or none: each is checked against its indicator's rules (out of
/// range: refused; a jump from the previous period: flagged for review) and awaits
/// approval. Values sent by an agency's system count as digital. Every mistake is
/// reported at once, with `malformed` rows the channel found before.
pub async fn enter(
    app: &App,
    who: Acting<'_>,
    candidates: Vec<Candidate>,
    malformed: Vec<Rejected>,
) -> Result<Vec<Entered>, Refusal> {
    let mut seen = Seen::default();
    let mut values = Vec::new();
    let mut rejected = malformed;
    for c in candidates {
        let line = c.line;
        match check_one(app, who.principal, &mut seen, c).await? {
            Ok(v) => values.push(v),
            Err(e) => rejected.push((line, e)),
        }
    }
    if !rejected.is_empty() {
        rejected.sort_by_key(|(line, _)| *line);
        return Err(Refusal::Rows(rejected));
    }
    let at = sohoa_domain::Timestamp::now().to_string();
    let mut tx = app.db.begin().await?;
    let revisions = store::enter(&mut tx, &values, &who.actor(), &at).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(values
        .into_iter()
        .zip(revisions)
        .map(|(value, revision)| Entered { value, revision })
        .collect())
}

/// Values of one indicator, as a request sends them: `(period, unit, value)`.
pub async fn enter_for(
    app: &App,
    who: Acting<'_>,
    code: &str,
    values: Vec<(String, String, f64)>,
) -> Result<Vec<Entered>, Refusal> {
    let ind = get(app, code).await?;
    authorize(
        who.principal,
        Action::EnterIndicatorValues,
        &Target::agency(&ind.owner),
    )?;
    if values.is_empty() || values.len() > MAX_VALUES {
        return Err(Error::unprocessable("invalid_page")
            .field("values")
            .arg("max", MAX_VALUES)
            .into());
    }
    let candidates = values
        .into_iter()
        .enumerate()
        .map(|(i, (period, unit, value))| Candidate {
            line: i + 1,
            code: ind.code.to_string(),
            period,
            unit,
            value: Some(value),
        })
        .collect();
    enter(app, who, candidates, Vec::new()).await
}

/// Which values to read: one unit's or all, from and to a period (inclusive).
#[derive(Debug, Default, Clone)]
pub struct Range {
    pub unit: Option<UnitCode>,
    pub from: Option<Period>,
    pub to: Option<Period>,
}

/// A published value, or one computed from published inputs.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedValue {
    pub unit_code: String,
    pub period: String,
    pub value: f64,
    /// The approved revision; absent for derived values, computed on read.
    pub revision: Option<i64>,
    pub approved_at: Option<String>,
}

/// The published values of `ind` (computed from its inputs when it is derived).
pub async fn values_of(app: &App, ind: &Indicator, r: &Range) -> Result<Vec<PublishedValue>> {
    let unit = r.unit.as_ref().map(UnitCode::as_str);
    let from = r.from.map(|p| p.to_string());
    let to = r.to.map(|p| p.to_string());
    let Some(formula) = &ind.formula else {
        let codes = [ind.code.to_string()];
        let rows = store::published(
            &app.db.stale(),
            &codes,
            unit,
            from.as_deref(),
            to.as_deref(),
        )
        .await?;
        return Ok(rows
            .into_iter()
            .map(|p: Published| PublishedValue {
                unit_code: p.unit.to_string(),
                period: p.period.to_string(),
                value: p.value,
                revision: Some(p.revision),
                approved_at: Some(p.approved_at.to_string()),
            })
            .collect());
    };
    // Growth reads a year before `from`: widen the read, then keep the asked periods.
    let wider = r.from.map(|p| p.a_year_before().to_string());
    let inputs: Vec<String> = formula.inputs().iter().map(|c| c.to_string()).collect();
    let rows = store::published(
        &app.db.stale(),
        &inputs,
        unit,
        wider.as_deref(),
        to.as_deref(),
    )
    .await?;
    let mut table: BTreeMap<(IndicatorCode, UnitCode, Period), f64> = BTreeMap::new();
    let mut keys: BTreeSet<(UnitCode, Period)> = BTreeSet::new();
    for p in rows {
        keys.insert((p.unit.clone(), p.period));
        table.insert((p.code, p.unit, p.period), p.value);
    }
    let mut out = Vec::new();
    for (u, period) in keys {
        if r.from.is_some_and(|f| period < f) {
            continue;
        }
        let at = |c: &IndicatorCode, q: Period| table.get(&(c.clone(), u.clone(), q)).copied();
        if let Some(v) = formula.eval(period, at) {
            out.push(PublishedValue {
                unit_code: u.to_string(),
                period: period.to_string(),
                value: v,
                revision: None,
                approved_at: None,
            });
        }
    }
    Ok(out)
}

/// Values awaiting review: a leader's agency's indicators, or all for the city's leaders.
pub async fn pending(app: &App, who: &Principal) -> Result<Vec<Revision>> {
    let owner = match who {
        Principal::Staff(s) => s.agency.clone(),
        _ => None,
    };
    let target = owner.as_ref().map_or_else(Target::default, Target::agency);
    authorize(who, Action::ApproveIndicatorValues, &target)?;
    Ok(store::pending(&app.db, owner.as_ref().map(AgencyCode::as_str), 500).await?)
}

/// One value of one indicator: where and when.
#[derive(Debug, Clone)]
pub struct ValueKey {
    pub unit: UnitCode,
    pub period: Period,
}

/// Every revision of one value, with who entered and reviewed it, and when (leaders).
pub async fn history(
    app: &App,
    who: &Principal,
    code: &str,
    key: &ValueKey,
) -> Result<Vec<Revision>> {
    let ind = get(app, code).await?;
    authorize(who, Action::ReadDashboard, &Target::agency(&ind.owner))?;
    let rows = revisions(app, &ind, key).await?;
    if rows.is_empty() {
        return Err(Error::not_found("indicator_value_not_found"));
    }
    Ok(rows)
}

async fn revisions(app: &App, ind: &Indicator, key: &ValueKey) -> Result<Vec<Revision>> {
    let period = key.period.to_string();
    Ok(store::history(&app.db, ind.code.as_str(), key.unit.as_str(), &period).await?)
}

/// A leader's decision on one entered revision.
#[derive(Debug)]
pub struct Decision {
    pub revision: i64,
    pub decision: Review,
    /// Required when rejecting: what to correct.
    pub note: Option<String>,
}

/// Approves (publishes) or rejects one entered revision: the owning agency's leaders, or
/// the city's. Returns the value's revisions after the decision.
pub async fn review(
    app: &App,
    who: Acting<'_>,
    code: &str,
    key: &ValueKey,
    d: Decision,
) -> Result<Vec<Revision>> {
    let ind = get(app, code).await?;
    authorize(
        who.principal,
        Action::ApproveIndicatorValues,
        &Target::agency(&ind.owner),
    )?;
    let note = crate::feedback::reports::note_of(d.note.as_deref(), "note")?;
    let action = match d.decision {
        Review::Pending => return Err(Error::unprocessable("invalid_body").field("decision")),
        Review::Rejected if note.is_none() => {
            return Err(Error::unprocessable("review_note_required").field("note"))
        }
        Review::Approved => "indicator.value.approve",
        Review::Rejected => "indicator.value.reject",
    };
    let record =
        AuditRecord::new(who.actor(), action, "indicator_value", "").client_addr(who.addr());
    let period = key.period.to_string();
    let reviewed = store::review(
        &app.db,
        ind.code.as_str(),
        key.unit.as_str(),
        &period,
        d.revision,
        d.decision,
        note.as_deref(),
        record,
    )
    .await?;
    match reviewed {
        Reviewed::Done => revisions(app, &ind, key).await,
        Reviewed::Missing => Err(Error::not_found("indicator_value_not_found")),
        Reviewed::NotPending => Err(Error::conflict("indicator_value_reviewed")),
    }
}

/// Indicators, each with its published values.
pub type Dataset = Vec<(Indicator, Vec<PublishedValue>)>;

/// The indicators asked for by code (all when `codes` is empty), each with its published
/// values in `range`.
pub async fn dataset(app: &App, codes: &[String], range: &Range) -> Result<Dataset> {
    let all = store::all(&app.db).await?;
    let chosen: Vec<Indicator> = if codes.is_empty() {
        all
    } else {
        let mut out = Vec::new();
        for code in codes {
            let Some(i) = all.iter().find(|i| i.code.as_str() == code) else {
                return Err(Error::not_found("indicator_not_found")
                    .field("indicators")
                    .detail(code.clone()));
            };
            out.push(i.clone());
        }
        out
    };
    let mut series = Vec::new();
    for ind in chosen {
        let values = values_of(app, &ind, range).await?;
        series.push((ind, values));
    }
    Ok(series)
}

/// The names of the units a dataset covers, by code: what SDMX code lists need (a CSV
/// export does without).
pub async fn unit_names(app: &App, data: &Dataset) -> Result<BTreeMap<String, String>> {
    let units: Vec<String> = data
        .iter()
        .flat_map(|(_, v)| v.iter().map(|x| x.unit_code.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(store::unit_names(&app.db, &units).await?)
}
