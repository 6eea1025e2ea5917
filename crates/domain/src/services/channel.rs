//! How an application reached the administration: the national digital-transformation
//! index counts the share filed online, so each application keeps its channel for life.

use serde::Serialize;

/// Where an application was filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// By the applicant themselves, on the portal or through the API.
    Online,
    /// At a one-stop counter, by a counter officer for the person in front of them.
    Counter,
    /// By a community digital team member, with the applicant's one-time code.
    Assisted,
    /// By the applicant as an enterprise's legal representative.
    Enterprise,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Online,
        Channel::Counter,
        Channel::Assisted,
        Channel::Enterprise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Counter => "counter",
            Channel::Assisted => "assisted",
            Channel::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the index counts it as filed online: everything but the counter (a digital
    /// team helps the resident file online; an enterprise files online).
    pub fn is_online(self) -> bool {
        self != Channel::Counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Channel::parse("Online"), None);
        assert!(!Channel::Counter.is_online());
    }
}
