//! Reading an X.509 certificate far enough to name its holder, find it by issuer and serial,
//! and hash it; path building and signature checks are webpki's (see `verify`).

use crate::der::{self, DerResult, Tlv};
use crate::oid;

/// A certificate as read: borrowed parts of its DER.
#[derive(Debug, Clone)]
pub struct Certificate<'a> {
    pub der: &'a [u8],
    pub serial: &'a [u8],
    /// The issuer's Name, whole (compared byte for byte, as CMS does).
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
}

impl<'a> Certificate<'a> {
    pub fn parse(der: &'a [u8]) -> DerResult<Self> {
        let cert = der::parse_one(der)?.expect(der::SEQUENCE)?;
        let tbs = cert.reader().expect(der::SEQUENCE)?;
        let mut r = tbs.reader();
        r.optional(0xA0)?; // version
        let serial = r.expect(der::INTEGER)?;
        r.expect(der::SEQUENCE)?; // signature algorithm
        let issuer = r.expect(der::SEQUENCE)?;
        let validity = r.expect(der::SEQUENCE)?;
        let subject = r.expect(der::SEQUENCE)?;
        let mut v = validity.reader();
        let not_before = der::read_time(&v.read()?)?;
        let not_after = der::read_time(&v.read()?)?;
        Ok(Self {
            der,
            serial: serial.content,
            issuer: issuer.raw,
            subject: subject.raw,
            not_before,
            not_after,
        })
    }

    /// The serial as hex, as revocation lists and people write it.
    pub fn serial_hex(&self) -> String {
        let s: &[u8] = match self.serial {
            [0, rest @ ..] if !rest.is_empty() => rest,
            s => s,
        };
        s.iter().map(|b| format!("{b:02X}")).collect()
    }

    pub fn subject_name(&self) -> Name {
        Name::read(self.subject)
    }

    pub fn issuer_name(&self) -> Name {
        Name::read(self.issuer)
    }
}

/// The parts of a distinguished name people read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name {
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub organizational_unit: Option<String>,
    pub country: Option<String>,
    /// serialNumber or UID: where Vietnamese CAs put a CCCD, tax code or "CMND:..." form.
    pub identifier: Option<String>,
    /// Every attribute, `CN=...` style, in order.
    pub full: String,
}

impl Name {
    /// What can be read of `raw` (a Name's DER); unreadable attributes are left out.
    pub fn read(raw: &[u8]) -> Self {
        let mut name = Self::default();
        let _ = name.fill(raw);
        name
    }

    fn fill(&mut self, raw: &[u8]) -> DerResult<()> {
        let mut parts = Vec::new();
        for rdn in der::parse_one(raw)?.reader().all()? {
            for atv in rdn.reader().all()? {
                let mut r = atv.reader();
                let id = r.expect(der::OID)?;
                let Some(value) = der::read_string(&r.read()?) else {
                    continue;
                };
                let (label, slot) = match id.content {
                    oid::COMMON_NAME => ("CN", Some(&mut self.common_name)),
                    oid::ORGANIZATION => ("O", Some(&mut self.organization)),
                    oid::ORGANIZATIONAL_UNIT => ("OU", Some(&mut self.organizational_unit)),
                    oid::COUNTRY => ("C", Some(&mut self.country)),
                    oid::SERIAL_NUMBER | oid::UID => ("UID", Some(&mut self.identifier)),
                    _ => ("", None),
                };
                let label = if label.is_empty() {
                    der::oid_string(id.content)
                } else {
                    label.to_owned()
                };
                parts.push(format!("{label}={value}"));
                if let Some(slot) = slot {
                    slot.get_or_insert(value);
                }
            }
        }
        self.full = parts.join(", ");
        Ok(())
    }
}

/// Certificates in PEM (one file may hold several), as DER.
pub fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    pem_blocks(text, "CERTIFICATE")
}

/// The base64 bodies of `-----BEGIN {label}-----` blocks.
pub fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        if let Some(bytes) = base64_decode(&after[..stop]) {
            out.push(bytes);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

/// Standard base64 with whitespace (PEM bodies); `None` for anything else.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// DER as PEM with `label`.
pub fn to_pem(der: &[u8], label: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The subject public key's bytes (for EC keys, the uncompressed point), hex.
pub fn public_key_hex(cert: &[u8]) -> DerResult<String> {
    let cert = der::parse_one(cert)?;
    let tbs = cert.reader().expect(der::SEQUENCE)?;
    let mut r = tbs.reader();
    r.optional(0xA0)?;
    for _ in 0..5 {
        r.read()?;
    }
    let spki = r.expect(der::SEQUENCE)?;
    let mut s = spki.reader();
    s.expect(der::SEQUENCE)?;
    let key = s.expect(der::BIT_STRING)?.bits()?;
    Ok(key.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads the `tbsCertificate` extensions' extended key usages (for the TSA's certificate).
pub fn extended_key_usages(cert: &[u8]) -> DerResult<Vec<&[u8]>> {
    let cert = der::parse_one(cert)?;
    let tbs = cert.reader().expect(der::SEQUENCE)?;
    let mut out = Vec::new();
    for part in tbs.reader().all()? {
        if part.tag != 0xA3 {
            continue;
        }
        for ext in part.reader().expect(der::SEQUENCE)?.reader().all()? {
            let mut r = ext.reader();
            if r.expect(der::OID)?.content != oid::EXT_KEY_USAGE {
                continue;
            }
            r.optional(der::BOOLEAN)?;
            let value = r.expect(der::OCTET_STRING)?;
            for k in der::parse_one(value.content)?.reader().all()? {
                out.push(k.expect(der::OID)?.content);
            }
        }
    }
    Ok(out)
}

/// Whether `t` is a Tlv of the certificate shape at all (for picking certificates out of a
/// CMS `certificates` set, which may also hold attribute certificates).
pub fn looks_like_certificate(t: &Tlv<'_>) -> bool {
    t.tag == der::SEQUENCE && Certificate::parse(t.raw).is_ok()
}
