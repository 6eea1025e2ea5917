//! Checking a CMS signature as a relying party does: the content's digest, the signature over
//! the signed attributes, the signing-certificate binding, a time-stamp over the signature,
//! and the certificate's path to an anchor the city trusts (with its revocation lists).

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use sha2::Digest;
use webpki::ring as algs;

use crate::cms::{SignedData, SignerInfo};
use crate::der;
use crate::oid;
use crate::tsp::{HashAlg, TstInfo};
use crate::x509::{self, Certificate, Name};

/// The anchors and revocation lists a relying party trusts.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    anchors: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
}

impl Trust {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_anchor(&mut self, der: Vec<u8>) {
        if !self.anchors.contains(&der) {
            self.anchors.push(der);
        }
    }

    /// A revocation list (DER); one that does not parse is refused.
    pub fn add_crl(&mut self, der: Vec<u8>) -> Result<(), webpki::Error> {
        webpki::BorrowedCertRevocationList::from_der(&der)?;
        self.crls.push(der);
        Ok(())
    }

    /// Every certificate and `X509 CRL` in a PEM text; returns how many of each were taken.
    pub fn add_pem(&mut self, text: &str) -> (usize, usize) {
        let certs = x509::pem_certificates(text);
        let n = certs.len();
        for c in certs {
            self.add_anchor(c);
        }
        let crls = x509::pem_blocks(text, "X509 CRL");
        let m = crls
            .into_iter()
            .filter(|c| self.add_crl(c.clone()).is_ok())
            .count();
        (n, m)
    }

    pub fn anchors(&self) -> &[Vec<u8>] {
        &self.anchors
    }
}

/// Whether the signed bytes are what was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// The digest matches and the signature is the certificate's.
    Intact,
    /// The bytes changed after signing.
    DigestMismatch,
    /// The signature is not the certificate's over what it claims.
    SignatureInvalid,
    /// The signing-certificate attribute names another certificate.
    CertificateMismatch,
    /// The signer's certificate is not in the signature.
    CertificateMissing,
    /// An algorithm not accepted here (named by OID).
    Unsupported(String),
    /// The signature's structure does not parse.
    Malformed(String),
}

/// What the certificate's path says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertStatus {
    Trusted,
    Revoked,
    Expired,
    NotYetValid,
    /// No path to a trusted anchor.
    UntrustedIssuer,
    /// Anything else webpki refuses, with its reason.
    Invalid(String),
}

/// A time-stamp over the signature, as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub time: time::OffsetDateTime,
    pub authority: Name,
    /// The token's imprint is the signature's, its own signature holds and its certificate
    /// is for time-stamping.
    pub intact: bool,
    pub status: CertStatus,
}

impl Stamp {
    pub fn valid(&self) -> bool {
        self.intact && self.status == CertStatus::Trusted
    }
}

/// One signature, checked.
#[derive(Debug, Clone)]
pub struct Check {
    pub integrity: Integrity,
    pub certificate: Option<Vec<u8>>,
    pub signer: Option<Name>,
    /// From the signer up to the anchor, when a path was found.
    pub chain: Vec<Name>,
    pub status: CertStatus,
    pub timestamp: Option<Stamp>,
    /// The time the signer's attributes claim (not proof).
    pub claimed_time: Option<time::OffsetDateTime>,
    /// The certificate's serial, hex.
    pub serial: Option<String>,
    pub not_after: Option<time::OffsetDateTime>,
}

impl Check {
    /// Intact, by a trusted certificate, and any time-stamp valid too.
    pub fn valid(&self) -> bool {
        self.integrity == Integrity::Intact
            && self.status == CertStatus::Trusted
            && self.timestamp.as_ref().is_none_or(Stamp::valid)
    }

    /// The time the signature is known to have existed: its time-stamp's when valid.
    pub fn proven_time(&self) -> Option<time::OffsetDateTime> {
        self.timestamp.as_ref().filter(|s| s.intact).map(|s| s.time)
    }

    fn failed(integrity: Integrity) -> Self {
        Self {
            integrity,
            certificate: None,
            signer: None,
            chain: Vec::new(),
            status: CertStatus::Invalid("not checked".into()),
            timestamp: None,
            claimed_time: None,
            serial: None,
            not_after: None,
        }
    }
}

