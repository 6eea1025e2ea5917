//! Extractors that turn every rejection into our error shape.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use sohoa_domain::policy::Principal;
use sohoa_domain::sharing::Consumer;

use crate::auth::{Caller, SessionToken};
use crate::error::AppError;

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

/// A data consumer's system, identified by its API key: an agency's
/// (`Authorization: Bearer sohoa_<id>_<secret>`; an officer acting through it may be named in
/// the `Sohoa-Officer` header, and the audit log records both) or an enterprise's
/// (`sohoe_<id>_<secret>`). Routes only data consumers are admitted to take this.
#[derive(Debug, Clone)]
pub struct ConsumerCaller {
    pub consumer: Consumer,
    principal: Principal,
}

impl ConsumerCaller {
    /// The audit log's actor: `agency:CODE`, `agency:CODE/officer:ID` or `enterprise:MST`.
    pub fn actor(&self) -> String {
        self.principal.actor()
    }
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConsumerCaller {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(Caller(principal)) = Caller::from_request_parts(parts, state).await;
        let consumer = match &principal {
            Principal::AgencySystem { agency, .. } => Consumer::Agency(agency.clone()),
            Principal::EnterpriseSystem(tax_code) => Consumer::Enterprise(tax_code.clone()),
            _ => return Err(AppError::new(StatusCode::UNAUTHORIZED, "unknown_agency")),
        };
        Ok(ConsumerCaller {
            consumer,
            principal,
        })
    }
}

/// A signed-in citizen and their session (`Authorization: Bearer ss_...` from
/// `/api/v1/auth/login`, or the session cookie on pages).
#[derive(Debug, Clone)]
pub struct CitizenSession {
    pub citizen_id: String,
    pub token_sha256: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CitizenSession {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(Caller(principal)) = Caller::from_request_parts(parts, state).await;
        let token = parts.extensions.get::<SessionToken>();
        match (principal, token) {
            (Principal::Citizen(id), Some(t)) => Ok(CitizenSession {
                citizen_id: id.to_string(),
                token_sha256: t.0.clone(),
            }),
            (Principal::Anonymous, _) => {
                Err(AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated"))
            }
            _ => Err(AppError::new(StatusCode::FORBIDDEN, "forbidden")),
        }
    }
}
