//! CMS `SignedData` (RFC 5652) as CAdES wants it (ETSI EN 319 122): what a PAdES signature
//! and an RFC 3161 time-stamp token both are. Built here for sohoa's own keys; read here for
//! anyone's.

use sha2::Digest;

use crate::der::{self, DerError, DerResult, Tlv};
use crate::oid;

/// What the signature is made over, as the signer's attributes state it.
pub struct Content<'a> {
    /// The eContentType OID (content bytes): `oid::DATA` for a PDF, `oid::TST_INFO` for a
    /// time-stamp.
    pub content_type: &'a [u8],
    /// SHA-256 of the content.
    pub digest: [u8; 32],
    /// The content itself when it travels inside (a time-stamp's TSTInfo); `None` when
    /// detached (a PDF's byte ranges).
    pub attached: Option<&'a [u8]>,
}

/// Signs a message with a key held elsewhere.
pub type SignFn<'a, E> = &'a dyn Fn(&[u8]) -> Result<Vec<u8>, E>;

/// A certificate with what signs for its key: a function that signs a message (ECDSA P-256
/// with SHA-256, DER), so that keys never leave whoever holds them.
pub struct Signer<'a, E> {
    pub certificate: &'a [u8],
    /// Certificates up to (not including) the root, carried for verifiers.
    pub chain: &'a [Vec<u8>],
    pub sign: SignFn<'a, E>,
}

/// The signed attributes (as a DER `SET`, the bytes the signature is over): content type,
/// message digest, and the signing certificate v2 (its SHA-256 and issuer/serial) that binds
/// the signature to one certificate.
pub fn signed_attributes(content: &Content<'_>, certificate: &[u8]) -> DerResult<Vec<u8>> {
    let cert = crate::x509::Certificate::parse(certificate)?;
    let cert_hash: [u8; 32] = sha2::Sha256::digest(certificate).into();
    let issuer_serial = der::seq(&[
        &der::seq(&[&der::explicit(4, cert.issuer)]),
        &der::tlv(der::INTEGER, cert.serial),
    ]);
    let ess = der::seq(&[&der::seq(&[&der::seq(&[
        &der::octets(&cert_hash),
        &issuer_serial,
    ])])]);
    Ok(der::set_of(vec![
        attribute(oid::CONTENT_TYPE, &der::tlv(der::OID, content.content_type)),
        attribute(oid::MESSAGE_DIGEST, &der::octets(&content.digest)),
        attribute(oid::SIGNING_CERTIFICATE_V2, &ess),
    ]))
}

/// `Attribute ::= SEQUENCE { attrType, attrValues SET OF value }` with one value.
pub fn attribute(id: &[u8], value: &[u8]) -> Vec<u8> {
    der::seq(&[&der::tlv(der::OID, id), &der::set_of(vec![value.to_vec()])])
}

