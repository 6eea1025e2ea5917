//! Strategic tasks (nhiệm vụ trọng tâm): targets the People's Committee assigns to agencies,
//! with a deadline and reported progress; leaders assess agencies on them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Assigned,
    InProgress,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Assigned => "assigned",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            TaskStatus::Assigned,
            TaskStatus::InProgress,
            TaskStatus::Done,
            TaskStatus::Cancelled,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Cancelled)
    }
}

/// Progress in percent, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Progress(u8);

impl Progress {
    pub fn new(p: i64) -> Option<Self> {
        u8::try_from(p).ok().filter(|p| *p <= 100).map(Self)
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

/// The status a progress report moves a task to: done at 100%, else in progress. A closed
/// task takes no more reports.
pub fn after_report(current: TaskStatus, progress: Progress) -> Option<TaskStatus> {
    if current.is_closed() {
        return None;
    }
    Some(if progress.get() == 100 {
        TaskStatus::Done
    } else {
        TaskStatus::InProgress
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_moves_the_status_until_closed() {
        assert_eq!(Progress::new(101), None);
        assert_eq!(Progress::new(-1), None);
        let half = Progress::new(50).unwrap();
        let full = Progress::new(100).unwrap();
        assert_eq!(
            after_report(TaskStatus::Assigned, half),
            Some(TaskStatus::InProgress)
        );
        assert_eq!(
            after_report(TaskStatus::InProgress, full),
            Some(TaskStatus::Done)
        );
        assert_eq!(after_report(TaskStatus::Done, half), None);
        assert_eq!(after_report(TaskStatus::Cancelled, full), None);
    }
}
