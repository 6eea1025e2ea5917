//! Who issues a warning: an author drafts; a real (`Actual`) message needs a second person's
//! approval before it is issued; an exercise or test the author may issue alone, and it is
//! never shown to the public as real. A message is issued once, and never edited after.

use super::cap::Status;

/// Where a message is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Being written by its author.
    Draft,
    /// Sent back by the approver, with a reason: the author edits it and submits again.
    Returned,
    /// Waiting for a second person's approval.
    Submitted,
    /// Issued: public (when `Actual`), and frozen.
    Issued,
}

/// A step someone takes on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Edit,
    Submit,
    Approve,
    Return,
    /// The author issues an exercise or test without approval.
    IssueAlone,
}

/// Why a step is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("the author of a message never approves it")]
    OwnApproval,
    #[error("only the author edits or submits a draft")]
    NotTheAuthor,
    #[error("a real (Actual) message needs a second person's approval")]
    NeedsApproval,
    #[error("an issued message is never changed: issue an Update instead")]
    Issued,
    #[error("not at this stage")]
    WrongStage,
}

/// The stage after `step` by `actor` on a message at `stage` written by `author` with CAP
/// `status`.
pub fn after(
    stage: Stage,
    step: Step,
    status: Status,
    author: &str,
    actor: &str,
) -> Result<Stage, ReviewError> {
    if stage == Stage::Issued {
        return Err(ReviewError::Issued);
    }
    let by_author = author == actor;
    match step {
        Step::Edit | Step::Submit | Step::IssueAlone if !by_author => {
            Err(ReviewError::NotTheAuthor)
        }
        Step::Edit => match stage {
            Stage::Draft | Stage::Returned => Ok(Stage::Draft),
            _ => Err(ReviewError::WrongStage),
        },
        Step::Submit => match stage {
            Stage::Draft | Stage::Returned => Ok(Stage::Submitted),
            _ => Err(ReviewError::WrongStage),
        },
        Step::IssueAlone => match (stage, status) {
            (Stage::Draft | Stage::Returned, Status::Exercise | Status::Test) => Ok(Stage::Issued),
            (Stage::Draft | Stage::Returned, _) => Err(ReviewError::NeedsApproval),
            _ => Err(ReviewError::WrongStage),
        },
        Step::Approve | Step::Return if by_author => Err(ReviewError::OwnApproval),
        Step::Approve => match stage {
            Stage::Submitted => Ok(Stage::Issued),
            _ => Err(ReviewError::WrongStage),
        },
        Step::Return => match stage {
            Stage::Submitted => Ok(Stage::Returned),
            _ => Err(ReviewError::WrongStage),
        },
    }
}

/// Whether the public sees the message as real (exercises and tests are labelled, never
/// shown as real).
pub fn public_as_real(status: Status) -> bool {
    status == Status::Actual
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "staff:tacgia";
    const B: &str = "staff:pheduyet";

    #[test]
    fn a_real_warning_needs_a_second_person() {
        let s = after(Stage::Draft, Step::Submit, Status::Actual, A, A).unwrap();
        assert_eq!(s, Stage::Submitted);
        assert_eq!(
            after(s, Step::Approve, Status::Actual, A, A),
            Err(ReviewError::OwnApproval)
        );
        assert_eq!(
            after(s, Step::Approve, Status::Actual, A, B),
            Ok(Stage::Issued)
        );
        assert_eq!(
            after(Stage::Draft, Step::IssueAlone, Status::Actual, A, A),
            Err(ReviewError::NeedsApproval)
        );
    }

    #[test]
    fn returned_messages_go_back_to_their_author_and_issued_ones_are_frozen() {
        let r = after(Stage::Submitted, Step::Return, Status::Actual, A, B).unwrap();
        assert_eq!(r, Stage::Returned);
        assert_eq!(
            after(r, Step::Edit, Status::Actual, A, B),
            Err(ReviewError::NotTheAuthor)
        );
        assert_eq!(after(r, Step::Edit, Status::Actual, A, A), Ok(Stage::Draft));
        for step in [
            Step::Edit,
            Step::Submit,
            Step::Approve,
            Step::Return,
            Step::IssueAlone,
        ] {
            assert_eq!(
                after(Stage::Issued, step, Status::Actual, A, B),
                Err(ReviewError::Issued)
            );
        }
        // A second approval finds it issued already.
        assert_eq!(
            after(Stage::Issued, Step::Approve, Status::Actual, A, B),
            Err(ReviewError::Issued)
        );
    }

    #[test]
    fn exercises_and_tests_may_be_issued_by_their_author_alone_and_are_never_real() {
        for status in [Status::Exercise, Status::Test] {
            assert_eq!(
                after(Stage::Draft, Step::IssueAlone, status, A, A),
                Ok(Stage::Issued)
            );
            assert_eq!(
                after(Stage::Draft, Step::IssueAlone, status, A, B),
                Err(ReviewError::NotTheAuthor)
            );
            assert!(!public_as_real(status));
        }
        assert!(public_as_real(Status::Actual));
    }
}
