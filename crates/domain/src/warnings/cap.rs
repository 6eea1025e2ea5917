//! OASIS CAP 1.2, exactly: the enumerations, the rules a message must meet before it is
//! issued, and the XML the official schema validates (an `xs:sequence`: element order
//! matters; times as `YYYY-MM-DDThh:mm:ss+07:00`, never `Z`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::area::{Circle, Polygon};

pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

macro_rules! cap_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// As CAP writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

cap_enum!(
    /// `Actual` reaches the public as real; `Exercise` and `Test` never do.
    Status { Actual = "Actual", Exercise = "Exercise", System = "System", Test = "Test", Draft = "Draft" }
);
cap_enum!(MsgType { Alert = "Alert", Update = "Update", Cancel = "Cancel", Ack = "Ack", Error = "Error" });
cap_enum!(Scope { Public = "Public", Restricted = "Restricted", Private = "Private" });
cap_enum!(Category {
    Geo = "Geo", Met = "Met", Safety = "Safety", Security = "Security", Rescue = "Rescue",
    Fire = "Fire", Health = "Health", Env = "Env", Transport = "Transport", Infra = "Infra",
    Cbrne = "CBRNE", Other = "Other",
});
cap_enum!(Urgency { Immediate = "Immediate", Expected = "Expected", Future = "Future", Past = "Past", Unknown = "Unknown" });
cap_enum!(Severity { Extreme = "Extreme", Severe = "Severe", Moderate = "Moderate", Minor = "Minor", Unknown = "Unknown" });
cap_enum!(Certainty { Observed = "Observed", Likely = "Likely", Possible = "Possible", Unlikely = "Unlikely", Unknown = "Unknown" });
cap_enum!(ResponseType {
    Shelter = "Shelter", Evacuate = "Evacuate", Prepare = "Prepare", Execute = "Execute",
    Avoid = "Avoid", Monitor = "Monitor", Assess = "Assess", AllClear = "AllClear", None = "None",
});

/// CAP's time: seconds, Vietnam's offset written out.
pub fn cap_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(crate::timestamp::VIETNAM);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+07:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An area of an info block.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub desc: String,
    pub polygons: Vec<Polygon>,
    pub circles: Vec<Circle>,
    /// `(valueName, value)`, e.g. `("VN-ADMIN", "26734")` for a ward by its code.
    pub geocodes: Vec<(String, String)>,
}

/// One language's account of the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// `vi-VN` or `en-US`.
    pub language: String,
    pub categories: Vec<Category>,
    pub event: String,
    pub response_types: Vec<ResponseType>,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub effective: OffsetDateTime,
    pub onset: Option<OffsetDateTime>,
    pub expires: OffsetDateTime,
    pub sender_name: String,
    pub headline: String,
    pub description: String,
    pub instruction: Option<String>,
    pub web: Option<String>,
    pub contact: Option<String>,
    pub areas: Vec<Area>,
}

/// An earlier message of the same event, as `references` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent: String,
}

/// A whole CAP message.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub identifier: String,
    pub sender: String,
    pub sent: OffsetDateTime,
    pub status: Status,
    pub msg_type: MsgType,
    pub scope: Scope,
    pub note: Option<String>,
    pub references: Vec<Reference>,
    pub infos: Vec<Info>,
}

/// Why a message cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("expires must come after effective")]
    ExpiresBeforeEffective,
    #[error("{0} must not contain spaces, commas or `<` and `&`")]
    BadToken(&'static str),
    #[error("an Update or Cancel must reference the messages it updates")]
    NoReferences,
    #[error("every info block needs at least one area")]
    NoArea,
}

/// CAP's identifiers and senders: no whitespace, commas, `<` or `&` (CAP 1.2 §3.2.1).
fn token_ok(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | '<' | '&'))
}

impl Alert {
    /// Checks the rules the schema cannot: tokens, required text, times, references, areas.
    pub fn check(&self) -> Result<(), AlertError> {
        if !token_ok(&self.identifier) {
            return Err(AlertError::BadToken("identifier"));
        }
        if !token_ok(&self.sender) {
            return Err(AlertError::BadToken("sender"));
        }
        if matches!(self.msg_type, MsgType::Update | MsgType::Cancel) && self.references.is_empty()
        {
            return Err(AlertError::NoReferences);
        }
        if self.infos.is_empty() {
            return Err(AlertError::Missing("info"));
        }
        for i in &self.infos {
            if i.categories.is_empty() {
                return Err(AlertError::Missing("category"));
            }
            for (field, text) in [
                ("event", &i.event),
                ("headline", &i.headline),
                ("description", &i.description),
            ] {
                if text.trim().is_empty() {
                    return Err(AlertError::Missing(field));
                }
            }
            if i.expires <= i.effective {
                return Err(AlertError::ExpiresBeforeEffective);
            }
            if i.areas.is_empty() {
                return Err(AlertError::NoArea);
            }
        }
        Ok(())
    }

    /// The message as `application/cap+xml`.
    pub fn to_xml(&self) -> String {
        let mut x = Xml::default();
        x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.raw(&format!("<alert xmlns=\"{NAMESPACE}\">"));
        x.el("identifier", &self.identifier);
        x.el("sender", &self.sender);
        x.el("sent", &cap_time(self.sent));
        x.el("status", self.status.as_str());
        x.el("msgType", self.msg_type.as_str());
        x.el("scope", self.scope.as_str());
        if let Some(n) = &self.note {
            x.el("note", n);
        }
        if !self.references.is_empty() {
            let refs: Vec<String> = self
                .references
                .iter()
                .map(|r| format!("{},{},{}", r.sender, r.identifier, r.sent))
                .collect();
            x.el("references", &refs.join(" "));
        }
        for i in &self.infos {
            info_xml(&mut x, i);
        }
        x.raw("</alert>\n");
        x.0
    }
}