/// Checks the CMS `cms` over the concatenation of `signed` (a PDF's byte ranges), at `now`.
pub fn check(cms: &[u8], signed: &[&[u8]], trust: &Trust, now: time::OffsetDateTime) -> Check {
    let sd = match SignedData::parse(cms) {
        Ok(sd) => sd,
        Err(e) => return Check::failed(Integrity::Malformed(e.to_string())),
    };
    let Some(signer) = sd.signers.first() else {
        return Check::failed(Integrity::Malformed("no signer".into()));
    };
    let Some(cert_der) = sd.certificate_of(&signer.id) else {
        return Check::failed(Integrity::CertificateMissing);
    };
    let Ok(cert) = Certificate::parse(cert_der) else {
        return Check::failed(Integrity::Malformed("the signer's certificate".into()));
    };
    let integrity = integrity(signer, cert_der, signed);
    let timestamp = signer
        .unsigned(oid::TIME_STAMP_TOKEN)
        .map(|t| stamp(t.raw, signer.signature, trust, now));
    let at = timestamp
        .as_ref()
        .filter(|s| s.intact)
        .map_or(now, |s| s.time);
    let (status, chain) = path(cert_der, &sd.certificates, trust, at, &AnyUsage);
    Check {
        integrity,
        certificate: Some(cert_der.to_vec()),
        signer: Some(cert.subject_name()),
        chain,
        status,
        timestamp,
        claimed_time: signer
            .signed(oid::SIGNING_TIME)
            .and_then(|t| der::read_time(&t).ok()),
        serial: Some(cert.serial_hex()),
        not_after: Some(cert.not_after),
    }
}

/// The digest, the signature and the signing-certificate binding.
fn integrity(signer: &SignerInfo<'_>, cert_der: &[u8], signed: &[&[u8]]) -> Integrity {
    let Some(alg) = HashAlg::from_oid(signer.digest_algorithm) else {
        return Integrity::Unsupported(der::oid_string(signer.digest_algorithm));
    };
    let digest = alg.digest(signed);
    let message = match signer.signed_attrs_der() {
        Some(attrs) => {
            let Some(md) = signer.signed(oid::MESSAGE_DIGEST) else {
                return Integrity::Malformed("no message digest".into());
            };
            if md.content != digest.as_slice() {
                return Integrity::DigestMismatch;
            }
            attrs
        }
        None => signed.concat(),
    };
    let candidates = algorithms(signer.signature_algorithm, alg);
    if candidates.is_empty() {
        return Integrity::Unsupported(der::oid_string(signer.signature_algorithm));
    }
    let cert = CertificateDer::from(cert_der);
    let Ok(ee) = webpki::EndEntityCert::try_from(&cert) else {
        return Integrity::Malformed("the signer's certificate".into());
    };
    let ok = candidates
        .iter()
        .any(|a| ee.verify_signature(*a, &message, signer.signature).is_ok());
    if !ok {
        return Integrity::SignatureInvalid;
    }
    if let Some(ess) = signer.signed(oid::SIGNING_CERTIFICATE_V2) {
        if !binds(&ess, cert_der) {
            return Integrity::CertificateMismatch;
        }
    }
    Integrity::Intact
}

/// Whether a SigningCertificateV2's first ESSCertIDv2 hashes to `cert_der`.
fn binds(ess: &der::Tlv<'_>, cert_der: &[u8]) -> bool {
    let first = || -> der::DerResult<bool> {
        let ids = ess.reader().expect(der::SEQUENCE)?;
        let id = ids.reader().expect(der::SEQUENCE)?;
        let mut r = id.reader();
        let alg = match r.optional(der::SEQUENCE)? {
            Some(a) => HashAlg::from_oid(a.reader().expect(der::OID)?.content),
            None => Some(HashAlg::Sha256),
        };
        let hash = r.expect(der::OCTET_STRING)?.content;
        Ok(alg.is_some_and(|a| a.digest(&[cert_der]) == hash))
    };
    first().unwrap_or(false)
}

/// The verification algorithms a (signature algorithm, digest) pair may mean.
fn algorithms(sig: &[u8], digest: HashAlg) -> Vec<&'static dyn SignatureVerificationAlgorithm> {
    match (sig, digest) {
        (oid::ECDSA_SHA256, _) | (oid::EC_PUBLIC_KEY, HashAlg::Sha256) => {
            vec![algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256]
        }
        (oid::ECDSA_SHA384, _) | (oid::EC_PUBLIC_KEY, HashAlg::Sha384) => {
            vec![algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384]
        }
        (oid::SHA256_WITH_RSA, _) | (oid::RSA_ENCRYPTION, HashAlg::Sha256) => {
            vec![algs::RSA_PKCS1_2048_8192_SHA256]
        }
        (oid::SHA384_WITH_RSA, _) | (oid::RSA_ENCRYPTION, HashAlg::Sha384) => {
            vec![algs::RSA_PKCS1_2048_8192_SHA384]
        }
        (oid::SHA512_WITH_RSA, _) | (oid::RSA_ENCRYPTION, HashAlg::Sha512) => {
            vec![algs::RSA_PKCS1_2048_8192_SHA512]
        }
        _ => Vec::new(),
    }
}

