//! Demo data: real agencies of Ho Chi Minh City, so a newcomer's first start shows a
//! working platform. Loaded once; later starts find the marker and do nothing.

use sohoa_domain::agency::{Agency, AgencyLevel};
use sohoa_domain::audit::AuditRecord;
use std::path::Path;

use sohoa_domain::sharing::{Purpose, RegistryName};
use sohoa_storage::{accounts, agencies, settings, sharing, Db, StorageError, Tx};

use crate::generate::{generate, GenerateError, GenerateOptions};
use crate::import::{self, Format, ImportError, ImportOptions, Registry};

const MARKER: &str = "demo_loaded_at";

/// (code, Vietnamese name, English name, level, unit code)
const AGENCIES: &[(&str, &str, &str, AgencyLevel, &str)] = &[
    (
        "UBND-TP",
        "Ủy ban nhân dân Thành phố Hồ Chí Minh",
        "People's Committee of Ho Chi Minh City",
        AgencyLevel::City,
        "79",
    ),
    (
        "SO-TU-PHAP",
        "Sở Tư pháp",
        "Department of Justice",
        AgencyLevel::City,
        "79",
    ),
    (
        "SO-XAY-DUNG",
        "Sở Xây dựng",
        "Department of Construction",
        AgencyLevel::City,
        "79",
    ),
    (
        "SO-NN-MT",
        "Sở Nông nghiệp và Môi trường",
        "Department of Agriculture and Environment",
        AgencyLevel::City,
        "79",
    ),
    (
        "SO-TAI-CHINH",
        "Sở Tài chính",
        "Department of Finance",
        AgencyLevel::City,
        "79",
    ),
    (
        "SO-Y-TE",
        "Sở Y tế",
        "Department of Health",
        AgencyLevel::City,
        "79",
    ),
    (
        "SO-GD-DT",
        "Sở Giáo dục và Đào tạo",
        "Department of Education and Training",
        AgencyLevel::City,
        "79",
    ),
    (
        "SO-KH-CN",
        "Sở Khoa học và Công nghệ",
        "Department of Science and Technology",
        AgencyLevel::City,
        "79",
    ),
    (
        "TT-HCC",
        "Trung tâm Phục vụ hành chính công Thành phố",
        "City Center for Public Administrative Services",
        AgencyLevel::City,
        "79",
    ),
    (
        "CONG-AN-TP",
        "Công an Thành phố Hồ Chí Minh",
        "Ho Chi Minh City Police",
        AgencyLevel::City,
        "79",
    ),
    (
        "UBND-26743",
        "Ủy ban nhân dân Phường Bến Thành",
        "People's Committee of Bến Thành Ward",
        AgencyLevel::Commune,
        "26743",
    ),
    (
        "UBND-26740",
        "Ủy ban nhân dân Phường Sài Gòn",
        "People's Committee of Sài Gòn Ward",
        AgencyLevel::Commune,
        "26740",
    ),
    (
        "UBND-26737",
        "Ủy ban nhân dân Phường Tân Định",
        "People's Committee of Tân Định Ward",
        AgencyLevel::Commune,
        "26737",
    ),
    (
        "UBND-25747",
        "Ủy ban nhân dân Phường Thủ Dầu Một",
        "People's Committee of Thủ Dầu Một Ward",
        AgencyLevel::Commune,
        "25747",
    ),
    (
        "UBND-26506",
        "Ủy ban nhân dân Phường Vũng Tàu",
        "People's Committee of Vũng Tàu Ward",
        AgencyLevel::Commune,
        "26506",
    ),
    (
        "UBND-26732",
        "Ủy ban nhân dân Đặc khu Côn Đảo",
        "People's Committee of Côn Đảo Special Zone",
        AgencyLevel::Commune,
        "26732",
    ),
];

