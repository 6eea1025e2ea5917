//! The life of an application (hồ sơ): which status may follow which, and who moves it.
//!
//! ```text
//! draft → submitted → received → in_review ─┬→ approved ─┬→ result_issued
//!                                  ↑  │      └→ rejected ─┘
//!                                  │  ↓
//!                        resubmitted ← supplement_requested
//! withdrawn: by the applicant, from any status before a decision
//! ```

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Received,
    InReview,
    SupplementRequested,
    Resubmitted,
    Approved,
    Rejected,
    ResultIssued,
    Withdrawn,
}

/// Who may make a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    /// The applicant (or whoever acts for them with their consent).
    Applicant,
    /// An officer of the agency responsible, within its unit.
    Officer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an application cannot go from {from:?} to {to:?}")]
pub struct IllegalTransition {
    pub from: Status,
    pub to: Status,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Draft,
        Status::Submitted,
        Status::Received,
        Status::InReview,
        Status::SupplementRequested,
        Status::Resubmitted,
        Status::Approved,
        Status::Rejected,
        Status::ResultIssued,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Received => "received",
            Status::InReview => "in_review",
            Status::SupplementRequested => "supplement_requested",
            Status::Resubmitted => "resubmitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::ResultIssued => "result_issued",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// How the status reads to an applicant, in Vietnamese and in English (for messages sent
    /// outside the web pages, which use the message catalogs).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Status::Draft => ("Bản nháp", "Draft"),
            Status::Submitted => ("Đã nộp", "Submitted"),
            Status::Received => ("Đã tiếp nhận", "Received"),
            Status::InReview => ("Đang xử lý", "In review"),
            Status::SupplementRequested => ("Cần bổ sung", "Supplement requested"),
            Status::Resubmitted => ("Đã bổ sung", "Supplement sent"),
            Status::Approved => ("Đã duyệt", "Approved"),
            Status::Rejected => ("Bị từ chối", "Rejected"),
            Status::ResultIssued => ("Đã trả kết quả", "Result issued"),
            Status::Withdrawn => ("Đã rút", "Withdrawn"),
        }
    }

    /// Decided, issued or withdrawn: nothing more happens to it.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::ResultIssued | Status::Withdrawn)
    }

    /// Whether the deadline clock runs: from receipt to the decision, except while the
    /// applicant is asked for a supplement.
    pub fn clock_runs(self) -> bool {
        matches!(
            self,
            Status::Received | Status::InReview | Status::Resubmitted
        )
    }

    /// A move to this status says why: asking for a supplement, rejecting, withdrawing.
    pub fn needs_comment(self) -> bool {
        matches!(
            self,
            Status::SupplementRequested | Status::Rejected | Status::Withdrawn
        )
    }

    /// Whether an application whose fee is `payable` (and paid or not) may move to
    /// `self`: it is received only once what is owed has been paid.
    pub fn fee_allows(self, payable: Option<crate::Money>, paid: bool) -> bool {
        self != Status::Received || payable.unwrap_or_default() == crate::Money::ZERO || paid
    }

    /// Who may move an application from `self` to `to`; an illegal move is an error.
    pub fn mover_to(self, to: Status) -> Result<Mover, IllegalTransition> {
        use Status::*;
        let mover = match (self, to) {
            (Draft, Submitted) | (SupplementRequested, Resubmitted) => Mover::Applicant,
            (
                Draft | Submitted | Received | InReview | SupplementRequested | Resubmitted,
                Withdrawn,
            ) => Mover::Applicant,
            (Submitted, Received)
            | (Received, InReview)
            | (Resubmitted, InReview)
            | (InReview, SupplementRequested)
            | (InReview, Approved)
            | (InReview, Rejected)
            | (Approved, ResultIssued)
            | (Rejected, ResultIssued) => Mover::Officer,
            _ => return Err(IllegalTransition { from: self, to }),
        };
        Ok(mover)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn dong(n: i64) -> crate::Money {
        crate::Money::from_dong(n).unwrap()
    }

    #[test]
    fn moves_that_need_a_reason_and_receipt_that_needs_the_fee() {
        let needs: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|s| s.needs_comment())
            .collect();
        assert_eq!(needs, [SupplementRequested, Rejected, Withdrawn]);
        assert!(!Received.fee_allows(Some(dong(2000)), false));
        assert!(Received.fee_allows(Some(dong(2000)), true));
        assert!(Received.fee_allows(Some(dong(0)), false));
        assert!(Received.fee_allows(None, false));
        assert!(InReview.fee_allows(Some(dong(2000)), false));
    }

    #[test]
    fn the_happy_path_and_the_supplement_loop() {
        let path = [
            Draft,
            Submitted,
            Received,
            InReview,
            SupplementRequested,
            Resubmitted,
            InReview,
            Approved,
            ResultIssued,
        ];
        for w in path.windows(2) {
            assert!(w[0].mover_to(w[1]).is_ok(), "{:?} → {:?}", w[0], w[1]);
        }
        assert_eq!(Draft.mover_to(Submitted), Ok(Mover::Applicant));
        assert_eq!(InReview.mover_to(Approved), Ok(Mover::Officer));
        assert_eq!(Rejected.mover_to(ResultIssued), Ok(Mover::Officer));
    }

    #[test]
    fn decisions_are_final_and_skipping_steps_is_illegal() {
        for (from, to) in [
            (Draft, Approved),
            (Submitted, InReview),
            (Received, Approved),
            (Approved, Rejected),
            (Approved, Withdrawn),
            (Rejected, Withdrawn),
            (ResultIssued, Withdrawn),
            (Withdrawn, Submitted),
            (SupplementRequested, Approved),
            (InReview, InReview),
        ] {
            assert_eq!(from.mover_to(to), Err(IllegalTransition { from, to }));
        }
        // Every status but the closed ones leads somewhere.
        for s in Status::ALL {
            let next = Status::ALL
                .iter()
                .filter(|t| s.mover_to(**t).is_ok())
                .count();
            assert_eq!(next == 0, s.is_closed(), "{s:?}");
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn the_clock_stops_while_a_supplement_is_awaited() {
        assert!(InReview.clock_runs() && Received.clock_runs() && Resubmitted.clock_runs());
        assert!(!SupplementRequested.clock_runs() && !Draft.clock_runs() && !Approved.clock_runs());
    }
}
