//! Charts drawn on the server as SVG: readable without a script, labelled for screen
//! readers (a title and a description naming every figure), and always shown beside the
//! table that holds the same numbers.

use std::fmt::Write as _;

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number for people: thousands grouped, at most two decimals.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let neg = v < 0.0;
    let rounded = (v.abs() * 100.0).round() / 100.0;
    let int = rounded.trunc() as u64;
    let frac = ((rounded - rounded.trunc()) * 100.0).round() as u64;
    let digits = int.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    let mut s = if neg { format!("-{grouped}") } else { grouped };
    if frac > 0 {
        let _ = write!(s, ".{frac:02}");
        while s.ends_with('0') {
            s.pop();
        }
    }
    s
}

/// Horizontal bars, one per `(label, value)`, longest scale at the largest value.
pub fn bars(id: &str, title: &str, items: &[(String, f64)]) -> String {
    const W: f64 = 640.0;
    const LABEL: f64 = 220.0;
    const ROW: f64 = 22.0;
    let h = ROW * items.len().max(1) as f64 + 8.0;
    let max = items.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let desc: Vec<String> = items
        .iter()
        .map(|(l, v)| format!("{l}: {}", num(*v)))
        .collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {h}\" role=\"img\" \
         aria-labelledby=\"{id}-t {id}-d\" class=\"chart\"><title id=\"{id}-t\">{}</title>\
         <desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(&desc.join("; "))
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = if max > 0.0 {
            (W - LABEL - 70.0) * v / max
        } else {
            0.0
        };
        let _ = write!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"#0b5394\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1a1a1a\">{}</text>",
            LABEL - 6.0,
            y + 14.0,
            esc(label),
            y + 2.0,
            ROW - 6.0,
            LABEL + w + 4.0,
            y + 14.0,
            num(*v),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One point of a line chart, with an optional prediction band (low, high) around it.
#[derive(Debug, Clone)]
pub struct Point {
    pub label: String,
    pub value: f64,
    pub band80: Option<(f64, f64)>,
    pub band95: Option<(f64, f64)>,
    /// Drawn dashed: a forecast, not an observation.
    pub forecast: bool,
}

/// A line chart's drawing area: where a point's index and value fall.
struct Frame {
    lo: f64,
    hi: f64,
    n: f64,
}

impl Frame {
    const W: f64 = 720.0;
    const H: f64 = 260.0;
    const PAD: f64 = 44.0;

    /// The frame that holds every value and band of `points`.
    fn of(points: &[Point]) -> Self {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for p in points {
            for v in [Some(p.value), p.band95.map(|b| b.0), p.band95.map(|b| b.1)]
                .into_iter()
                .flatten()
            {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if !lo.is_finite() {
            lo = 0.0;
            hi = 1.0;
        }
        if (hi - lo).abs() < f64::EPSILON {
            hi = lo + 1.0;
        }
        Self {
            lo,
            hi,
            n: points.len().max(2) as f64,
        }
    }
    fn x(&self, i: usize) -> f64 {
        Self::PAD + (Self::W - 2.0 * Self::PAD) * i as f64 / (self.n - 1.0)
    }
    fn y(&self, v: f64) -> f64 {
        Self::H - Self::PAD - (Self::H - 2.0 * Self::PAD) * (v - self.lo) / (self.hi - self.lo)
    }
}

/// The 95% and 80% prediction bands, widest first, where there are two points or more.
fn bands(svg: &mut String, f: &Frame, points: &[Point]) {
    for (band, fill) in [(95, "#d6e4f0"), (80, "#9fc2e0")] {
        let pts: Vec<(usize, (f64, f64))> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| if band == 95 { p.band95 } else { p.band80 }.map(|b| (i, b)))
            .collect();
        if pts.len() >= 2 {
            let mut d = String::new();
            for (k, (i, (_, high))) in pts.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if k == 0 { "M" } else { "L" },
                    f.x(*i),
                    f.y(*high)
                );
            }
            for (i, (low, _)) in pts.iter().rev() {
                let _ = write!(d, "L{:.1},{:.1}", f.x(*i), f.y(*low));
            }
            let _ = write!(svg, "<path d=\"{d}Z\" fill=\"{fill}\"/>");
        }
    }
}

/// The observed line, solid, and the forecast's, dashed.
fn lines(svg: &mut String, f: &Frame, points: &[Point]) {
    for (dashed, colour) in [(false, "#0b5394"), (true, "#b45f06")] {
        let mut d = String::new();
        let mut started = false;
        for (i, p) in points.iter().enumerate() {
            // The forecast line starts at the last observation, so the two join.
            let last_observed = !p.forecast && points.get(i + 1).is_some_and(|q| q.forecast);
            if p.forecast == dashed || (dashed && last_observed) {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if started { "L" } else { "M" },
                    f.x(i),
                    f.y(p.value)
                );
                started = true;
            }
        }
        if !d.is_empty() {
            let dash = if dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = write!(
                svg,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>"
            );
        }
    }
}

/// A line over time; forecast points dashed, with their 80% and 95% bands shaded.
pub fn line(id: &str, title: &str, points: &[Point]) -> String {
    const W: f64 = Frame::W;
    const H: f64 = Frame::H;
    const PAD: f64 = Frame::PAD;
    let f = Frame::of(points);
    let desc: Vec<String> = points
        .iter()
        .map(|p| format!("{}: {}", p.label, num(p.value)))
        .collect();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-labelledby=\"{id}-t {id}-d\" class=\"chart\"><title id=\"{id}-t\">{}</title>\
         <desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(&desc.join("; "))
    );
    let _ = write!(
        svg,
        "<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#595959\"/>\
         <text x=\"4\" y=\"{top:.0}\" font-size=\"11\" fill=\"#1a1a1a\">{}</text>\
         <text x=\"4\" y=\"{b}\" font-size=\"11\" fill=\"#1a1a1a\">{}</text>",
        num(f.hi),
        num(f.lo),
        b = H - PAD,
        r = W - PAD,
        top = PAD,
    );
    bands(&mut svg, &f, points);
    lines(&mut svg, &f, points);
    let step = (points.len() / 8).max(1);
    for (i, p) in points.iter().enumerate().step_by(step) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
            f.x(i),
            H - PAD + 16.0,
            esc(&p.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_trimmed() {
        assert_eq!(num(1234567.0), "1 234 567");
        assert_eq!(num(-1234.5), "-1 234.5");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(12.0), "12");
    }

    #[test]
    fn charts_escape_labels_and_describe_their_figures() {
        let svg = bars(
            "x",
            "Quá hạn <3>",
            &[("Bến Thành".into(), 3.0), ("A&B".into(), 0.0)],
        );
        assert!(svg.contains("Quá hạn &lt;3&gt;"));
        assert!(svg.contains("<desc id=\"x-d\">Bến Thành: 3; A&amp;B: 0</desc>"));
        let pts: Vec<Point> = (0..4)
            .map(|i| Point {
                label: format!("2025-0{}", i + 1),
                value: f64::from(i),
                band80: (i >= 2).then_some((0.0, 5.0)),
                band95: (i >= 2).then_some((-1.0, 6.0)),
                forecast: i >= 2,
            })
            .collect();
        let svg = line("y", "t", &pts);
        assert!(svg.contains("stroke-dasharray"));
        assert_eq!(svg.matches("<path").count(), 4);
    }
}