/// The whole `ContentInfo` of a SignedData: `signature` (ECDSA P-256 with SHA-256, DER) over
/// `signed_attrs` by `certificate`'s key; the certificate and `chain` travel along for
/// verifiers when `carry_certificates`; `unsigned` are whole attributes (a time-stamp token).
pub fn assemble(
    content: &Content<'_>,
    certificate: &[u8],
    chain: &[Vec<u8>],
    signed_attrs: &[u8],
    signature: &[u8],
    unsigned: &[Vec<u8>],
    carry_certificates: bool,
) -> DerResult<Vec<u8>> {
    let cert = crate::x509::Certificate::parse(certificate)?;
    let sha256 = der::seq(&[&der::tlv(der::OID, oid::SHA256)]);
    let mut signer_parts = vec![
        der::small_uint(1),
        der::seq(&[cert.issuer, &der::tlv(der::INTEGER, cert.serial)]),
        sha256.clone(),
        der::retag(signed_attrs, 0xA0),
        der::seq(&[&der::tlv(der::OID, oid::ECDSA_SHA256)]),
        der::octets(signature),
    ];
    if !unsigned.is_empty() {
        let set = der::set_of(unsigned.to_vec());
        signer_parts.push(der::retag(&set, 0xA1));
    }
    let signer_refs: Vec<&[u8]> = signer_parts.iter().map(Vec::as_slice).collect();
    let signer_info = der::seq(&signer_refs);
    let econtent = match content.attached {
        Some(bytes) => der::seq(&[
            &der::tlv(der::OID, content.content_type),
            &der::explicit(0, &der::octets(bytes)),
        ]),
        None => der::seq(&[&der::tlv(der::OID, content.content_type)]),
    };
    // RFC 5652 5.1: version 3 when the content is not id-data.
    let version = if content.content_type == oid::DATA {
        1
    } else {
        3
    };
    let mut certs: Vec<u8> = certificate.to_vec();
    for c in chain {
        certs.extend_from_slice(c);
    }
    let certs = if carry_certificates {
        der::tlv(0xA0, &certs)
    } else {
        Vec::new()
    };
    let signed_data = der::seq(&[
        &der::small_uint(version),
        &der::set_of(vec![sha256]),
        &econtent,
        &certs,
        &der::set_of(vec![signer_info]),
    ]);
    Ok(der::seq(&[
        &der::tlv(der::OID, oid::SIGNED_DATA),
        &der::explicit(0, &signed_data),
    ]))
}

/// A SignedData as read.
#[derive(Debug, Clone)]
pub struct SignedData<'a> {
    pub content_type: &'a [u8],
    /// The encapsulated content, when attached.
    pub econtent: Option<Vec<u8>>,
    pub certificates: Vec<&'a [u8]>,
    pub signers: Vec<SignerInfo<'a>>,
}

/// How a signer names their certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerId<'a> {
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    KeyId(&'a [u8]),
}

#[derive(Debug, Clone)]
pub struct SignerInfo<'a> {
    pub id: SignerId<'a>,
    pub digest_algorithm: &'a [u8],
    /// The `[0] IMPLICIT` signed attributes, whole.
    pub signed_attrs: Option<Tlv<'a>>,
    pub signature_algorithm: &'a [u8],
    pub signature: &'a [u8],
    pub unsigned_attrs: Option<Tlv<'a>>,
}

impl<'a> SignedData<'a> {
    /// A `ContentInfo` holding a SignedData (trailing bytes, such as a PDF's zero padding,
    /// are ignored).
    pub fn parse(input: &'a [u8]) -> DerResult<Self> {
        let info = der::parse_first(input)?.expect(der::SEQUENCE)?;
        let mut r = info.reader();
        if r.expect(der::OID)?.content != oid::SIGNED_DATA {
            return Err(DerError::Malformed("not a CMS SignedData"));
        }
        let sd = r.expect(0xA0)?.reader().expect(der::SEQUENCE)?;
        let mut r = sd.reader();
        r.expect(der::INTEGER)?;
        r.expect(der::SET)?;
        let encap = r.expect(der::SEQUENCE)?;
        let mut e = encap.reader();
        let content_type = e.expect(der::OID)?.content;
        let econtent = match e.optional(0xA0)? {
            Some(wrapper) => Some(octet_string(&wrapper.reader().read()?)?),
            None => None,
        };
        let mut certificates = Vec::new();
        if let Some(certs) = r.optional(0xA0)? {
            for c in certs.reader().all()? {
                if c.tag == der::SEQUENCE {
                    certificates.push(c.raw);
                }
            }
        }
        r.optional(0xA1)?; // CRLs
        let mut signers = Vec::new();
        for s in r.expect(der::SET)?.reader().all()? {
            signers.push(SignerInfo::read(&s.expect(der::SEQUENCE)?)?);
        }
        Ok(Self {
            content_type,
            econtent,
            certificates,
            signers,
        })
    }

