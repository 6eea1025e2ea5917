//! Places: points reported by residents, boxes a map asks for, and the boundaries of the
//! communes that say which commune a point lies in.
//!
//! No official commune geometry ships with sohoa (none is published under a licence we can
//! use here). [`schematic_boundaries`] draws *approximate* ones: each 2025 unit is placed near
//! the centre of the district its code belonged to before the reform, and the city's extent
//! is cut into the Voronoi cells of those places. They are good enough to route a report and
//! to colour a map, and wrong at every real border; a city replaces them with official
//! polygons through `sohoa boundaries FILE.geojson`.

use serde_json::{json, Value};

use crate::units::{UNITS_2025, UNITS_PRE_2025};
use crate::UnitCode;

/// A position on the WGS 84 ellipsoid, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    lat: f64,
    lon: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    #[error("latitude must be a number between -90 and 90, longitude between -180 and 180")]
    OutOfRange,
    #[error("a bounding box is min_lon,min_lat,max_lon,max_lat with min below max")]
    BadBox,
    #[error("not a GeoJSON Polygon or MultiPolygon with closed rings of at least 4 positions")]
    BadGeometry,
}

impl Point {
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoError> {
        if lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 {
            Ok(Self { lat, lon })
        } else {
            Err(GeoError::OutOfRange)
        }
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Great-circle distance in metres (haversine; plenty for "is it next door").
    pub fn distance_m(self, other: Point) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// A box of `metres` around the point, for a first cut by index before measuring.
    pub fn around(self, metres: f64) -> BBox {
        let dlat = metres / 111_320.0;
        let dlon = metres / (111_320.0 * self.lat.to_radians().cos().max(0.01));
        BBox {
            min_lon: self.lon - dlon,
            min_lat: self.lat - dlat,
            max_lon: self.lon + dlon,
            max_lat: self.lat + dlat,
        }
    }
}

/// A bounding box, as GeoJSON and Open311 clients write it: west, south, east, north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// Parses `min_lon,min_lat,max_lon,max_lat`.
    pub fn parse(s: &str) -> Result<Self, GeoError> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>().map_err(|_| GeoError::BadBox))
            .collect::<Result<_, _>>()?;
        let [min_lon, min_lat, max_lon, max_lat] = parts[..] else {
            return Err(GeoError::BadBox);
        };
        Point::new(min_lat, min_lon).map_err(|_| GeoError::BadBox)?;
        Point::new(max_lat, max_lon).map_err(|_| GeoError::BadBox)?;
        if min_lon >= max_lon || min_lat >= max_lat {
            return Err(GeoError::BadBox);
        }
        Ok(Self {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    pub fn contains(&self, p: Point) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat)
            && (self.min_lon..=self.max_lon).contains(&p.lon)
    }

    fn of_ring(ring: &[[f64; 2]]) -> Self {
        let mut b = BBox {
            min_lon: f64::INFINITY,
            min_lat: f64::INFINITY,
            max_lon: f64::NEG_INFINITY,
            max_lat: f64::NEG_INFINITY,
        };
        for &[lon, lat] in ring {
            b.min_lon = b.min_lon.min(lon);
            b.max_lon = b.max_lon.max(lon);
            b.min_lat = b.min_lat.min(lat);
            b.max_lat = b.max_lat.max(lat);
        }
        b
    }

    fn union(self, o: BBox) -> BBox {
        BBox {
            min_lon: self.min_lon.min(o.min_lon),
            min_lat: self.min_lat.min(o.min_lat),
            max_lon: self.max_lon.max(o.max_lon),
            max_lat: self.max_lat.max(o.max_lat),
        }
    }
}

/// Rings of `[lon, lat]` positions (GeoJSON order): the first is the outline, the rest holes.
pub type Polygon = Vec<Vec<[f64; 2]>>;

/// One commune's area: one or more polygons.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub code: UnitCode,
    polygons: Vec<Polygon>,
    bbox: BBox,
}

