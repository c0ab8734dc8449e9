//! A job's status and what is asked and counted by it: [`JobStatus`] (and its text in the
//! tables), [`JobQuery`] (which jobs a listing returns) and [`StatusCounts`] (how many are in
//! each state).

use serde::Serialize;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Pending,
    Processing,
    Succeeded,
    Failed,
    /// Stopped at the user's request: finished, never retried nor claimed on its own (only
    /// enqueueing it again or retrying it by id puts it back).
    Cancelled,
}

impl JobStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub(super) fn parse(text: &str) -> JobStatus {
        match text {
            "processing" => JobStatus::Processing,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => JobStatus::Pending,
        }
    }

    /// Whether retrying the job by id puts it back to pending (it failed or was cancelled).
    pub fn can_retry(self) -> bool {
        matches!(self, JobStatus::Failed | JobStatus::Cancelled)
    }

    /// Whether the job is done with (succeeded, failed or cancelled): nothing runs it again
    /// unless asked.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// Which jobs a listing returns: a queue can hold millions, so callers that only show some
/// (the app's fleet view, `jobs list --limit`) ask the database for those only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// Only jobs in these states (any when empty).
    pub statuses: Vec<JobStatus>,
    /// Only these ids (any when empty).
    pub ids: Vec<i64>,
    /// At most this many (all when `None`).
    pub limit: Option<usize>,
    /// Highest id (newest) first instead of oldest first.
    pub newest_first: bool,
    /// Only the children of this segmented job (any job when `None`).
    pub parent: Option<i64>,
}

impl JobQuery {
    pub fn ids(ids: &[i64]) -> JobQuery {
        JobQuery {
            ids: ids.to_vec(),
            ..JobQuery::default()
        }
    }

    /// The status list as the backends' text values.
    pub(super) fn status_names(&self) -> Vec<String> {
        self.statuses
            .iter()
            .map(|s| s.as_str().to_string())
            .collect()
    }

    pub(super) fn limit_value(&self) -> Option<i64> {
        self.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// How many jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub pending: u64,
    pub processing: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.pending + self.processing + self.succeeded + self.failed + self.cancelled
    }

    pub(super) fn add(&mut self, status: &str, count: i64) {
        let count = u64::try_from(count).unwrap_or(0);
        match JobStatus::parse(status) {
            JobStatus::Pending => self.pending += count,
            JobStatus::Processing => self.processing += count,
            JobStatus::Succeeded => self.succeeded += count,
            JobStatus::Failed => self.failed += count,
            JobStatus::Cancelled => self.cancelled += count,
        }
    }
}

impl std::fmt::Display for StatusCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.total();
        write!(
            f,
            "{total} job{}: {} pending, {} running, {} succeeded, {} failed, {} cancelled",
            if total == 1 { "" } else { "s" },
            self.pending,
            self.processing,
            self.succeeded,
            self.failed,
            self.cancelled
        )
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