    /// The certificate `id` names, among those carried.
    pub fn certificate_of(&self, id: &SignerId<'_>) -> Option<&'a [u8]> {
        self.certificates.iter().copied().find(|c| {
            let Ok(cert) = crate::x509::Certificate::parse(c) else {
                return false;
            };
            match id {
                SignerId::IssuerSerial { issuer, serial } => {
                    cert.issuer == *issuer && cert.serial == *serial
                }
                SignerId::KeyId(kid) => subject_key_id(c).is_some_and(|k| k == *kid),
            }
        })
    }
}

/// An OCTET STRING's bytes, primitive or (BER) constructed from pieces.
fn octet_string(t: &Tlv<'_>) -> DerResult<Vec<u8>> {
    match t.tag {
        der::OCTET_STRING => Ok(t.content.to_vec()),
        0x24 => {
            let mut out = Vec::new();
            for piece in t.reader().all()? {
                out.extend(octet_string(&piece)?);
            }
            Ok(out)
        }
        found => Err(DerError::UnexpectedTag {
            expected: der::OCTET_STRING,
            found,
        }),
    }
}

/// The subjectKeyIdentifier extension's value.
fn subject_key_id(cert: &[u8]) -> Option<&[u8]> {
    const SKI: &[u8] = &[0x55, 0x1D, 0x0E];
    let tbs = der::parse_one(cert).ok()?.reader().read().ok()?;
    let exts = tbs
        .reader()
        .all()
        .ok()?
        .into_iter()
        .find(|t| t.tag == 0xA3)?;
    for ext in exts.reader().read().ok()?.reader().all().ok()? {
        let mut r = ext.reader();
        if r.read().ok()?.content != SKI {
            continue;
        }
        r.optional(der::BOOLEAN).ok()?;
        let value = r.read().ok()?;
        return der::parse_one(value.content).ok().map(|v| v.content);
    }
    None
}

impl<'a> SignerInfo<'a> {
    fn read(s: &Tlv<'a>) -> DerResult<Self> {
        let mut r = s.reader();
        r.expect(der::INTEGER)?;
        let sid = r.read()?;
        let id = match sid.tag {
            der::SEQUENCE => {
                let mut i = sid.reader();
                let issuer = i.expect(der::SEQUENCE)?.raw;
                let serial = i.expect(der::INTEGER)?.content;
                SignerId::IssuerSerial { issuer, serial }
            }
            0x80 => SignerId::KeyId(sid.content),
            _ => return Err(DerError::Malformed("signer identifier")),
        };
        let digest_algorithm = algorithm(&r.expect(der::SEQUENCE)?)?;
        let signed_attrs = r.optional(0xA0)?;
        let signature_algorithm = algorithm(&r.expect(der::SEQUENCE)?)?;
        let signature = r.expect(der::OCTET_STRING)?.content;
        let unsigned_attrs = r.optional(0xA1)?;
        Ok(Self {
            id,
            digest_algorithm,
            signed_attrs,
            signature_algorithm,
            signature,
            unsigned_attrs,
        })
    }

    /// The bytes the signature is over: the signed attributes as a `SET` (RFC 5652 5.4).
    pub fn signed_attrs_der(&self) -> Option<Vec<u8>> {
        self.signed_attrs.map(|t| der::retag(t.raw, der::SET))
    }

    /// The first value of the signed attribute `id`.
    pub fn signed(&self, id: &[u8]) -> Option<Tlv<'a>> {
        find_attribute(self.signed_attrs?, id)
    }

    /// The first value of the unsigned attribute `id`.
    pub fn unsigned(&self, id: &[u8]) -> Option<Tlv<'a>> {
        find_attribute(self.unsigned_attrs?, id)
    }
}

fn algorithm<'a>(t: &Tlv<'a>) -> DerResult<&'a [u8]> {
    Ok(t.reader().expect(der::OID)?.content)
}

fn find_attribute<'a>(attrs: Tlv<'a>, id: &[u8]) -> Option<Tlv<'a>> {
    for a in attrs.reader().all().ok()? {
        let mut r = a.reader();
        if r.read().ok()?.content == id {
            return r.read().ok()?.reader().read().ok();
        }
    }
    None
}
