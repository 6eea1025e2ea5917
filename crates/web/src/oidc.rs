//! OpenID Connect relying party: citizens sign in with the national identity provider
//! (authorization code flow with PKCE), and a claim of the ID token names their CCCD.
//!
//! The provider is discovered from its issuer URL. ID tokens are checked here, not trusted:
//! signature (RS256 or ES256, keys from the provider's JWKS, refetched once when a token
//! names an unknown key), issuer, audience, authorized party, expiry, issue time and nonce.

use std::sync::RwLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Clock difference tolerated between us and the provider.
const SKEW: i64 = 60;

/// What the operator configures.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// e.g. `https://sso.dichvucong.gov.vn`; discovery is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Our callback, as registered with the provider: `https://<host>/auth/oidc/callback`.
    pub redirect_url: String,
    /// The claim that holds the CCCD (default `cccd`).
    pub cccd_claim: String,
    /// Scopes asked for, `openid` first (default `openid cccd`).
    pub scopes: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OidcError {
    #[error("the identity provider cannot be reached or answered badly: {0}")]
    Provider(String),
    #[error("the ID token is not acceptable: {0}")]
    Token(&'static str),
    #[error("the identity provider did not say who the citizen is (claim {0})")]
    MissingClaim(String),
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: String,
    access_token: Option<String>,
}

/// The relying party: configuration, an HTTP client, and what it learnt from the provider.
#[derive(Debug)]
pub struct Oidc {
    pub config: OidcConfig,
    http: reqwest::Client,
    discovery: RwLock<Option<Discovery>>,
    keys: RwLock<Vec<Jwk>>,
}

fn provider_err(e: impl std::fmt::Display) -> OidcError {
    OidcError::Provider(e.to_string())
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Result<Self, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(provider_err)?;
        Ok(Self {
            config,
            http,
            discovery: RwLock::new(None),
            keys: RwLock::new(Vec::new()),
        })
    }

    async fn discovery(&self) -> Result<Discovery, OidcError> {
        if let Some(d) = self
            .discovery
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(d);
        }
        let issuer = self.config.issuer.trim_end_matches('/');
        let d: Discovery = self
            .http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(provider_err)?
            .json()
            .await
            .map_err(provider_err)?;
        // The document must be the issuer's own (OpenID Connect Discovery §4.3).
        if d.issuer.trim_end_matches('/') != issuer {
            return Err(OidcError::Provider(format!(
                "discovery names issuer {}, not {issuer}",
                d.issuer
            )));
        }
        *self.discovery.write().unwrap_or_else(|p| p.into_inner()) = Some(d.clone());
        Ok(d)
    }

    /// Where to send the browser: the authorization request with `state`, `nonce` and the
    /// PKCE challenge of `verifier`.
    pub async fn authorization_url(
        &self,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let d = self.discovery().await?;
        let challenge = B64URL.encode(ring::digest::digest(
            &ring::digest::SHA256,
            verifier.as_bytes(),
        ));
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", &self.config.scopes)
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{sep}{query}", d.authorization_endpoint))
    }

    /// Exchanges the code, checks the ID token, and returns the CCCD claim's value (from
    /// the ID token, or else from the userinfo endpoint for the same subject).
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<String, OidcError> {
        let d = self.discovery().await?;
        let res = self
            .http
            .post(&d.token_endpoint)
            .basic_auth(
                form_urlencoded::byte_serialize(self.config.client_id.as_bytes())
                    .collect::<String>(),
                Some(
                    form_urlencoded::byte_serialize(self.config.client_secret.as_bytes())
                        .collect::<String>(),
                ),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.config.redirect_url),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .map_err(provider_err)?;
        if !res.status().is_success() {
            return Err(OidcError::Provider(format!(
                "token endpoint answered {}",
                res.status()
            )));
        }
        let tokens: TokenResponse = res.json().await.map_err(provider_err)?;
        let claims = self.validate(&d, &tokens.id_token, nonce).await?;
        let claim = &self.config.cccd_claim;
        if let Some(v) = claims.get(claim).and_then(Value::as_str) {
            return Ok(v.to_owned());
        }
        // Some providers put profile claims only in userinfo.
        let (Some(endpoint), Some(access)) = (&d.userinfo_endpoint, &tokens.access_token) else {
            return Err(OidcError::MissingClaim(claim.clone()));
        };
        let info: Map<String, Value> = self
            .http
            .get(endpoint)
            .bearer_auth(access)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(provider_err)?
            .json()
            .await
            .map_err(provider_err)?;
        // Userinfo speaks for the ID token's subject or for nobody (Core §5.3.2).
        if info.get("sub") != claims.get("sub") {
            return Err(OidcError::Token("userinfo is about another subject"));
        }
        info.get(claim)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| OidcError::MissingClaim(claim.clone()))
    }

    async fn validate(
        &self,
        d: &Discovery,
        token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let (header, _, _) = split(token)?;
        let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
        let known = {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            kid.as_deref().map_or(!keys.is_empty(), |k| {
                keys.iter().any(|j| j.kid.as_deref() == Some(k))
            })
        };
        if !known {
            // First use, or the provider rotated its keys.
            let set: JwkSet = self
                .http
                .get(&d.jwks_uri)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(provider_err)?
                .json()
                .await
                .map_err(provider_err)?;
            *self.keys.write().unwrap_or_else(|p| p.into_inner()) = set.keys;
        }
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner()).clone();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        check_id_token(
            token,
            &keys,
            &Expected {
                issuer: &d.issuer,
                client_id: &self.config.client_id,
                nonce,
                now,
            },
        )
    }
}

