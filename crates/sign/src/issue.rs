//! What sohoa's certificates look like, in one place: the city's root, document signers
//! (agencies, and later citizens), and the time-stamping authority; and the revocation list.
//! Keys are ECDSA P-256; PEM in and out, so that storage keeps them sealed as text.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

use crate::der;
use crate::oid;

#[derive(Debug, thiserror::Error)]
#[error("certificate: {0}")]
pub struct IssueError(String);

fn err(e: impl std::fmt::Display) -> IssueError {
    IssueError(e.to_string())
}

/// Whom a certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub common_name: String,
    pub organization: String,
    pub unit: Option<String>,
    /// A person's or organization's identifier (CCCD, tax code), as Vietnamese CAs put it.
    pub identifier: Option<String>,
}

impl Subject {
    fn name(&self) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "VN");
        dn.push(DnType::OrganizationName, self.organization.as_str());
        if let Some(u) = &self.unit {
            dn.push(DnType::OrganizationalUnitName, u.as_str());
        }
        if let Some(id) = &self.identifier {
            dn.push(
                DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 1]),
                id.as_str(),
            );
        }
        dn.push(DnType::CommonName, self.common_name.as_str());
        dn
    }
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The city's root: signs certificates and revocation lists.
    Root,
    /// Signs documents (non-repudiation).
    Signer,
    /// RFC 3161: time-stamping only, and critically so.
    TimeStamping,
}

/// A key with its certificate.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    /// PKCS#8, PEM: seal it before keeping it.
    pub key_pem: String,
    /// Hex, upper case, as revocation lists show it.
    pub serial: String,
    pub not_after: time::OffsetDateTime,
}

/// A CA that issues: its subject (rebuilt exactly as in its certificate) and key.
pub struct Authority<'a> {
    pub subject: &'a Subject,
    pub key_pem: &'a str,
}

fn params(
    subject: &Subject,
    profile: Profile,
    validity: time::Duration,
    crl_url: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<(CertificateParams, Vec<u8>), IssueError> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    p.distinguished_name = subject.name();
    // Backdated an hour: clocks of relying parties differ.
    p.not_before = now - time::Duration::hours(1);
    p.not_after = now + validity;
    let serial = crate::random::<16>().map_err(err)?;
    let mut serial = serial.to_vec();
    if let Some(first) = serial.first_mut() {
        *first &= 0x7F;
        *first |= 0x10;
    }
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    match profile {
        Profile::Root => {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Profile::Signer | Profile::TimeStamping => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.use_authority_key_identifier_extension = true;
            p.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ];
            if let Some(url) = crl_url {
                p.crl_distribution_points = vec![CrlDistributionPoint {
                    uris: vec![url.to_owned()],
                }];
            }
        }
    }
    if profile == Profile::TimeStamping {
        let eku = der::seq(&[&der::tlv(der::OID, oid::KP_TIME_STAMPING)]);
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], eku);
        ext.set_criticality(true);
        p.custom_extensions = vec![ext];
    }
    Ok((p, serial))
}

fn finish(
    cert: rcgen::Certificate,
    key: &KeyPair,
    serial: &[u8],
    not_after: time::OffsetDateTime,
) -> Issued {
    Issued {
        cert_der: cert.der().to_vec(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        serial: serial.iter().map(|b| format!("{b:02X}")).collect(),
        not_after,
    }
}

/// A new self-signed root.
pub fn root(
    subject: &Subject,
    validity: time::Duration,
    now: time::OffsetDateTime,
) -> Result<Issued, IssueError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let (p, serial) = params(subject, Profile::Root, validity, None, now)?;
    let cert = p.self_signed(&key).map_err(err)?;
    Ok(finish(cert, &key, &serial, now + validity))
}