/// Any extended key usage will do for signing documents (Vietnamese CAs mark theirs in
/// several ways); time-stamps need their own.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

fn unix(t: time::OffsetDateTime) -> UnixTime {
    let secs = u64::try_from(t.unix_timestamp()).unwrap_or(0);
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
}

/// The certificate's path to a trusted anchor at `at`, with revocation checked against the
/// lists the city holds (a certificate no list covers counts as not revoked).
fn path(
    cert_der: &[u8],
    carried: &[&[u8]],
    trust: &Trust,
    at: time::OffsetDateTime,
    usage: &impl webpki::ExtendedKeyUsageValidator,
) -> (CertStatus, Vec<Name>) {
    let cert = CertificateDer::from(cert_der);
    let Ok(ee) = webpki::EndEntityCert::try_from(&cert) else {
        return (
            CertStatus::Invalid("malformed certificate".into()),
            Vec::new(),
        );
    };
    let anchor_ders: Vec<CertificateDer<'_>> = trust
        .anchors
        .iter()
        .map(|a| CertificateDer::from(a.as_slice()))
        .collect();
    let anchors: Vec<_> = anchor_ders
        .iter()
        .filter_map(|a| webpki::anchor_from_trusted_cert(a).ok())
        .collect();
    let intermediates: Vec<CertificateDer<'_>> = carried
        .iter()
        .filter(|c| **c != cert_der)
        .map(|c| CertificateDer::from(*c))
        .collect();
    let crls: Vec<webpki::CertRevocationList<'_>> = trust
        .crls
        .iter()
        .filter_map(|c| webpki::BorrowedCertRevocationList::from_der(c).ok())
        .map(Into::into)
        .collect();
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
    let revocation = webpki::RevocationOptionsBuilder::new(&crl_refs)
        .ok()
        .map(|b| {
            b.with_depth(webpki::RevocationCheckDepth::Chain)
                .with_status_policy(webpki::UnknownStatusPolicy::Allow)
                .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
                .build()
        });
    match ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        unix(at),
        usage,
        revocation,
        None,
    ) {
        Ok(p) => {
            let mut chain = vec![Certificate::parse(cert_der)
                .map(|c| c.subject_name())
                .unwrap_or_default()];
            for i in p.intermediate_certificates() {
                chain.push(Name::read(&der::tlv(der::SEQUENCE, i.subject())));
            }
            chain.push(Name::read(&der::tlv(
                der::SEQUENCE,
                p.anchor().subject.as_ref(),
            )));
            (CertStatus::Trusted, chain)
        }
        Err(e) => (status_of(&e), Vec::new()),
    }
}

fn status_of(e: &webpki::Error) -> CertStatus {
    match e {
        webpki::Error::CertRevoked => CertStatus::Revoked,
        webpki::Error::CertExpired { .. } => CertStatus::Expired,
        webpki::Error::CertNotValidYet { .. } => CertStatus::NotYetValid,
        // A root of the same name but another key is no trusted root either.
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
            CertStatus::UntrustedIssuer
        }
        other => CertStatus::Invalid(format!("{other:?}")),
    }
}

/// A time-stamp token over `signature`.
fn stamp(token: &[u8], signature: &[u8], trust: &Trust, now: time::OffsetDateTime) -> Stamp {
    let mut out = Stamp {
        time: now,
        authority: Name::default(),
        intact: false,
        status: CertStatus::Invalid("malformed time-stamp".into()),
    };
    let Ok(sd) = SignedData::parse(token) else {
        return out;
    };
    let (Some(info), Some(signer)) = (sd.econtent.as_deref(), sd.signers.first()) else {
        return out;
    };
    let Ok(tst) = TstInfo::parse(info) else {
        return out;
    };
    out.time = tst.time;
    let Some(cert_der) = sd.certificate_of(&signer.id) else {
        return out;
    };
    if let Ok(c) = Certificate::parse(cert_der) {
        out.authority = c.subject_name();
    }
    let for_stamping =
        x509::extended_key_usages(cert_der).is_ok_and(|k| k.contains(&oid::KP_TIME_STAMPING));
    out.intact = sd.content_type == oid::TST_INFO
        && for_stamping
        && tst.hashed == tst.alg.digest(&[signature])
        && integrity(signer, cert_der, &[info]) == Integrity::Intact;
    out.status = path(cert_der, &sd.certificates, trust, tst.time, &AnyUsage).0;
    out
}

/// SHA-256 of a certificate, hex (its fingerprint).
pub fn fingerprint(der: &[u8]) -> String {
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}