impl Area {
    /// An area from a GeoJSON geometry (`Polygon` or `MultiPolygon`).
    pub fn from_geojson(code: UnitCode, geometry: &Value) -> Result<Self, GeoError> {
        let coords = geometry.get("coordinates").ok_or(GeoError::BadGeometry)?;
        let polygons: Vec<Polygon> = match geometry.get("type").and_then(Value::as_str) {
            Some("Polygon") => {
                vec![serde_json::from_value(coords.clone()).map_err(|_| GeoError::BadGeometry)?]
            }
            Some("MultiPolygon") => {
                serde_json::from_value(coords.clone()).map_err(|_| GeoError::BadGeometry)?
            }
            _ => return Err(GeoError::BadGeometry),
        };
        Self::new(code, polygons)
    }

    fn new(code: UnitCode, polygons: Vec<Polygon>) -> Result<Self, GeoError> {
        let mut bbox: Option<BBox> = None;
        for polygon in &polygons {
            if polygon.is_empty() {
                return Err(GeoError::BadGeometry);
            }
            for ring in polygon {
                let closed = ring.len() >= 4 && ring.first() == ring.last();
                let valid = ring.iter().all(|&[lon, lat]| Point::new(lat, lon).is_ok());
                if !closed || !valid {
                    return Err(GeoError::BadGeometry);
                }
            }
            let b = BBox::of_ring(&polygon[0]);
            bbox = Some(bbox.map_or(b, |a| a.union(b)));
        }
        Ok(Self {
            code,
            polygons,
            bbox: bbox.ok_or(GeoError::BadGeometry)?,
        })
    }

    pub fn bbox(&self) -> BBox {
        self.bbox
    }

    /// Whether the point lies inside (even-odd rule over every ring, so holes are holes).
    pub fn contains(&self, p: Point) -> bool {
        if !self.bbox.contains(p) {
            return false;
        }
        self.polygons
            .iter()
            .any(|polygon| polygon.iter().filter(|ring| crosses_odd(ring, p)).count() % 2 == 1)
    }

    /// A rough centre: the middle of the largest outline's vertices.
    pub fn centre(&self) -> Point {
        let ring = self
            .polygons
            .iter()
            .map(|p| &p[0])
            .max_by_key(|r| r.len())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let n = ring.len().saturating_sub(1).max(1) as f64;
        let (lon, lat) = ring
            .iter()
            .skip(1)
            .fold((0.0, 0.0), |(x, y), &[lon, lat]| (x + lon, y + lat));
        Point {
            lat: lat / n,
            lon: lon / n,
        }
    }

    /// The GeoJSON geometry.
    pub fn geometry(&self) -> Value {
        if self.polygons.len() == 1 {
            json!({"type": "Polygon", "coordinates": self.polygons[0]})
        } else {
            json!({"type": "MultiPolygon", "coordinates": self.polygons})
        }
    }

    pub fn polygons(&self) -> &[Polygon] {
        &self.polygons
    }
}