/// What a valid ID token must say.
struct Expected<'a> {
    issuer: &'a str,
    client_id: &'a str,
    nonce: &'a str,
    now: i64,
}

type Parts<'t> = (Map<String, Value>, Map<String, Value>, (&'t str, Vec<u8>));

/// Header, payload, and (signed input, signature) of a compact JWS.
fn split(token: &str) -> Result<Parts<'_>, OidcError> {
    let bad = OidcError::Token("not a signed JWT");
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad);
    };
    let json = |part: &str| -> Result<Map<String, Value>, OidcError> {
        let bytes = B64URL
            .decode(part)
            .map_err(|_| OidcError::Token("not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| OidcError::Token("not JSON"))
    };
    let sig = B64URL
        .decode(s)
        .map_err(|_| OidcError::Token("not base64url"))?;
    let signed = &token[..h.len() + 1 + p.len()];
    Ok((json(h)?, json(p)?, (signed, sig)))
}

fn b64_field(v: Option<&String>) -> Result<Vec<u8>, OidcError> {
    v.and_then(|s| B64URL.decode(s).ok())
        .ok_or(OidcError::Token("malformed key"))
}

/// Whether one of `keys` (of the token's algorithm, and its key id when it names one)
/// verifies the signature.
fn verify_signature(
    keys: &[Jwk],
    alg: &str,
    kid: Option<&str>,
    signed: &[u8],
    sig: &[u8],
) -> Result<(), OidcError> {
    let candidates = keys.iter().filter(|k| {
        k.use_.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == alg)
            && kid.is_none_or(|id| k.kid.as_deref() == Some(id))
            && match alg {
                "RS256" => k.kty == "RSA",
                _ => k.kty == "EC" && k.crv.as_deref() == Some("P-256"),
            }
    });
    let mut verified = false;
    for k in candidates {
        let ok = if alg == "RS256" {
            let (n, e) = (b64_field(k.n.as_ref())?, b64_field(k.e.as_ref())?);
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, sig)
                .is_ok()
        } else {
            let (x, y) = (b64_field(k.x.as_ref())?, b64_field(k.y.as_ref())?);
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
                .verify(signed, sig)
                .is_ok()
        };
        if ok {
            verified = true;
            break;
        }
    }
    if !verified {
        return Err(OidcError::Token("signature does not verify"));
    }
    Ok(())
}

