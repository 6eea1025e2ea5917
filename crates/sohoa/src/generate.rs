//! `sohoa generate`: deterministic, realistic synthetic registry data, written as import
//! files. The same seed gives byte-identical files, so tests and benchmarks are repeatable.
//!
//! Names follow the frequencies of Vietnamese family names (Nguyễn about 38%, Trần 11%, Lê
//! 9.5%, ...), middle names by sex (Văn, Thị, ...), and common given names. Citizens live in
//! households over the city's real units; CCCDs encode each person's sex and birth year with
//! serials unique per province, sex-century and year; tax codes carry valid check digits.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sohoa_domain::units::{reference_units, UnitLevel, REFORM_2025};
use sohoa_domain::{CitizenId, Sex, TaxCode};

/// SplitMix64: tiny, fast, and the same sequence on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5348_4f41_2026_0701)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// Picks by weight from `(item, weight)` pairs.
    pub fn weighted<'a, T>(&mut self, items: &'a [(T, u32)]) -> &'a T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            if x < u64::from(*w) {
                return item;
            }
            x -= u64::from(*w);
        }
        &items[items.len() - 1].0
    }
}

// Weights in tenths of a percent, roughly the national distribution with the South's
// larger share of Huỳnh and Võ.
const SURNAMES: &[(&str, u32)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Huỳnh", 35),
    ("Hoàng", 25),
    ("Phan", 45),
    ("Võ", 40),
    ("Vũ", 15),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Trương", 10),
    ("Đinh", 7),
    ("Lâm", 6),
    ("Mai", 5),
    ("Cao", 4),
    ("Đoàn", 5),
    ("Lương", 4),
    ("Châu", 3),
    ("Tô", 3),
    ("Tạ", 3),
    ("La", 2),
    ("Quách", 2),
    ("Thái", 3),
    ("Trịnh", 4),
];
const MIDDLE_MALE: &[(&str, u32)] = &[
    ("Văn", 30),
    ("Minh", 12),
    ("Hoàng", 6),
    ("Quốc", 6),
    ("Đức", 6),
    ("Hữu", 6),
    ("Thanh", 6),
    ("Công", 4),
    ("Gia", 5),
    ("Tuấn", 3),
    ("Anh", 4),
    ("Ngọc", 3),
    ("Thành", 4),
    ("Trung", 3),
    ("Nhật", 3),
    ("Đăng", 2),
];
const MIDDLE_FEMALE: &[(&str, u32)] = &[
    ("Thị", 40),
    ("Ngọc", 12),
    ("Thanh", 6),
    ("Thu", 6),
    ("Minh", 5),
    ("Hoàng", 4),
    ("Kim", 5),
    ("Phương", 4),
    ("Bảo", 4),
    ("Mai", 3),
    ("Diệu", 2),
    ("Khánh", 3),
    ("Quỳnh", 2),
    ("Thùy", 3),
    ("Mỹ", 3),
];
const GIVEN_MALE: &[&str] = &[
    "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Hải", "Hiếu", "Hoàng", "Hùng",
    "Huy", "Khang", "Khoa", "Khôi", "Kiên", "Long", "Lộc", "Minh", "Nam", "Nghĩa", "Nhân", "Phát",
    "Phong", "Phúc", "Quang", "Quân", "Sơn", "Tài", "Tâm", "Thắng", "Thành", "Thiện", "Thịnh",
    "Trí", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ", "An", "Hưng", "Toàn", "Lâm", "Kiệt",
    "Đông",
];
const GIVEN_FEMALE: &[&str] = &[
    "An", "Anh", "Châu", "Chi", "Diễm", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền",
    "Hoa", "Hồng", "Huyền", "Hương", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Ngọc",
    "Nhi", "Nhung", "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Thu", "Thủy", "Trang", "Trâm",
    "Trinh", "Uyên", "Vân", "Vy", "Yến", "Hân", "Như", "Tiên", "Xuân",
];
const STREETS: &[&str] = &[
    "Lê Lợi",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Điện Biên Phủ",
    "Cách Mạng Tháng Tám",
    "Nguyễn Thị Minh Khai",
    "Võ Văn Tần",
    "Lý Tự Trọng",
    "Pasteur",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Lê Văn Sỹ",
    "Phan Xích Long",
    "Nguyễn Văn Linh",
    "Quang Trung",
    "Lê Duẩn",
    "Phạm Văn Đồng",
    "Kha Vạn Cân",
    "Lũy Bán Bích",
    "Âu Cơ",
    "Nguyễn Oanh",
    "Phan Văn Trị",
    "Huỳnh Tấn Phát",
    "Tôn Đức Thắng",
    "Nguyễn Văn Cừ",
    "Bình Dương",
    "Đại lộ Bình Dương",
    "Thống Nhất",
    "Ba Cu",
    "Lê Hồng Phong",
    "Hùng Vương",
    "Trường Chinh",
];
/// Provinces of birth registration: most residents were registered in the three merged
/// provinces, the rest across the country.
const PROVINCES: &[(u16, u32)] = &[
    (79, 600),
    (74, 80),
    (77, 60),
    (1, 20),
    (38, 20),
    (40, 25),
    (52, 20),
    (87, 20),
    (86, 15),
    (89, 15),
    (94, 15),
    (96, 12),
    (83, 15),
    (82, 15),
    (80, 15),
    (36, 10),
    (34, 10),
    (42, 10),
    (44, 8),
    (48, 10),
    (49, 12),
    (51, 12),
    (54, 8),
    (56, 8),
    (58, 6),
    (60, 6),
    (66, 8),
    (68, 8),
    (70, 6),
    (72, 8),
];
/// Birth decades weighted like the city's age pyramid (many residents in their 20s-40s).
const DECADES: &[(i32, u32)] = &[
    (1930, 5),
    (1940, 15),
    (1950, 40),
    (1960, 70),
    (1970, 100),
    (1980, 150),
    (1990, 170),
    (2000, 150),
    (2010, 130),
    (2020, 50),
];
const PHONE_PREFIXES: &[&str] = &[
    "090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037",
    "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "086",
    "088", "089",
];
const MAIL_DOMAINS: &[&str] = &["gmail.com", "yahoo.com", "outlook.com", "hotmail.com"];
const COMPANY_WORDS: &[&str] = &[
    "Sài Gòn",
    "Phương Nam",
    "Bến Thành",
    "Thủ Đức",
    "Hưng Thịnh",
    "Phát Đạt",
    "An Khang",
    "Minh Phát",
    "Thành Công",
    "Đại Dương",
    "Hoàng Long",
    "Việt Tiến",
    "Tân Phú",
    "Bình An",
    "Kim Long",
    "Nam Việt",
    "Đông Á",
    "Thái Bình Dương",
    "Sông Hàn",
    "Cửu Long",
    "Mekong",
    "Hồng Hà",
    "Trường Sơn",
    "Vạn Phúc",
];
const COMPANY_TRADES: &[&str] = &[
    "Thương mại",
    "Xây dựng",
    "Dịch vụ",
    "Công nghệ",
    "Vận tải",
    "Thực phẩm",
    "Đầu tư",
    "Du lịch",
    "Bất động sản",
    "Sản xuất",
    "Xuất nhập khẩu",
    "May mặc",
    "Giáo dục",
    "Logistics",
];
const LEGAL_FORMS: &[(&str, &str, u32)] = &[
    ("llc_single_member", "Công ty TNHH MTV", 35),
    ("llc_multi_member", "Công ty TNHH", 30),
    ("joint_stock", "Công ty Cổ phần", 25),
    ("sole_proprietorship", "Doanh nghiệp tư nhân", 8),
    ("partnership", "Công ty Hợp danh", 2),
];
const STATUSES: &[(&str, u32)] = &[
    ("active", 85),
    ("suspended", 7),
    ("dissolving", 3),
    ("dissolved", 4),
    ("bankrupt", 1),
];
const LAND_USES: &[(&str, u32)] = &[
    ("ODT", 60),
    ("ONT", 12),
    ("CLN", 8),
    ("LUC", 6),
    ("BHK", 4),
    ("TMD", 5),
    ("SKC", 3),
    ("NTS", 2),
];

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub citizens: u64,
    pub enterprises: u64,
    pub parcels: u64,
    pub seed: u64,
    pub out: PathBuf,
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reference data: {0}")]
    Reference(#[from] sohoa_domain::units::ReferenceDataError),
    #[error("{0}")]
    Exhausted(String),
}

