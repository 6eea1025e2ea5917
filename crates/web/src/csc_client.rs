//! sohoa as the client of a remote signing provider (Cloud Signature Consortium API v2):
//! the credential's certificate, then an authorization with the person's password and
//! one-time code, then the signature of one hash. A refusal by the provider is the
//! applicant's to fix (422, with the provider's reason); a provider that cannot be reached
//! or answers nonsense is a 502.

use base64::Engine;
use serde_json::{json, Value};

use crate::error::AppError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How long one call to the provider may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

pub struct Provider {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// A credential as the provider describes it.
pub struct RemoteCredential {
    pub id: String,
    pub certificate: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

fn unreachable(reason: impl std::fmt::Display) -> AppError {
    tracing::warn!(%reason, "remote signing provider failed");
    AppError::new(axum::http::StatusCode::BAD_GATEWAY, "remote_signing_failed")
        .arg("reason", "provider")
}

impl Provider {
    pub fn new(base: &str, token: &str) -> Result<Self, AppError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(AppError::internal)?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        })
    }

    async fn call(&self, method: &str, body: Value) -> Result<Value, AppError> {
        let res = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = res.status();
        let answer: Value = res.json().await.map_err(unreachable)?;
        if status.is_success() {
            return Ok(answer);
        }
        if status.is_client_error() {
            let reason = answer["error_description"]
                .as_str()
                .or_else(|| answer["error"]["message_en"].as_str())
                .or_else(|| answer["error"].as_str())
                .unwrap_or("refused")
                .to_owned();
            return Err(AppError::unprocessable("remote_signing_refused").detail(reason));
        }
        Err(unreachable(status))
    }

    /// The credential `wanted`, or the first the person holds.
    pub async fn credential(&self, wanted: Option<&str>) -> Result<RemoteCredential, AppError> {
        let list = self.call("credentials/list", json!({})).await?;
        let ids: Vec<&str> = list["credentialIDs"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let id = match wanted {
            Some(w) if ids.contains(&w) => w.to_owned(),
            Some(_) => {
                return Err(
                    AppError::unprocessable("remote_signing_refused").detail("no such credential")
                )
            }
            None => ids.first().map(|s| (*s).to_owned()).ok_or_else(|| {
                AppError::unprocessable("remote_signing_refused").detail("no credential")
            })?,
        };
        let info = self
            .call(
                "credentials/info",
                json!({"credentialID": id, "certificates": "chain", "certInfo": true, "authInfo": true}),
            )
            .await?;
        let algos: Vec<&str> = info["key"]["algo"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !algos.contains(&"1.2.840.10045.2.1") && !algos.contains(&"1.2.840.10045.4.3.2") {
            return Err(AppError::unprocessable("remote_signing_refused")
                .detail("the key is not ECDSA P-256"));
        }
        let mut certs = info["cert"]["certificates"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|c| B64.decode(c).ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter();
        let certificate = certs.next().ok_or_else(|| unreachable("no certificate"))?;
        Ok(RemoteCredential {
            id,
            certificate,
            chain: certs.collect(),
        })
    }

    /// The provider's signature (DER) of `hash` (SHA-256), after authorizing it.
    pub async fn sign(
        &self,
        id: &str,
        hash: &[u8],
        pin: &str,
        otp: &str,
    ) -> Result<Vec<u8>, AppError> {
        let hash = B64.encode(hash);
        let auth = self
            .call(
                "credentials/authorize",
                json!({"credentialID": id, "numSignatures": 1, "hashes": [hash],
                       "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "PIN": pin, "OTP": otp}),
            )
            .await?;
        let sad = auth["SAD"].as_str().ok_or_else(|| unreachable("no SAD"))?;
        let signed = self
            .call(
                "signatures/signHash",
                json!({"credentialID": id, "SAD": sad, "hashes": [hash],
                       "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"}),
            )
            .await?;
        signed["signatures"][0]
            .as_str()
            .and_then(|s| B64.decode(s).ok())
            .ok_or_else(|| unreachable("no signature"))
    }
}