/// Ray casting: does a ray from `p` towards east cross the ring an odd number of times?
fn crosses_odd(ring: &[[f64; 2]], p: Point) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let ([x1, y1], [x2, y2]) = (w[0], w[1]);
        if (y1 > p.lat) != (y2 > p.lat) {
            let x = x1 + (p.lat - y1) * (x2 - x1) / (y2 - y1);
            if p.lon < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// The communes' areas, and which one a point lies in.
#[derive(Debug, Clone, Default)]
pub struct Boundaries {
    areas: Vec<Area>,
}

impl Boundaries {
    pub fn new(areas: Vec<Area>) -> Self {
        Self { areas }
    }

    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    pub fn locate(&self, p: Point) -> Option<&UnitCode> {
        self.areas.iter().find(|a| a.contains(p)).map(|a| &a.code)
    }

    pub fn get(&self, code: &UnitCode) -> Option<&Area> {
        self.areas.iter().find(|a| &a.code == code)
    }

    /// The box around every area: what the city map shows first.
    pub fn extent(&self) -> Option<BBox> {
        self.areas.iter().map(|a| a.bbox).reduce(BBox::union)
    }
}

/// The mainland extent the schematic cells fill: from Dầu Tiếng in the north-west to Xuyên
/// Mộc in the east and Cần Giờ's coast in the south.
const MAINLAND: BBox = BBox {
    min_lon: 106.33,
    min_lat: 10.32,
    max_lon: 107.58,
    max_lat: 11.50,
};

/// Côn Đảo, 180 km out to sea: a box of its own.
const CON_DAO: BBox = BBox {
    min_lon: 106.52,
    min_lat: 8.64,
    max_lon: 106.72,
    max_lat: 8.78,
};

/// Rough centres (lat, lon) of the pre-2025 districts, and how far (in degrees) their
/// communes spread around it; the district code is the National Statistics Office's.
const DISTRICTS: &[(&str, f64, f64, f64)] = &[
    ("718", 10.995, 106.655, 0.035),
    ("719", 11.260, 106.620, 0.070),
    ("720", 11.300, 106.400, 0.090),
    ("721", 11.130, 106.560, 0.060),
    ("722", 11.300, 106.790, 0.080),
    ("723", 11.050, 106.790, 0.050),
    ("724", 10.905, 106.775, 0.025),
    ("725", 10.930, 106.710, 0.025),
    ("726", 11.160, 106.880, 0.070),
    ("747", 10.370, 107.090, 0.030),
    ("748", 10.500, 107.170, 0.030),
    ("750", 10.650, 107.250, 0.070),
    ("751", 10.620, 107.430, 0.090),
    ("753", 10.480, 107.250, 0.050),
    ("754", 10.590, 107.050, 0.060),
    ("760", 10.776, 106.700, 0.008),
    ("761", 10.867, 106.641, 0.020),
    ("764", 10.838, 106.665, 0.015),
    ("765", 10.811, 106.709, 0.015),
    ("766", 10.801, 106.653, 0.013),
    ("767", 10.790, 106.628, 0.012),
    ("768", 10.799, 106.680, 0.008),
    ("769", 10.830, 106.770, 0.045),
    ("770", 10.784, 106.684, 0.008),
    ("771", 10.775, 106.667, 0.007),
    ("772", 10.763, 106.650, 0.007),
    ("773", 10.758, 106.701, 0.006),
    ("774", 10.754, 106.663, 0.007),
    ("775", 10.748, 106.635, 0.009),
    ("776", 10.724, 106.629, 0.013),
    ("777", 10.765, 106.603, 0.020),
    ("778", 10.734, 106.722, 0.015),
    ("783", 10.990, 106.500, 0.080),
    ("784", 10.886, 106.592, 0.040),
    ("785", 10.690, 106.580, 0.060),
    ("786", 10.680, 106.720, 0.030),
    ("787", 10.470, 106.900, 0.090),
];

/// Where the schematic puts each 2025 unit, keyed by the district its code belonged to.
fn schematic_seeds() -> Vec<(UnitCode, Point)> {
    let mut district_of = std::collections::HashMap::new();
    let mut old = csv::Reader::from_reader(UNITS_PRE_2025.as_bytes());
    for rec in old.records().flatten() {
        if let (Some(d), Some(w)) = (rec.get(2), rec.get(4)) {
            district_of.insert(w.trim().to_owned(), d.trim().to_owned());
        }
    }
    let mut by_district: std::collections::BTreeMap<String, Vec<UnitCode>> = Default::default();
    let mut new = csv::Reader::from_reader(UNITS_2025.as_bytes());
    for rec in new.records().flatten() {
        let Some(code) = rec.get(0).and_then(|c| UnitCode::parse(c.trim()).ok()) else {
            continue;
        };
        let district = district_of
            .get(code.as_str())
            .cloned()
            .unwrap_or_else(|| "island".to_owned());
        by_district.entry(district).or_default().push(code);
    }
    let mut seeds = Vec::new();
    for (district, codes) in by_district {
        let Some(&(_, lat, lon, spread)) = DISTRICTS.iter().find(|d| d.0 == district) else {
            // Units with no former district on the mainland: the special zone, at sea.
            for code in codes {
                seeds.push((code, CON_DAO_CENTRE));
            }
            continue;
        };
        // A sunflower spiral: evenly spread, deterministic, no two seeds on one spot.
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let n = codes.len() as f64;
        for (i, code) in codes.into_iter().enumerate() {
            let r = spread * ((i as f64 + 0.5) / n).sqrt();
            let t = golden * i as f64;
            seeds.push((
                code,
                Point {
                    lat: lat + r * t.sin(),
                    lon: lon + r * t.cos(),
                },
            ));
        }
    }
    seeds
}

const CON_DAO_CENTRE: Point = Point {
    lat: 8.70,
    lon: 106.61,
};

fn rect(b: BBox) -> Vec<[f64; 2]> {
    vec![
        [b.min_lon, b.min_lat],
        [b.max_lon, b.min_lat],
        [b.max_lon, b.max_lat],
        [b.min_lon, b.max_lat],
        [b.min_lon, b.min_lat],
    ]
}

/// Keeps the part of the convex ring closer to `a` than to `b` (Sutherland–Hodgman against
/// their perpendicular bisector), in a plane where a degree of longitude is shrunk by
/// `k = cos(latitude)` so distances are about right.
fn clip_closer_to(ring: &[[f64; 2]], a: Point, b: Point, k: f64) -> Vec<[f64; 2]> {
    // f(p) < 0 where p is closer to a.
    let f = |p: [f64; 2]| {
        let (px, py) = (p[0] * k, p[1]);
        let (ax, ay, bx, by) = (a.lon * k, a.lat, b.lon * k, b.lat);
        (px - ax).powi(2) + (py - ay).powi(2) - (px - bx).powi(2) - (py - by).powi(2)
    };
    let mut out = Vec::with_capacity(ring.len() + 1);
    let pts = &ring[..ring.len().saturating_sub(1)];
    for i in 0..pts.len() {
        let (p, q) = (pts[i], pts[(i + 1) % pts.len()]);
        let (fp, fq) = (f(p), f(q));
        if fp <= 0.0 {
            out.push(p);
        }
        if (fp < 0.0) != (fq < 0.0) && fp != fq {
            let t = fp / (fp - fq);
            out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
        }
    }
    if let Some(&first) = out.first() {
        out.push(first);
    }
    out
}

/// Approximate boundaries of the 168 units in force since 2025-07-01 (see the module
/// documentation for how, and why they are only approximate).
pub fn schematic_boundaries() -> Vec<Area> {
    let seeds = schematic_seeds();
    let k = 10.8f64.to_radians().cos();
    let mut areas = Vec::with_capacity(seeds.len());
    for (i, (code, p)) in seeds.iter().enumerate() {
        let at_sea = CON_DAO.contains(*p);
        let mut ring = rect(if at_sea { CON_DAO } else { MAINLAND });
        for (j, (_, q)) in seeds.iter().enumerate() {
            if i == j || CON_DAO.contains(*q) != at_sea {
                continue;
            }
            ring = clip_closer_to(&ring, *p, *q, k);
            if ring.len() < 4 {
                break;
            }
        }
        // Six decimals is 11 cm: more would only make the GeoJSON longer.
        let ring: Vec<[f64; 2]> = ring
            .into_iter()
            .map(|[x, y]| [(x * 1e6).round() / 1e6, (y * 1e6).round() / 1e6])
            .collect();
        if let Ok(area) = Area::new(code.clone(), vec![vec![ring]]) {
            areas.push(area);
        }
    }
    areas
}

/// The 2025 unit an address names ("12 Lê Lợi, Phường Bến Thành" names Bến Thành), by
/// its name with or without "phường"/"xã"/"đặc khu", ignoring case and diacritics. The
/// longest name found wins, so "Tân Định" is not mistaken for a shorter name inside it.
pub fn unit_in_address(address: &str) -> Option<UnitCode> {
    static NAMES: std::sync::OnceLock<Vec<(UnitCode, String, String)>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut out = Vec::new();
        let mut rdr = csv::Reader::from_reader(UNITS_2025.as_bytes());
        for rec in rdr.records().flatten() {
            let (Some(code), Some(name)) = (rec.get(0), rec.get(1)) else {
                continue;
            };
            let Ok(code) = UnitCode::parse(code.trim()) else {
                continue;
            };
            let full = crate::text::fold(name);
            let bare = ["phuong ", "xa ", "dac khu "]
                .iter()
                .find_map(|p| full.strip_prefix(p))
                .unwrap_or(&full)
                .to_owned();
            out.push((code, full, bare));
        }
        out
    });
    let folded = format!(
        " {} ",
        crate::text::fold(address)
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    names
        .iter()
        .filter_map(|(code, full, bare)| {
            if folded.contains(&format!(" {full} ")) {
                Some((full.len() + 100, code))
            } else if folded.contains(&format!(" {bare} ")) {
                Some((bare.len(), code))
            } else {
                None
            }
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, code)| code.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point::new(lat, lon).unwrap()
    }

    #[test]
    fn points_and_boxes_are_parsed_strictly() {
        assert!(Point::new(91.0, 0.0).is_err());
        assert!(Point::new(f64::NAN, 0.0).is_err());
        assert!(BBox::parse("106.6,10.7,106.8,10.9").is_ok());
        assert_eq!(BBox::parse("106.8,10.7,106.6,10.9"), Err(GeoError::BadBox));
        assert_eq!(BBox::parse("1,2,3"), Err(GeoError::BadBox));
        assert_eq!(BBox::parse("a,b,c,d"), Err(GeoError::BadBox));
    }

    #[test]
    fn distances_are_in_metres() {
        let d = p(10.7757, 106.7004).distance_m(p(10.7766, 106.7004));
        assert!((d - 100.0).abs() < 1.0, "{d}");
        let b = p(10.0, 106.0).around(100.0);
        assert!(b.contains(p(10.0008, 106.0008)));
        assert!(!b.contains(p(10.002, 106.0)));
    }

    #[test]
    fn a_polygon_with_a_hole_excludes_the_hole() {
        let code = UnitCode::parse("26743").unwrap();
        let geometry = json!({"type": "Polygon", "coordinates": [
            [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]],
            [[1.0, 1.0], [3.0, 1.0], [3.0, 3.0], [1.0, 3.0], [1.0, 1.0]]
        ]});
        let a = Area::from_geojson(code, &geometry).unwrap();
        assert!(a.contains(p(0.5, 0.5)));
        assert!(!a.contains(p(2.0, 2.0)));
        assert!(!a.contains(p(5.0, 5.0)));
        let open =
            json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]]});
        assert_eq!(
            Area::from_geojson(UnitCode::parse("26743").unwrap(), &open),
            Err(GeoError::BadGeometry)
        );
    }

    #[test]
    fn addresses_name_their_commune() {
        let code = |s: &str| unit_in_address(s).map(|c| c.as_str().to_owned());
        assert_eq!(
            code("12 Lê Lợi, Phường Bến Thành").as_deref(),
            Some("26743")
        );
        assert_eq!(
            code("12 le loi, ben thanh, tp hcm").as_deref(),
            Some("26743")
        );
        assert_eq!(
            code("5 Hai Bà Trưng, P. Tân Định").as_deref(),
            Some("26737")
        );
        assert_eq!(code("Hà Nội"), None);
    }

    #[test]
    fn the_schematic_covers_the_city_once() {
        let b = Boundaries::new(schematic_boundaries());
        assert_eq!(b.areas().len(), 168);
        // Every place in the mainland extent, and Côn Đảo, lies in exactly one unit.
        for i in 0..40 {
            for j in 0..40 {
                let q = p(
                    MAINLAND.min_lat
                        + (i as f64 + 0.5) * (MAINLAND.max_lat - MAINLAND.min_lat) / 40.0,
                    MAINLAND.min_lon
                        + (j as f64 + 0.5) * (MAINLAND.max_lon - MAINLAND.min_lon) / 40.0,
                );
                let n = b.areas().iter().filter(|a| a.contains(q)).count();
                assert_eq!(n, 1, "{q:?}");
            }
        }
        assert!(b.locate(p(8.69, 106.6)).is_some());
        assert!(
            b.locate(p(21.0, 105.8)).is_none(),
            "Hà Nội is not in the city"
        );
        // Each unit's own seed lies in its own cell: Bến Thành is in District 1's place.
        let ben_thanh = UnitCode::parse("26743").unwrap();
        let area = b.get(&ben_thanh).unwrap();
        assert!(area.contains(area.centre()));
        assert_eq!(b.locate(area.centre()), Some(&ben_thanh));
    }
}