/// Loads the demo data unless it was loaded before: the agencies (with a grant for the
/// Department of Construction), then synthetic registries (a fixed seed, so every demo shows
/// the same people) generated into `data_dir/demo` and imported like any file. Returns how
/// many agencies were added. Each step is idempotent, so a start interrupted half-way
/// finishes the job on the next one.
pub async fn load(db: &Db, data_dir: &Path) -> Result<usize, DemoError> {
    let mut tx = db.begin().await?;
    if settings::get(&mut tx, MARKER).await?.is_some() {
        return Ok(0);
    }
    let added = add_agencies(&mut tx).await?;
    let hash = demo_password_hash()?;
    add_staff(db, &mut tx, &hash).await?;
    for p in catalog()? {
        let record = AuditRecord::new("system", "procedure.save", "procedure", p.code.as_str())
            .purpose("demo data");
        sohoa_storage::procedures::save(&mut tx, &p, "system", record).await?;
    }
    tx.commit().await.map_err(StorageError::from)?;

    let dir = data_dir.join("demo");
    load_registries(db, &dir).await?;
    // Where the README's tour finds whom to sign in as.
    std::fs::write(dir.join("citizen-account.txt"), format!("{DEMO_CITIZEN}\n"))
        .map_err(|e| DemoError::Read(e.to_string()))?;
    let mut tx = db.begin().await?;
    if accounts::by_citizen(db, DEMO_CITIZEN).await?.is_none() {
        let record = AuditRecord::new("system", "account.create", "citizen", DEMO_CITIZEN)
            .purpose("demo data");
        accounts::create(&mut tx, DEMO_CITIZEN, &hash, record).await?;
    }
    tx.commit().await.map_err(StorageError::from)?;
    load_indicators(db).await?;
    let mut tx = db.begin().await?;
    settings::set(&mut tx, MARKER, &sohoa_domain::Timestamp::now().to_string()).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(added)
}

/// Creates the demo agencies not there yet, and the Department of Construction's grant
/// with its agency; returns how many were created.
async fn add_agencies(tx: &mut Tx) -> Result<usize, DemoError> {
    let mut added = 0;
    for &(code, vi, en, level, unit) in AGENCIES {
        let agency = Agency::new(code, vi, en, level, unit)
            .map_err(|e| StorageError::Corrupt(format!("demo agency {code}: {e}")))?;
        // An agency an administrator created by hand before --demo keeps its data.
        if agencies::exists(tx, &agency.code).await? {
            continue;
        }
        agencies::create(
            tx,
            &agency,
            AuditRecord::new("system", "agency.create", "agency", code).purpose("demo data"),
        )
        .await?;
        added += 1;
        if code == "SO-XAY-DUNG" {
            let purpose = Purpose::parse("building-permit")
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            let grant = sharing::NewGrant {
                agency_code: code,
                registry: RegistryName::Citizens,
                purpose: &purpose,
                fields: &["full_name", "permanent_address"],
                legal_basis: "Luật Xây dựng 2014, Điều 95",
            };
            sharing::create_grant(
                tx,
                &grant,
                AuditRecord::new("system", "grant.create", "grant", ""),
            )
            .await?;
        }
    }
    Ok(added)
}

/// Creates the demo staff accounts not there yet, all with the demo password.
async fn add_staff(db: &Db, tx: &mut Tx, hash: &str) -> Result<(), DemoError> {
    for &(username, name, role, agency, unit) in STAFF {
        if accounts::staff_by_username(db, username).await?.is_some() {
            continue;
        }
        let new = accounts::NewStaff {
            username,
            display_name: name,
            role,
            agency_code: agency,
            unit_code: unit,
            password_hash: hash,
            created_by: "system",
        };
        let record = AuditRecord::new("system", "staff.create", "staff", username)
            .fields([format!("role={role}")])
            .purpose("demo data");
        accounts::create_staff(tx, &new, record).await?;
    }
    Ok(())
}

/// Generates the registries into `dir`, with the demo account's resident, and imports
/// them; a rejected row is an error.
async fn load_registries(db: &Db, dir: &Path) -> Result<(), DemoError> {
    let generated = generate(&GenerateOptions {
        citizens: 2_000,
        enterprises: 200,
        parcels: 300,
        seed: 1,
        out: dir.to_owned(),
        progress: false,
    })?;
    // One resident of Bến Thành ward, where the demo's officer and digital team work, holds
    // the demo account: what she applies for lands in their queue.
    let resident = dir.join("resident.csv");
    std::fs::write(
        &resident,
        format!(
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,phone\n\
             {DEMO_CITIZEN},Nguyễn Thị Mai,1985-03-14,female,12 Lê Lợi,{DEMO_WARD},0903123456\n"
        ),
    )
    .map_err(|e| DemoError::Read(e.to_string()))?;
    for (registry, path) in [
        (Registry::Citizens, generated.citizens),
        (Registry::Citizens, resident),
        (Registry::Enterprises, generated.enterprises),
        (Registry::Parcels, generated.parcels),
    ] {
        let opts = ImportOptions {
            registry,
            format: Format::Csv,
            path,
            all_or_nothing: true,
            progress: false,
            commit_rows: 50_000,
            actor: "system".into(),
        };
        let report = import::run(db, &opts, |_| {}).await?;
        if report.rejected_rows > 0 {
            return Err(DemoError::Rejected(report.rejected_rows));
        }
    }
    Ok(())
}