fn info_xml(x: &mut Xml, i: &Info) {
    x.raw("<info>");
    x.el("language", &i.language);
    for c in &i.categories {
        x.el("category", c.as_str());
    }
    x.el("event", &i.event);
    for r in &i.response_types {
        x.el("responseType", r.as_str());
    }
    x.el("urgency", i.urgency.as_str());
    x.el("severity", i.severity.as_str());
    x.el("certainty", i.certainty.as_str());
    x.el("effective", &cap_time(i.effective));
    if let Some(o) = i.onset {
        x.el("onset", &cap_time(o));
    }
    x.el("expires", &cap_time(i.expires));
    x.el("senderName", &i.sender_name);
    x.el("headline", &i.headline);
    x.el("description", &i.description);
    for (name, value) in [
        ("instruction", &i.instruction),
        ("web", &i.web),
        ("contact", &i.contact),
    ] {
        if let Some(v) = value {
            x.el(name, v);
        }
    }
    for a in &i.areas {
        x.raw("<area>");
        x.el("areaDesc", &a.desc);
        for p in &a.polygons {
            x.el("polygon", &p.to_string());
        }
        for c in &a.circles {
            x.el("circle", &c.to_string());
        }
        for (name, value) in &a.geocodes {
            x.raw("<geocode>");
            x.el("valueName", name);
            x.el("value", value);
            x.raw("</geocode>");
        }
        x.raw("</area>");
    }
    x.raw("</info>");
}

#[derive(Default)]
struct Xml(String);

impl Xml {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn el(&mut self, name: &str, text: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
        for c in text.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                // Control characters XML 1.0 cannot carry are dropped.
                c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
                c => self.0.push(c),
            }
        }
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }
}

/// An exercise of a high-tide warning for Bến Thành ward, in both languages, sent at `at`:
/// the demo's warning and the schema test's message.
pub fn tide_exercise(at: OffsetDateTime) -> Alert {
    let info = |language: &str, event: &str, headline: &str| {
        Info {
        language: language.into(),
        categories: vec![Category::Met, Category::Safety],
        event: event.into(),
        response_types: vec![ResponseType::Prepare, ResponseType::Avoid],
        urgency: Urgency::Expected,
        severity: Severity::Severe,
        certainty: Certainty::Likely,
        effective: at,
        onset: Some(at + time::Duration::hours(9)),
        expires: at + time::Duration::hours(30),
        sender_name: "Bộ Chỉ huy Quân sự Thành phố".into(),
        headline: headline.into(),
        description: "Triều cường đạt đỉnh 1,75 m lúc 17:00; đường thấp ngập 20–50 cm, kênh & rạch tràn bờ <Nhiêu Lộc>.".into(),
        instruction: Some("Kê cao đồ đạc, tránh các tuyến đường ngập.".into()),
        web: Some("https://sohoa.example.vn/warnings/TPHCM-2026-0001".into()),
        contact: Some("1022".into()),
        areas: vec![Area {
            desc: "Phường Bến Thành".into(),
            polygons: Polygon::parse(
                "10.77,106.69 10.78,106.69 10.78,106.70 10.77,106.70 10.77,106.69",
            )
            .into_iter()
            .collect(),
            circles: vec![],
            geocodes: vec![("VN-ADMIN".into(), "26734".into())],
        }],
    }
    };
    Alert {
        identifier: "TPHCM-2026-0001".into(),
        sender: "canhbao@tphcm.gov.vn".into(),
        sent: at,
        status: Status::Exercise,
        msg_type: MsgType::Alert,
        scope: Scope::Public,
        note: None,
        references: vec![],
        infos: vec![
            info("vi-VN", "Triều cường", "Cảnh báo triều cường"),
            info("en-US", "High tide", "High tide warning"),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flood() -> Alert {
        tide_exercise(time::macros::datetime!(2026-12-08 08:00 +07:00))
    }

    #[test]
    fn writes_cap_in_schema_order_with_offsets_and_escapes() {
        let a = flood();
        assert_eq!(a.check(), Ok(()));
        let xml = a.to_xml();
        assert!(
            xml.contains("<sent>2026-12-08T08:00:00+07:00</sent>"),
            "{xml}"
        );
        assert!(!xml.contains("Z<"));
        assert!(
            xml.contains("kênh &amp; rạch tràn bờ &lt;Nhiêu Lộc&gt;."),
            "{xml}"
        );
        let order = [
            "<identifier>",
            "<sender>",
            "<sent>",
            "<status>",
            "<msgType>",
            "<scope>",
            "<info>",
        ];
        let at: Vec<usize> = order.iter().map(|t| xml.find(t).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{xml}");
    }

    #[test]
    fn refuses_what_cannot_be_issued() {
        let mut a = flood();
        a.infos[0].expires = a.infos[0].effective;
        assert_eq!(a.check(), Err(AlertError::ExpiresBeforeEffective));
        let mut a = flood();
        a.msg_type = MsgType::Update;
        assert_eq!(a.check(), Err(AlertError::NoReferences));
        let mut a = flood();
        a.identifier = "has space".into();
        assert_eq!(a.check(), Err(AlertError::BadToken("identifier")));
        let mut a = flood();
        a.infos[1].areas.clear();
        assert_eq!(a.check(), Err(AlertError::NoArea));
    }
}
