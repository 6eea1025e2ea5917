//! Extractors that turn every rejection into our error shape.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::AppState;

/// `axum::Json` whose rejections are [`AppError`]s (400 syntax, 415 content type, 422
/// shape, 413 size).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(AppError::from)
    }
}

/// `axum::extract::Query` whose rejection is a 400 in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(AppError::from)
    }
}

/// The client's address as the server saw it (recorded in audit entries).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(ClientAddr(addr))
    }
}

/// A caller holding the administrator's bearer token. Until staff accounts exist (the
/// identity capability), this token is the only way to change shared reference data, and
/// with no token configured nobody can: deny by default.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = state.config.admin_token_sha256 else {
            return Err(AppError::new(StatusCode::FORBIDDEN, "admin_disabled"));
        };
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| crate::token_digest(t.trim()));
        match presented {
            Some(d) if crate::digests_equal(&d, &expected) => Ok(Admin),
            Some(_) => {
                tracing::warn!(target: "security", uri = %parts.uri.path(), "wrong admin token presented");
                Err(AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated"))
            }
            None => Err(AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated")),
        }
    }
}

/// An agency's system, identified by its API key (`Authorization: Bearer sohoa_<id>_<secret>`).
/// An officer acting through it may be named in the `Sohoa-Officer` header; the audit log
/// records both.
#[derive(Debug, Clone)]
pub struct AgencyCaller {
    pub agency_code: String,
    pub officer: Option<String>,
}

impl AgencyCaller {
    /// The audit log's actor: `agency:CODE` or `agency:CODE/officer:ID`.
    pub fn actor(&self) -> String {
        match &self.officer {
            Some(o) => format!("agency:{}/officer:{o}", self.agency_code),
            None => format!("agency:{}", self.agency_code),
        }
    }
}

impl FromRequestParts<AppState> for AgencyCaller {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unknown = || AppError::new(StatusCode::UNAUTHORIZED, "unknown_agency");
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|v| v.trim().strip_prefix("sohoa_"))
            .ok_or_else(unknown)?;
        let (key_id, secret) = key.split_once('_').ok_or_else(unknown)?;
        let stored = state
            .sharing
            .key(&state.db, key_id)
            .await?
            .ok_or_else(unknown)?;
        let presented = crate::token_digest(secret);
        let expected: Option<[u8; 32]> = hex::decode(&stored.secret_sha256)
            .ok()
            .and_then(|v| v.try_into().ok());
        if stored.revoked || !expected.is_some_and(|e| crate::digests_equal(&e, &presented)) {
            tracing::warn!(target: "security", key_id, "agency key refused");
            return Err(unknown());
        }
        let officer = parts
            .headers
            .get("sohoa-officer")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|o| {
                !o.is_empty()
                    && o.len() <= 64
                    && o.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            })
            .map(str::to_owned);
        Ok(AgencyCaller {
            agency_code: stored.agency_code,
            officer,
        })
    }
}

/// A signed-in citizen (`Authorization: Bearer ss_...`, a session from `/api/v1/auth/login`).
#[derive(Debug, Clone)]
pub struct CitizenSession {
    pub citizen_id: String,
    pub token_sha256: String,
}

impl FromRequestParts<AppState> for CitizenSession {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated = || AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated");
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with("ss_"))
            .ok_or_else(unauthenticated)?;
        let token_sha256 = hex::encode(crate::token_digest(token));
        let now = sohoa_domain::Timestamp::now().to_string();
        let citizen_id = sohoa_storage::accounts::session_citizen(&state.db, &token_sha256, &now)
            .await?
            .ok_or_else(unauthenticated)?;
        Ok(CitizenSession {
            citizen_id,
            token_sha256,
        })
    }
}