/// The wards whose indicators the demo fills.
const INDICATOR_WARDS: [(&str, f64); 2] = [(DEMO_WARD, 1.0), ("26737", 0.7)];

/// Months of indicator history the demo holds: four years, enough for a seasonal forecast
/// and its backtest.
const INDICATOR_MONTHS: i32 = 48;

/// Indicators for the leaders' pages: retail sales (entered by hand) and population (fed
/// by a system) of two wards, month by month up to last month, approved, and the two
/// indicators derived from them, so the indicators page has series, forecasts and
/// backtests to show. A start interrupted half-way enters nothing twice: a period already
/// approved is skipped.
async fn load_indicators(db: &Db) -> Result<(), DemoError> {
    use sohoa_domain::indicators::Review;
    use sohoa_storage::indicators;

    define_indicators(db).await?;
    let values = indicator_values(db).await?;
    let at = sohoa_domain::Timestamp::now().to_string();
    let mut tx = db.begin().await?;
    let revisions = indicators::enter(&mut tx, &values, "system", &at).await?;
    tx.commit().await.map_err(StorageError::from)?;
    for (v, rev) in values.iter().zip(revisions) {
        let record = AuditRecord::new("system", "indicator.value.approve", "indicator_value", "")
            .purpose("demo data");
        indicators::review(
            db,
            &v.code,
            &v.unit,
            &v.period,
            rev,
            Review::Approved,
            None,
            record,
        )
        .await?;
    }
    Ok(())
}

/// Defines the demo's four indicators: two entered, two derived from them.
async fn define_indicators(db: &Db) -> Result<(), DemoError> {
    use sohoa_domain::indicators::Indicator;

    let definitions = serde_json::json!([
        {"code": "RETAIL", "name_vi": "Tổng mức bán lẻ hàng hóa", "name_en": "Retail sales",
         "unit": "billion VND", "periodicity": "month", "owner": "SO-TAI-CHINH",
         "source": "manual", "rules": {"min": 0, "max": 100000, "max_change": 0.5}},
        {"code": "POP", "name_vi": "Dân số trung bình", "name_en": "Average population",
         "unit": "person", "periodicity": "month", "owner": "SO-TAI-CHINH", "source": "system",
         "rules": {"min": 0}},
        {"code": "RETAIL_PC", "name_vi": "Bán lẻ bình quân đầu người",
         "name_en": "Retail sales per capita", "unit": "VND", "periodicity": "month",
         "owner": "SO-TAI-CHINH", "source": "system",
         "formula": "ratio(RETAIL, POP, 1000000000)"},
        {"code": "RETAIL_GROWTH", "name_vi": "Tăng trưởng bán lẻ so với cùng kỳ",
         "name_en": "Retail sales growth, year on year", "unit": "%", "periodicity": "month",
         "owner": "SO-TAI-CHINH", "source": "system", "formula": "growth(RETAIL)"}
    ]);
    let definitions: Vec<Indicator> = serde_json::from_value(definitions)
        .map_err(|e| DemoError::Catalog(format!("indicators: {e}")))?;
    for ind in &definitions {
        let record = AuditRecord::new("system", "indicator.put", "indicator", ind.code.as_str())
            .purpose("demo data");
        sohoa_storage::indicators::put(db, ind, record).await?;
    }
    Ok(())
}