/// The claims a sign-in needs: this issuer, to this client, current, for this browser's
/// sign-in, about someone.
fn check_claims(claims: &Map<String, Value>, want: &Expected<'_>) -> Result<(), OidcError> {
    let s = |k: &str| claims.get(k).and_then(Value::as_str);
    let n = |k: &str| claims.get(k).and_then(Value::as_i64);
    if s("iss").map(|i| i.trim_end_matches('/')) != Some(want.issuer.trim_end_matches('/')) {
        return Err(OidcError::Token("wrong issuer"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&want.client_id) {
        return Err(OidcError::Token("not issued to this client"));
    }
    if audiences.len() > 1 && s("azp") != Some(want.client_id) {
        return Err(OidcError::Token("authorized party is another client"));
    }
    match n("exp") {
        Some(exp) if exp + SKEW > want.now => {}
        _ => return Err(OidcError::Token("expired")),
    }
    match n("iat") {
        Some(iat) if iat - SKEW <= want.now => {}
        _ => return Err(OidcError::Token("issued in the future")),
    }
    // The nonce ties the token to the sign-in this browser started.
    let nonce_ok = s("nonce").is_some_and(|v| {
        crate::digests_equal(&crate::token_digest(v), &crate::token_digest(want.nonce))
    });
    if !nonce_ok {
        return Err(OidcError::Token("nonce does not match"));
    }
    if s("sub").is_none_or(str::is_empty) {
        return Err(OidcError::Token("no subject"));
    }
    Ok(())
}

/// The ID token's claims, once its signature is one of the provider's keys and its claims
/// are what this sign-in expects.
fn check_id_token(
    token: &str,
    keys: &[Jwk],
    want: &Expected<'_>,
) -> Result<Map<String, Value>, OidcError> {
    let (header, claims, (signed, sig)) = split(token)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    // Only asymmetric algorithms: never `none`, never HS256 with a guessable secret.
    if alg != "RS256" && alg != "ES256" {
        return Err(OidcError::Token("signature algorithm not accepted"));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    verify_signature(keys, alg, kid, signed.as_bytes(), &sig)?;
    check_claims(&claims, want)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    struct Signer {
        pair: EcdsaKeyPair,
        jwk: Jwk,
    }

    fn signer(kid: &str) -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let public = pair.public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: Some(kid.into()),
            alg: Some("ES256".into()),
            use_: Some("sig".into()),
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some(B64URL.encode(&public[1..33])),
            y: Some(B64URL.encode(&public[33..65])),
        };
        Signer { pair, jwk }
    }

    fn sign(s: &Signer, header: Value, claims: Value) -> String {
        let h = B64URL.encode(header.to_string());
        let p = B64URL.encode(claims.to_string());
        let input = format!("{h}.{p}");
        let sig = s.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", B64URL.encode(sig.as_ref()))
    }

    const NOW: i64 = 1_800_000_000;

    fn want() -> Expected<'static> {
        Expected {
            issuer: "https://id.example.vn",
            client_id: "sohoa",
            nonce: "n-123",
            now: NOW,
        }
    }

    fn good() -> Value {
        json!({"iss": "https://id.example.vn", "aud": "sohoa", "sub": "u1", "exp": NOW + 300,
               "iat": NOW - 5, "nonce": "n-123", "cccd": "079185001234"})
    }

    #[test]
    fn a_good_token_passes_and_every_broken_rule_fails() {
        let s = signer("k1");
        let keys = vec![s.jwk.clone()];
        let header = json!({"alg": "ES256", "kid": "k1"});
        let claims = check_id_token(&sign(&s, header.clone(), good()), &keys, &want()).unwrap();
        assert_eq!(claims["cccd"], "079185001234");

        let with = |k: &str, v: Value| {
            let mut c = good();
            c[k] = v;
            sign(&s, header.clone(), c)
        };
        for (token, why) in [
            (with("iss", json!("https://evil.example")), "wrong issuer"),
            (
                with("aud", json!("other-client")),
                "not issued to this client",
            ),
            (
                with("aud", json!(["sohoa", "other"])),
                "authorized party is another client",
            ),
            (with("exp", json!(NOW - 120)), "expired"),
            (with("iat", json!(NOW + 600)), "issued in the future"),
            (with("nonce", json!("n-999")), "nonce does not match"),
            (with("sub", json!("")), "no subject"),
        ] {
            assert_eq!(
                check_id_token(&token, &keys, &want()),
                Err(OidcError::Token(why))
            );
        }
        // Signed by another key, or altered after signing.
        let other = signer("k1");
        assert_eq!(
            check_id_token(&sign(&other, header.clone(), good()), &keys, &want()),
            Err(OidcError::Token("signature does not verify"))
        );
        let token = sign(&s, header.clone(), good());
        let (h, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let forged = format!(
            "{h}.{}.{sig}",
            B64URL.encode(with_cccd("079190005678").to_string())
        );
        assert_eq!(
            check_id_token(&forged, &keys, &want()),
            Err(OidcError::Token("signature does not verify"))
        );
        // `none` and HMAC are refused whatever they carry.
        for alg in ["none", "HS256"] {
            let t = format!(
                "{}.{}.",
                B64URL.encode(json!({"alg": alg}).to_string()),
                B64URL.encode(good().to_string())
            );
            assert_eq!(
                check_id_token(&t, &keys, &want()),
                Err(OidcError::Token("signature algorithm not accepted"))
            );
        }
        assert_eq!(
            check_id_token("a.b", &keys, &want()),
            Err(OidcError::Token("not a signed JWT"))
        );
    }

    fn with_cccd(cccd: &str) -> Value {
        let mut c = good();
        c["cccd"] = json!(cccd);
        c
    }
}
