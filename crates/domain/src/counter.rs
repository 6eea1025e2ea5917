//! The one-stop counter's waiting line: tickets taken per service group, called to a desk,
//! served or missed. Numbers start again each day at each counter.

use serde::Serialize;

/// A service group of a counter's waiting line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Group {
    /// One capital letter, printed before the number (`A-012`).
    pub code: char,
    pub name_vi: &'static str,
    pub name_en: &'static str,
}

/// The groups every counter starts with: the fields most walk-ins come for.
pub const GROUPS: [Group; 4] = [
    Group {
        code: 'A',
        name_vi: "Hộ tịch, chứng thực",
        name_en: "Civil status and certification",
    },
    Group {
        code: 'B',
        name_vi: "Đất đai, xây dựng",
        name_en: "Land and construction",
    },
    Group {
        code: 'C',
        name_vi: "Kinh doanh, đầu tư",
        name_en: "Business and investment",
    },
    Group {
        code: 'D',
        name_vi: "Lĩnh vực khác, trả kết quả",
        name_en: "Other matters, collecting results",
    },
];

/// The group of a code (`A`, `b`), if there is one.
pub fn group(code: &str) -> Option<Group> {
    let mut chars = code.trim().chars();
    let c = chars.next()?.to_ascii_uppercase();
    if chars.next().is_some() {
        return None;
    }
    GROUPS.into_iter().find(|g| g.code == c)
}

/// The most tickets of one group a counter hands out in a day.
pub const MAX_PER_DAY: i64 = 999;

/// Where a ticket is in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Waiting,
    /// Called to a desk.
    Called,
    Served,
    /// Called, and nobody came.
    NoShow,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Waiting => "waiting",
            TicketStatus::Called => "called",
            TicketStatus::Served => "served",
            TicketStatus::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Waiting, Self::Called, Self::Served, Self::NoShow]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A ticket's number as the waiting room reads it: `A-007`.
pub fn label(group: char, number: i64) -> String {
    format!("{group}-{number:03}")
}

/// A desk's name: 1 to 20 letters, digits or spaces ("Quầy 3").
pub fn desk(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = (1..=20).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-');
    ok.then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_desks_and_labels() {
        assert_eq!(group("b").map(|g| g.code), Some('B'));
        assert_eq!(group("AB"), None);
        assert_eq!(group("Z"), None);
        assert_eq!(group(""), None);
        assert_eq!(label('A', 7), "A-007");
        assert_eq!(desk(" Quầy 3 "), Some("Quầy 3".into()));
        assert_eq!(desk("<b>"), None);
        assert_eq!(desk(""), None);
        for s in [
            TicketStatus::Waiting,
            TicketStatus::Called,
            TicketStatus::Served,
            TicketStatus::NoShow,
        ] {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
        }
    }
}