/// The files written.
#[derive(Debug)]
pub struct Generated {
    pub citizens: PathBuf,
    pub enterprises: PathBuf,
    pub parcels: PathBuf,
}

fn folded_ascii(s: &str) -> String {
    sohoa_domain::text::fold(s).replace(' ', "")
}

struct Writer {
    path: PathBuf,
    w: csv::Writer<std::io::BufWriter<std::fs::File>>,
}

impl Writer {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Self, GenerateError> {
        let path = dir.join(name);
        let io = |source| GenerateError::Io {
            path: path.clone(),
            source,
        };
        let file = std::fs::File::create(&path).map_err(io)?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
        w.write_record(header).map_err(|e| io(e.into()))?;
        Ok(Self { path, w })
    }
    fn row(&mut self, fields: &[&str]) -> Result<(), GenerateError> {
        self.w.write_record(fields).map_err(|e| GenerateError::Io {
            path: self.path.clone(),
            source: e.into(),
        })
    }
    fn finish(mut self) -> Result<PathBuf, GenerateError> {
        let io = |source| GenerateError::Io {
            path: self.path.clone(),
            source,
        };
        self.w.flush().map_err(io)?;
        let inner = self.w.into_inner().map_err(|e| GenerateError::Io {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        inner
            .into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        Ok(self.path)
    }
}

/// Writes `citizens.csv`, `enterprises.csv` and `parcels.csv` into `opts.out`.
pub fn generate(opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    std::fs::create_dir_all(&opts.out).map_err(|source| GenerateError::Io {
        path: opts.out.clone(),
        source,
    })?;
    let units: Vec<String> = reference_units()?
        .into_iter()
        .filter(|u| u.kind.level() == UnitLevel::Commune && u.is_valid_on(REFORM_2025))
        .map(|u| u.code.to_string())
        .collect();
    // Units differ in population: give each a weight from 1 to 8.
    let mut rng = Rng::new(opts.seed);
    let weighted_units: Vec<(String, u32)> = units
        .iter()
        .map(|u| (u.clone(), 1 + rng.below(8) as u32))
        .collect();
    let today = sohoa_domain::timestamp::today();
    let bar = Bar::new(
        opts.progress,
        opts.citizens + opts.enterprises + opts.parcels,
    );
    let mut g = Gen {
        rng,
        units,
        weighted_units,
        today,
        this_year: today.year(),
        adults: Vec::new(),
        bar,
    };
    let citizens = g.citizens(opts)?;
    let enterprises = g.enterprises(opts)?;
    let parcels = g.parcels(opts)?;
    g.bar.done();
    Ok(Generated {
        citizens,
        enterprises,
        parcels,
    })
}

/// The state the three files are drawn from. One random stream runs through all of them,
/// file after file and field after field, so the draws' order is what keeps a seed's
/// output byte-identical: a change of order is a change of every file.
struct Gen {
    rng: Rng,
    /// Commune-level units in force.
    units: Vec<String>,
    /// The same units with their weights.
    weighted_units: Vec<(String, u32)>,
    today: time::Date,
    this_year: i32,
    /// A sample of adults, to be legal representatives and landowners.
    adults: Vec<String>,
    bar: Bar,
}

/// A household's shared fields.
struct Home {
    id: String,
    unit: String,
    street: String,
    family: &'static str,
}

/// CCCD serials drawn so far, per (province, sex-century, birth year).
type Serials = HashMap<(u16, u8, i32), u32>;

impl Gen {
    /// Writes `citizens.csv`, household by household.
    fn citizens(&mut self, opts: &GenerateOptions) -> Result<PathBuf, GenerateError> {
        let mut w = Writer::create(
            &opts.out,
            "citizens.csv",
            sohoa_domain::registry::citizen::CSV_HEADER,
        )?;
        let mut serials: Serials = HashMap::new();
        let mut written = 0u64;
        let mut household = 0u64;
        while written < opts.citizens {
            household += 1;
            let rng = &mut self.rng;
            let id = format!("HH{household:010}");
            let unit = rng.weighted(&self.weighted_units).clone();
            let street = format!("{} {}", 1 + rng.below(450), rng.pick(STREETS));
            let family = *rng.weighted(SURNAMES);
            let home = Home {
                id,
                unit,
                street,
                family,
            };
            let size = 1 + rng.below(5) + u64::from(rng.chance(20));
            for member in 0..size.min(opts.citizens - written) {
                self.citizen(&mut w, &mut serials, &home, member)?;
                written += 1;
                self.bar.tick(1);
            }
        }
        w.finish()
    }

    /// Writes one member of `home`; the first member is the head of household.
    fn citizen(
        &mut self,
        w: &mut Writer,
        serials: &mut Serials,
        home: &Home,
        member: u64,
    ) -> Result<(), GenerateError> {
        let (sex, surname, given, name) = self.name(home.family, member);
        let (year, dob) = self.birth(member);
        let id = self.cccd(serials, sex, year)?;
        let (temp_street, temp_unit) = self.temporary_address();
        let adult = year <= self.this_year - 18;
        let (phone, email) = self.contacts(adult, surname, given);
        let sex_text = sex.as_str();
        w.row(&[
            &id,
            &name,
            &dob,
            sex_text,
            &home.street,
            &home.unit,
            &temp_street,
            &temp_unit,
            &home.id,
            &phone,
            &email,
        ])?;
        if adult {
            self.sample_adult(id);
        }
        Ok(())
    }

    /// Sex, surname, given name and full name; a member other than the head keeps the
    /// family's surname seven times in ten.
    fn name(
        &mut self,
        family: &'static str,
        member: u64,
    ) -> (Sex, &'static str, &'static str, String) {
        let rng = &mut self.rng;
        let sex = if rng.chance(49) {
            Sex::Male
        } else {
            Sex::Female
        };
        let surname = if member == 0 || rng.chance(70) {
            family
        } else {
            *rng.weighted(SURNAMES)
        };
        let (middle, given) = match sex {
            Sex::Male => (*rng.weighted(MIDDLE_MALE), *rng.pick(GIVEN_MALE)),
            Sex::Female => (*rng.weighted(MIDDLE_FEMALE), *rng.pick(GIVEN_FEMALE)),
        };
        (sex, surname, given, format!("{surname} {middle} {given}"))
    }

    /// The birth year and date (never after today).
    fn birth(&mut self, member: u64) -> (i32, String) {
        let (rng, this_year, today) = (&mut self.rng, self.this_year, self.today);
        // The first member is the head of household: an adult.
        let year = loop {
            let y = rng.weighted(DECADES) + rng.below(10) as i32;
            if y <= this_year && (member > 0 || y <= this_year - 18) {
                break y;
            }
        };
        let month = 1 + rng.below(12) as u8;
        let day = 1 + rng.below(28) as u8;
        let dob = if year == this_year && (month, day) > (u8::from(today.month()), today.day()) {
            format!("{year:04}-01-01")
        } else {
            format!("{year:04}-{month:02}-{day:02}")
        };
        (year, dob)
    }

    /// A CCCD for a birth province drawn here, with the next serial of its province,
    /// sex-century and year.
    fn cccd(
        &mut self,
        serials: &mut Serials,
        sex: Sex,
        year: i32,
    ) -> Result<String, GenerateError> {
        let rng = &mut self.rng;
        let province = *rng.weighted(PROVINCES);
        let key = (province, u8::from(sex == Sex::Female), year);
        let serial = serials
            .entry(key)
            .or_insert_with(|| (rng.below(400_000)) as u32);
        *serial += 1;
        if *serial >= 1_000_000 {
            return Err(GenerateError::Exhausted(
                "too many citizens for one province and year".into(),
            ));
        }
        Ok(CitizenId::compose(province, sex, year, *serial)
            .map_err(|e| GenerateError::Exhausted(format!("CCCD: {e}")))?
            .to_string())
    }

    /// A temporary address (street and unit) for about one in seven, else blanks.
    fn temporary_address(&mut self) -> (String, String) {
        let rng = &mut self.rng;
        if rng.chance(15) {
            (
                format!(
                    "{}/{} {}",
                    1 + rng.below(200),
                    1 + rng.below(40),
                    rng.pick(STREETS)
                ),
                rng.pick(&self.units).clone(),
            )
        } else {
            (String::new(), String::new())
        }
    }

    /// Phone (most adults, few children) and e-mail (about a third of adults), or blanks.
    fn contacts(&mut self, adult: bool, surname: &str, given: &str) -> (String, String) {
        let rng = &mut self.rng;
        let phone = if adult && rng.chance(80) || !adult && rng.chance(10) {
            format!("{}{:07}", rng.pick(PHONE_PREFIXES), rng.below(10_000_000))
        } else {
            String::new()
        };
        let email = if adult && rng.chance(35) {
            format!(
                "{}{}{}@{}",
                folded_ascii(given),
                folded_ascii(surname),
                rng.below(1000),
                rng.pick(MAIL_DOMAINS)
            )
        } else {
            String::new()
        };
        (phone, email)
    }

    /// Keeps an adult in the sample: every one of the first 200,000, then one in a hundred
    /// in place of a random one.
    fn sample_adult(&mut self, id: String) {
        if self.adults.len() < 200_000 || self.rng.chance(1) {
            if self.adults.len() < 200_000 {
                self.adults.push(id);
            } else {
                let i = self.rng.below(self.adults.len() as u64) as usize;
                self.adults[i] = id;
            }
        }
    }

    /// A CCCD from the sample of adults (a fixed one when there is none).
    fn adult(&mut self) -> String {
        if self.adults.is_empty() {
            "079085000001".to_owned()
        } else {
            self.rng.pick(&self.adults).clone()
        }
    }

    /// Writes `enterprises.csv`: tax codes under the city's prefix, skipping numbers with
    /// no check digit.
    fn enterprises(&mut self, opts: &GenerateOptions) -> Result<PathBuf, GenerateError> {
        let mut w = Writer::create(
            &opts.out,
            "enterprises.csv",
            sohoa_domain::registry::enterprise::CSV_HEADER,
        )?;
        let forms: Vec<((&str, &str), u32)> =
            LEGAL_FORMS.iter().map(|(f, p, w)| ((*f, *p), *w)).collect();
        let mut seq = self.rng.below(1_000_000);
        for _ in 0..opts.enterprises {
            let code = loop {
                seq += 1;
                let nine = format!("03{:07}", seq % 10_000_000);
                if let Some(check) = TaxCode::check_digit(&nine) {
                    break format!("{nine}{check}");
                }
            };
            let rng = &mut self.rng;
            let (form, prefix) = *rng.weighted(&forms);
            let name = format!(
                "{prefix} {} {}",
                rng.pick(COMPANY_TRADES),
                rng.pick(COMPANY_WORDS)
            );
            let street = format!("{} {}", 1 + rng.below(300), rng.pick(STREETS));
            let unit = rng.weighted(&self.weighted_units).clone();
            let registered = format!(
                "{:04}-{:02}-{:02}",
                1995 + rng.below((self.this_year - 1995) as u64) as i32,
                1 + rng.below(12),
                1 + rng.below(28)
            );
            let representative = self.adult();
            let status = *self.rng.weighted(STATUSES);
            w.row(&[
                &code,
                &name,
                form,
                &street,
                &unit,
                &registered,
                status,
                &representative,
            ])?;
            self.bar.tick(1);
        }
        w.finish()
    }

    /// Writes `parcels.csv`: parcels numbered per unit and map sheet, owned by one or two
    /// adults.
    fn parcels(&mut self, opts: &GenerateOptions) -> Result<PathBuf, GenerateError> {
        let mut w = Writer::create(
            &opts.out,
            "parcels.csv",
            sohoa_domain::registry::parcel::CSV_HEADER,
        )?;
        let mut next_parcel: HashMap<(String, u64), u64> = HashMap::new();
        for _ in 0..opts.parcels {
            let unit = self.rng.weighted(&self.weighted_units).clone();
            let sheet = 1 + self.rng.below(120);
            let n = next_parcel.entry((unit.clone(), sheet)).or_insert(0);
            *n += 1;
            if *n > 99_999 {
                return Err(GenerateError::Exhausted(
                    "too many parcels on one map sheet".into(),
                ));
            }
            let number = *n;
            let land_use = *self.rng.weighted(LAND_USES);
            let area = match land_use {
                "ODT" | "ONT" => 30.0 + self.rng.below(2_500) as f64 / 10.0,
                "TMD" | "SKC" => 200.0 + self.rng.below(50_000) as f64 / 10.0,
                _ => 500.0 + self.rng.below(200_000) as f64 / 10.0,
            };
            let owners = self.owners();
            let geometry = self.geometry();
            w.row(&[
                &unit,
                &sheet.to_string(),
                &number.to_string(),
                &format!("{area:.1}"),
                land_use,
                &owners,
                &geometry,
            ])?;
            self.bar.tick(1);
        }
        w.finish()
    }

    /// A parcel's owners with their shares: two halves about three times in ten.
    fn owners(&mut self) -> String {
        if self.rng.chance(30) {
            let (a, b) = (self.adult(), self.adult());
            if a == b {
                format!("{a}:100")
            } else {
                format!("{a}:50;{b}:50")
            }
        } else {
            format!("{}:100", self.adult())
        }
    }

    /// A small square polygon (GeoJSON) somewhere in the city for about three parcels in
    /// ten, else blank.
    fn geometry(&mut self) -> String {
        let rng = &mut self.rng;
        if rng.chance(30) {
            let lon = 106.4 + rng.below(700_000) as f64 / 1e6;
            let lat = 10.35 + rng.below(850_000) as f64 / 1e6;
            let d = 0.0001 + rng.below(300) as f64 / 1e6;
            format!(
                "{{\"type\":\"Polygon\",\"coordinates\":[[[{lon:.6},{lat:.6}],[{:.6},{lat:.6}],[{:.6},{:.6}],[{lon:.6},{:.6}],[{lon:.6},{lat:.6}]]]}}",
                lon + d,
                lon + d,
                lat + d,
                lat + d
            )
        } else {
            String::new()
        }
    }
}

struct Bar {
    on: bool,
    total: u64,
    done: u64,
    start: std::time::Instant,
    last: std::time::Instant,
}

impl Bar {
    fn new(on: bool, total: u64) -> Self {
        let now = std::time::Instant::now();
        Self {
            on,
            total,
            done: 0,
            start: now,
            last: now,
        }
    }
    fn tick(&mut self, n: u64) {
        self.done += n;
        if self.on && self.done.is_multiple_of(4096) && self.last.elapsed().as_millis() >= 200 {
            self.last = std::time::Instant::now();
            self.draw();
        }
    }
    fn draw(&self) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let rate = self.done as f64 / secs;
        let left = self.total.saturating_sub(self.done) as f64 / rate.max(1.0);
        eprint!(
            "\rgenerating: {}/{} rows, {rate:.0} rows/s, ETA {left:.0} s   ",
            self.done, self.total
        );
        let _ = std::io::stderr().flush();
    }
    fn done(&self) {
        if self.on {
            self.draw();
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
