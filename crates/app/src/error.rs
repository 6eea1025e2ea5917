//! What a use case answers when it does not succeed: a kind every channel knows how to
//! show (the API as a status code, a page as an error page, the CLI as an exit code), a
//! stable machine-readable code whose messages in Vietnamese and English the channels
//! hold, and the field and values the message names.

use sohoa_domain::policy::{self, Action, Denial, Principal, Target};
use sohoa_storage::StorageError;

/// Why a use case refused or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed beyond its content (a missing key, a bad query).
    BadRequest,
    /// The content breaks a rule: a field is invalid, something it names is unknown.
    Invalid,
    /// Nobody is signed in, or the credential is not valid.
    Unauthenticated,
    /// The caller may not do this to this target.
    Forbidden,
    /// No such thing, or one the caller may not know exists.
    NotFound,
    /// The thing is not in a state that allows this (moved meanwhile, already done).
    Conflict,
    /// What was sent is over a bound (bytes, rows).
    TooLarge,
    /// Too many attempts: wait `retry_after` seconds.
    TooMany,
    /// A part the use case needs is down for now (the database); try again.
    Unavailable,
    /// A fault of ours; the cause is logged, never shown.
    Internal,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub code: &'static str,
    /// Values for the message's placeholders.
    pub args: Vec<(&'static str, String)>,
    /// The field the error is about, when there is one.
    pub field: Option<String>,
    /// A technical detail safe to show; never internal state.
    pub detail: Option<String>,
    /// The cause of an internal error: logged, never sent.
    pub cause: Option<String>,
    /// Seconds to wait before trying again.
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// For operators (logs, a job's last error): the code, then what is known of the cause.
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)?;
        for (k, v) in &self.args {
            write!(f, " {k}={v}")?;
        }
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        for part in [&self.detail, &self.cause].into_iter().flatten() {
            write!(f, ": {part}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn new(kind: Kind, code: &'static str) -> Self {
        Self {
            kind,
            code,
            args: Vec::new(),
            field: None,
            detail: None,
            cause: None,
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str) -> Self {
        Self::new(Kind::BadRequest, code)
    }
    pub fn unprocessable(code: &'static str) -> Self {
        Self::new(Kind::Invalid, code)
    }
    pub fn not_found(code: &'static str) -> Self {
        Self::new(Kind::NotFound, code)
    }
    pub fn conflict(code: &'static str) -> Self {
        Self::new(Kind::Conflict, code)
    }
    pub fn forbidden(code: &'static str) -> Self {
        Self::new(Kind::Forbidden, code)
    }
    pub fn unauthenticated(code: &'static str) -> Self {
        Self::new(Kind::Unauthenticated, code)
    }
    /// Too many attempts: try again in `secs` seconds (which the message may quote).
    pub fn too_many(code: &'static str, secs: u64) -> Self {
        let mut e = Self::new(Kind::TooMany, code);
        e.retry_after = Some(secs);
        e.arg("seconds", secs)
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(Kind::Internal, "internal");
        e.cause = Some(cause.to_string());
        e
    }
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    /// Whether the failure is the system's rather than the request's: one of many items
    /// that fails so fails the whole batch.
    pub fn is_systemic(&self) -> bool {
        matches!(self.kind, Kind::Internal | Kind::Unavailable)
    }
}

/// Seconds a client is asked to wait when the database is away.
pub const DATABASE_RETRY_AFTER: u64 = 2;

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        if e.is_unavailable() {
            let mut err = Error::new(Kind::Unavailable, "database_unavailable");
            err.cause = Some(e.to_string());
            // A failover takes seconds: long enough not to hammer it, short enough to
            // come back soon after.
            err.retry_after = Some(DATABASE_RETRY_AFTER);
            return err;
        }
        Error::internal(e)
    }
}

impl From<sohoa_storage::SqlxError> for Error {
    fn from(e: sohoa_storage::SqlxError) -> Self {
        StorageError::from(e).into()
    }
}

/// The policy's answer for `who` doing `action` to `target`, as an error: a refusal is
/// logged on the security target.
pub fn authorize(who: &Principal, action: Action, target: &Target<'_>) -> Result<()> {
    policy::authorize(who, action, target).map_err(|d| denied(who, action, d))
}

/// A denial of the policy as the error every channel shows.
pub fn denied(who: &Principal, action: Action, d: Denial) -> Error {
    match d {
        Denial::Unauthenticated if action == Action::ReadRegistry => {
            Error::new(Kind::Unauthenticated, "unknown_agency")
        }
        Denial::Unauthenticated => Error::new(Kind::Unauthenticated, "unauthenticated"),
        Denial::Forbidden => {
            tracing::warn!(target: "security", actor = %who.actor(), ?action, "denied");
            Error::forbidden("forbidden")
        }
    }
}
