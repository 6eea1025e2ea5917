//! Where a warning applies: polygons and circles as CAP 1.2 writes them (WGS 84, `lat,lon`),
//! each checked once so that nothing malformed is ever issued.

use serde::{Deserialize, Serialize};

/// Why an area is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error("a point is not `lat,lon` with latitude in -90..90 and longitude in -180..180")]
    Point,
    #[error("a polygon needs at least 4 points")]
    TooFewPoints,
    #[error("a polygon must end where it starts")]
    NotClosed,
    #[error("a polygon's edges cross")]
    SelfIntersecting,
    #[error("a polygon has too many points")]
    TooManyPoints,
    #[error("a circle is `lat,lon radius` with a radius in kilometres above 0")]
    Radius,
}

/// The most points a polygon may have: a ward's outline, not a survey.
pub const MAX_POINTS: usize = 2000;

/// A point, WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    pub fn new(lat: f64, lon: f64) -> Result<Self, AreaError> {
        let ok = lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon);
        ok.then_some(Self { lat, lon }).ok_or(AreaError::Point)
    }

    /// `lat,lon`.
    pub fn parse(s: &str) -> Result<Self, AreaError> {
        let (lat, lon) = s.split_once(',').ok_or(AreaError::Point)?;
        let num = |t: &str| t.trim().parse::<f64>().map_err(|_| AreaError::Point);
        Self::new(num(lat)?, num(lon)?)
    }
}

/// Six decimals: about 11 cm, more than any warning needs, and what CAP writers use.
fn coord(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", coord(self.lat), coord(self.lon))
    }
}

/// A closed ring of at least four points whose edges do not cross.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "String")]
pub struct Polygon(Vec<Point>);

impl Polygon {
    pub fn new(points: Vec<Point>) -> Result<Self, AreaError> {
        if points.len() < 4 {
            return Err(AreaError::TooFewPoints);
        }
        if points.len() > MAX_POINTS {
            return Err(AreaError::TooManyPoints);
        }
        if points.first() != points.last() {
            return Err(AreaError::NotClosed);
        }
        if crosses(&points) {
            return Err(AreaError::SelfIntersecting);
        }
        Ok(Self(points))
    }