/// A new key and its certificate from `ca`.
pub fn issue(
    ca: &Authority<'_>,
    subject: &Subject,
    profile: Profile,
    validity: time::Duration,
    crl_url: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<Issued, IssueError> {
    let issuer = issuer(ca, now)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let (p, serial) = params(subject, profile, validity, crl_url, now)?;
    let cert = p.signed_by(&key, &issuer).map_err(err)?;
    Ok(finish(cert, &key, &serial, now + validity))
}

fn issuer<'a>(
    ca: &Authority<'_>,
    now: time::OffsetDateTime,
) -> Result<Issuer<'a, KeyPair>, IssueError> {
    let key = KeyPair::from_pem(ca.key_pem).map_err(err)?;
    let (p, _) = params(
        ca.subject,
        Profile::Root,
        time::Duration::days(1),
        None,
        now,
    )?;
    Ok(Issuer::new(p, key))
}

/// A revoked certificate: its serial (hex) and when it was revoked.
#[derive(Debug, Clone)]
pub struct Revoked {
    pub serial: String,
    pub at: time::OffsetDateTime,
    pub key_compromise: bool,
}

/// The CA's revocation list number `number`, valid until `next_update`.
pub fn revocation_list(
    ca: &Authority<'_>,
    revoked: &[Revoked],
    number: u64,
    now: time::OffsetDateTime,
    next_update: time::OffsetDateTime,
) -> Result<Vec<u8>, IssueError> {
    let revoked_certs = revoked
        .iter()
        .map(|r| {
            let serial = (0..r.serial.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(r.serial.get(i..i + 2).unwrap_or("zz"), 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(err)?;
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: r.at,
                reason_code: r.key_compromise.then_some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, IssueError>>()?;
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update,
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer(ca, now)?).map_err(err)?;
    Ok(crl.der().to_vec())
}

/// Signs `message` with a PEM key: ECDSA P-256 with SHA-256, DER.
pub fn sign(key_pem: &str, message: &[u8]) -> Result<Vec<u8>, IssueError> {
    let der = KeyPair::from_pem(key_pem).map_err(err)?.serialize_der();
    let rng = ring::rand::SystemRandom::new();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der, &rng).map_err(err)?;
    Ok(pair.sign(&rng, message).map_err(err)?.as_ref().to_vec())
}

/// Signs a SHA-256 `digest` someone else computed (CSC signHash) with a PKCS#8 (DER) P-256
/// key: ECDSA, deterministic (RFC 6979), DER.
pub fn sign_digest(key_pkcs8_der: &[u8], digest: &[u8]) -> Result<Vec<u8>, IssueError> {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::pkcs8::DecodePrivateKey;
    if digest.len() != 32 {
        return Err(IssueError("a SHA-256 digest is 32 bytes".into()));
    }
    let key = p256::ecdsa::SigningKey::from_pkcs8_der(key_pkcs8_der).map_err(err)?;
    let sig: p256::ecdsa::Signature = key.sign_prehash(digest).map_err(err)?;
    Ok(sig.to_der().as_bytes().to_vec())
}

/// A new key pair and its certificate from `ca`, with the key as PKCS#8 DER (for wrapping
/// under its holder's password rather than keeping as PEM).
pub fn issue_for_person(
    ca: &Authority<'_>,
    subject: &Subject,
    validity: time::Duration,
    crl_url: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<(Issued, Vec<u8>), IssueError> {
    let issued = issue(ca, subject, Profile::Signer, validity, crl_url, now)?;
    let der = KeyPair::from_pem(&issued.key_pem)
        .map_err(err)?
        .serialize_der();
    Ok((issued, der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn a_digest_signed_remotely_verifies_as_a_signature_over_the_message() {
        let subject = Subject {
            common_name: "Root".into(),
            organization: "Test".into(),
            unit: None,
            identifier: None,
        };
        let now = time::OffsetDateTime::now_utc();
        let root = root(&subject, time::Duration::days(1), now).unwrap();
        let ca = Authority {
            subject: &subject,
            key_pem: &root.key_pem,
        };
        let (person, key) =
            issue_for_person(&ca, &subject, time::Duration::days(1), None, now).unwrap();
        let message = b"signed attributes";
        let sig = sign_digest(&key, &sha2::Sha256::digest(message)).unwrap();
        let public = crate::x509::public_key_hex(&person.cert_der).unwrap();
        let public: Vec<u8> = (0..public.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&public[i..i + 2], 16).unwrap())
            .collect();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, public)
            .verify(message, &sig)
            .unwrap();
        assert!(sign_digest(&key, b"short").is_err());
    }
}