/// The entered indicators' monthly values of each ward, oldest first, leaving out those
/// already approved.
async fn indicator_values(db: &Db) -> Result<Vec<sohoa_storage::indicators::NewValue>, DemoError> {
    use sohoa_storage::indicators;

    // Deterministic figures: a trend, Tết's peak in the first months of the year, noise.
    let mut state = 0x5eed_2025_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1000) as f64 / 1000.0 - 0.5
    };
    let this_month = sohoa_domain::timestamp::today()
        .replace_day(1)
        .map_err(|e| DemoError::Read(e.to_string()))?;
    let mut values = Vec::new();
    for (unit, size) in INDICATOR_WARDS {
        for back in (1..=INDICATOR_MONTHS).rev() {
            let month = months_before(this_month, back);
            let period = format!("{}-{:02}", month.year(), u8::from(month.month()));
            let t = f64::from(INDICATOR_MONTHS - back);
            let season = match u8::from(month.month()) {
                1 => 1.25,
                2 => 1.15,
                12 => 1.10,
                6 | 7 => 0.95,
                _ => 1.0,
            };
            let retail = size * 1_200.0 * (1.0 + 0.006 * t) * season * (1.0 + 0.03 * noise());
            let pop = size * 41_000.0 * (1.0 + 0.0008 * t);
            for (code, value, digital) in [
                ("RETAIL", (retail * 10.0).round() / 10.0, false),
                ("POP", pop.round(), true),
            ] {
                if indicators::reference_value(db, code, unit, &period)
                    .await?
                    .is_some()
                {
                    continue;
                }
                values.push(indicators::NewValue {
                    code: code.to_owned(),
                    period: period.clone(),
                    unit: unit.to_owned(),
                    value,
                    flagged: false,
                    change: None,
                    digital,
                });
            }
        }
    }
    Ok(values)
}

/// The first day of the month `back` months before `month` (itself a first day).
fn months_before(month: time::Date, back: i32) -> time::Date {
    let mut month = month;
    for _ in 0..back {
        month = month
            .previous_day()
            .unwrap_or(month)
            .replace_day(1)
            .unwrap_or(month);
    }
    month
}

/// Eleven real procedures (codes of the national public-service portal; fees and waivers
/// are sample data), checked like any catalog entry.
pub fn catalog() -> Result<Vec<sohoa_domain::services::procedure::Procedure>, DemoError> {
    let entries: Vec<sohoa_domain::services::procedure::Procedure> =
        serde_json::from_str(include_str!("demo_procedures.json"))
            .map_err(|e| DemoError::Catalog(e.to_string()))?;
    entries
        .into_iter()
        .map(|p| {
            p.check().map_err(|errs| {
                DemoError::Catalog(
                    errs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })
        })
        .collect()
}

/// Every demo account's password, shown in the README: demo data is for trying things out.
pub const DEMO_PASSWORD: &str = "sohoa-demo-2025";

/// (username, display name, role, agency, unit): one account per role.
type StaffRow = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);
const STAFF: &[StaffRow] = &[
    (
        "quantri",
        "Quản trị viên Thành phố",
        "city_admin",
        None,
        None,
    ),
    (
        "lanhdao.tp",
        "Lãnh đạo UBND Thành phố",
        "leader",
        None,
        None,
    ),
    ("kiemtoan", "Kiểm toán viên", "auditor", None, None),
    (
        "quantri.xaydung",
        "Quản trị Sở Xây dựng",
        "agency_admin",
        Some("SO-XAY-DUNG"),
        None,
    ),
    (
        "canbo.benthanh",
        "Cán bộ Phường Bến Thành",
        "officer",
        Some("UBND-26743"),
        Some("26743"),
    ),
    (
        "totcs.benthanh",
        "Tổ công nghệ số Phường Bến Thành",
        "digital_team",
        None,
        Some("26743"),
    ),
    (
        "motcua.benthanh",
        "Bộ phận một cửa Phường Bến Thành",
        "counter_officer",
        Some("UBND-26743"),
        Some("26743"),
    ),
    (
        "motcua.tthcc",
        "Bộ phận một cửa Trung tâm Phục vụ hành chính công",
        "counter_officer",
        Some("TT-HCC"),
        None,
    ),
];

fn demo_password_hash() -> Result<String, DemoError> {
    let salt = sohoa_web::auth::random_bytes::<16>().map_err(|_| DemoError::Password)?;
    sohoa_domain::identity::hash_password(DEMO_PASSWORD, &salt).map_err(|_| DemoError::Password)
}

/// The CCCD on the first data line of a generated citizens file.
/// The demo account's citizen (born 1985, female: the CCCD agrees).
pub const DEMO_CITIZEN: &str = "079185001234";

/// Bến Thành ward: the demo's officer and digital team work there.
const DEMO_WARD: &str = "26743";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("demo data: {0}")]
    Generate(#[from] GenerateError),
    #[error("demo data: {0}")]
    Import(#[from] ImportError),
    #[error("demo data: {0} generated rows were rejected")]
    Rejected(u64),
    #[error("demo data: the demo password could not be hashed")]
    Password,
    #[error("demo data: {0}")]
    Read(String),
    #[error("demo catalog: {0}")]
    Catalog(String),
}