    /// CAP's text: whitespace-separated `lat,lon` pairs.
    pub fn parse(s: &str) -> Result<Self, AreaError> {
        let points = s
            .split_whitespace()
            .map(Point::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(points)
    }

    pub fn points(&self) -> &[Point] {
        &self.0
    }

    /// Whether `p` lies inside (even-odd rule; the ring's own edge counts as outside).
    pub fn contains(&self, p: Point) -> bool {
        let mut inside = false;
        for w in self.0.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.lat > p.lat) != (b.lat > p.lat) {
                let x = a.lon + (p.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat);
                if p.lon < x {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

impl From<Polygon> for String {
    fn from(p: Polygon) -> Self {
        p.to_string()
    }
}

impl std::fmt::Display for Polygon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(" "))
    }
}

impl<'de> Deserialize<'de> for Polygon {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Polygon::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Whether two edges of the ring cross (edges that share an end are neighbours, not a
/// crossing). Quadratic, bounded by [`MAX_POINTS`].
fn crosses(ring: &[Point]) -> bool {
    let edges: Vec<(Point, Point)> = ring.windows(2).map(|w| (w[0], w[1])).collect();
    let n = edges.len();
    for i in 0..n {
        for j in i + 1..n {
            let neighbours = j == i + 1 || (i == 0 && j == n - 1);
            if neighbours {
                continue;
            }
            if segments_cross(edges[i], edges[j]) {
                return true;
            }
        }
    }
    false
}

fn orient(a: Point, b: Point, c: Point) -> f64 {
    (b.lon - a.lon) * (c.lat - a.lat) - (b.lat - a.lat) * (c.lon - a.lon)
}

fn on_segment(a: Point, b: Point, p: Point) -> bool {
    p.lon >= a.lon.min(b.lon)
        && p.lon <= a.lon.max(b.lon)
        && p.lat >= a.lat.min(b.lat)
        && p.lat <= a.lat.max(b.lat)
}

fn segments_cross((a, b): (Point, Point), (c, d): (Point, Point)) -> bool {
    let (d1, d2) = (orient(c, d, a), orient(c, d, b));
    let (d3, d4) = (orient(a, b, c), orient(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(c, d, a))
        || (d2 == 0.0 && on_segment(c, d, b))
        || (d3 == 0.0 && on_segment(a, b, c))
        || (d4 == 0.0 && on_segment(a, b, d))
}

/// A circle: its centre and a radius in kilometres above 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "String")]
pub struct Circle {
    pub center: Point,
    pub radius_km: f64,
}

impl Circle {
    pub fn new(center: Point, radius_km: f64) -> Result<Self, AreaError> {
        if !radius_km.is_finite() || radius_km <= 0.0 || radius_km > 1000.0 {
            return Err(AreaError::Radius);
        }
        Ok(Self { center, radius_km })
    }

    /// CAP's text: `lat,lon radius`.
    pub fn parse(s: &str) -> Result<Self, AreaError> {
        let mut parts = s.split_whitespace();
        let center = Point::parse(parts.next().ok_or(AreaError::Point)?)?;
        let radius = parts
            .next()
            .and_then(|r| r.parse::<f64>().ok())
            .ok_or(AreaError::Radius)?;
        if parts.next().is_some() {
            return Err(AreaError::Radius);
        }
        Self::new(center, radius)
    }

    /// Whether `p` lies within (haversine distance, mean Earth radius).
    pub fn contains(&self, p: Point) -> bool {
        distance_km(self.center, p) <= self.radius_km
    }
}

impl From<Circle> for String {
    fn from(c: Circle) -> Self {
        c.to_string()
    }
}

impl std::fmt::Display for Circle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.center, coord(self.radius_km))
    }
}

impl<'de> Deserialize<'de> for Circle {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Circle::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: Point, b: Point) -> f64 {
    const R: f64 = 6371.0088;
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dla = la2 - la1;
    let dlo = (b.lon - a.lon).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygons_must_close_have_four_points_and_not_cross() {
        let square = "10.77,106.69 10.78,106.69 10.78,106.70 10.77,106.70 10.77,106.69";
        let p = Polygon::parse(square).unwrap();
        assert!(p.contains(Point::new(10.775, 106.695).unwrap()));
        assert!(!p.contains(Point::new(10.70, 106.695).unwrap()));
        assert_eq!(Polygon::parse(&p.to_string()), Ok(p));
        assert_eq!(
            Polygon::parse("10.77,106.69 10.78,106.69 10.77,106.69"),
            Err(AreaError::TooFewPoints)
        );
        assert_eq!(
            Polygon::parse("10.77,106.69 10.78,106.69 10.78,106.70 10.77,106.70"),
            Err(AreaError::NotClosed)
        );
        // A bow tie.
        assert_eq!(
            Polygon::parse("10.77,106.69 10.78,106.70 10.78,106.69 10.77,106.70 10.77,106.69"),
            Err(AreaError::SelfIntersecting)
        );
        assert_eq!(Polygon::parse("91,0 1,1 2,2 91,0"), Err(AreaError::Point));
    }

    #[test]
    fn circles_need_a_positive_radius() {
        let c = Circle::parse("10.776,106.700 2.5").unwrap();
        assert_eq!(c.to_string(), "10.776,106.7 2.5");
        assert!(c.contains(Point::new(10.78, 106.70).unwrap()));
        assert!(!c.contains(Point::new(10.90, 106.70).unwrap()));
        assert_eq!(Circle::parse("10.776,106.700 -1"), Err(AreaError::Radius));
        assert_eq!(Circle::parse("10.776,106.700 0"), Err(AreaError::Radius));
        assert_eq!(Circle::parse("10.776,106.700"), Err(AreaError::Radius));
    }
}
