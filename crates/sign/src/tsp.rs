//! RFC 3161 time-stamps: the request a client sends, the token sohoa's authority answers
//! with (a CMS SignedData over a TSTInfo), and reading a token back.

use sha2::Digest;

use crate::cms::{self, Content};
use crate::der::{self, DerError, DerResult, Tlv};
use crate::oid;

/// sohoa's time-stamping policy: 2.25.147690605704582574366329045641129036441 (an OID made
/// from a UUID, ITU-T X.667, so that no registration is needed).
pub const POLICY: &[u8] = &[
    0x69, 0x81, 0xDE, 0x9C, 0x96, 0xC3, 0xD1, 0xA4, 0xA2, 0xB0, 0xBD, 0x9B, 0xBD, 0x97, 0xA7, 0xE2,
    0xE0, 0xEC, 0x95, 0x19,
];

/// The hashes a request may use; SHA-1 is refused as too weak to bind a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn from_oid(o: &[u8]) -> Option<Self> {
        match o {
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn oid(self) -> &'static [u8] {
        match self {
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }
}

/// Why a request is refused, with RFC 3161's failure bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the request is not a TimeStampReq")]
    BadRequest,
    #[error("the hash algorithm is not accepted (SHA-256, SHA-384, SHA-512 are)")]
    BadAlg,
    #[error("the hash is not as long as its algorithm's")]
    BadDataFormat,
    #[error("the requested policy is not this authority's")]
    UnacceptedPolicy,
    #[error("request extensions are not supported")]
    UnacceptedExtension,
}

impl RequestError {
    /// The PKIFailureInfo bit (RFC 3161 2.4.2).
    pub fn bit(self) -> u8 {
        match self {
            Self::BadAlg => 0,
            Self::BadRequest => 2,
            Self::BadDataFormat => 5,
            Self::UnacceptedPolicy => 15,
            Self::UnacceptedExtension => 16,
        }
    }
}

/// A time-stamp request that can be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub alg: HashAlg,
    hashed: Vec<u8>,
    nonce: Option<Vec<u8>>,
    pub cert_req: bool,
}

impl Request {
    /// A request for `hashed` (which must be as long as `alg`'s hashes).
    pub fn new(alg: HashAlg, hashed: &[u8], nonce: Option<&[u8]>) -> Result<Self, RequestError> {
        if hashed.len() != alg.digest_len() {
            return Err(RequestError::BadDataFormat);
        }
        Ok(Self {
            alg,
            hashed: hashed.to_vec(),
            nonce: nonce.map(<[u8]>::to_vec),
            cert_req: true,
        })
    }

    pub fn parse(input: &[u8]) -> Result<Self, RequestError> {
        let bad = |_: DerError| RequestError::BadRequest;
        let req = der::parse_one(input)
            .and_then(|t| t.expect(der::SEQUENCE))
            .map_err(bad)?;
        let mut r = req.reader();
        if r.expect(der::INTEGER)
            .and_then(|v| v.small_unsigned())
            .map_err(bad)?
            != 1
        {
            return Err(RequestError::BadRequest);
        }
        let imprint = r.expect(der::SEQUENCE).map_err(bad)?;
        let mut i = imprint.reader();
        let alg_id = i.expect(der::SEQUENCE).map_err(bad)?;
        let alg_oid = alg_id.reader().expect(der::OID).map_err(bad)?;
        let hashed = i.expect(der::OCTET_STRING).map_err(bad)?.content;
        let alg = HashAlg::from_oid(alg_oid.content).ok_or(RequestError::BadAlg)?;
        if let Some(policy) = r.optional(der::OID).map_err(bad)? {
            if policy.content != POLICY {
                return Err(RequestError::UnacceptedPolicy);
            }
        }
        let nonce = r
            .optional(der::INTEGER)
            .map_err(bad)?
            .map(|n| n.content.to_vec());
        let cert_req = match r.optional(der::BOOLEAN).map_err(bad)? {
            Some(b) => b.content.first().is_some_and(|v| *v != 0),
            None => false,
        };
        if r.optional(0xA0).map_err(bad)?.is_some() {
            return Err(RequestError::UnacceptedExtension);
        }
        if !r.is_empty() {
            return Err(RequestError::BadRequest);
        }
        let mut made = Self::new(alg, hashed, None)?;
        made.nonce = nonce;
        made.cert_req = cert_req;
        Ok(made)
    }

    /// The request's DER (what a client sends).
    pub fn to_der(&self) -> Vec<u8> {
        let mut parts = vec![der::small_uint(1), self.imprint()];
        if let Some(n) = &self.nonce {
            parts.push(der::tlv(der::INTEGER, n));
        }
        if self.cert_req {
            parts.push(der::boolean(true));
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        der::seq(&refs)
    }

    fn imprint(&self) -> Vec<u8> {
        der::seq(&[
            &der::seq(&[&der::tlv(der::OID, self.alg.oid())]),
            &der::octets(&self.hashed),
        ])
    }
}

/// What signs for the authority.
pub type Authority<'a, E> = cms::Signer<'a, E>;

#[derive(Debug, thiserror::Error)]
pub enum IssueError<E> {
    #[error("the authority's certificate is malformed: {0}")]
    Certificate(DerError),
    #[error("signing failed: {0}")]
    Sign(E),
}

/// A token (ContentInfo) stamping `req` at `at` with serial number `serial`.
pub fn issue<E>(
    req: &Request,
    serial: &[u8],
    at: time::OffsetDateTime,
    tsa: &Authority<'_, E>,
) -> Result<Vec<u8>, IssueError<E>> {
    let mut parts = vec![
        der::small_uint(1),
        der::tlv(der::OID, POLICY),
        req.imprint(),
        der::uint(serial),
        der::generalized_time(at, true),
        // One second: the clock is the server's, kept by NTP.
        der::seq(&[&der::small_uint(1)]),
    ];
    if let Some(n) = &req.nonce {
        parts.push(der::tlv(der::INTEGER, n));
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let tst_info = der::seq(&refs);
    let content = Content {
        content_type: oid::TST_INFO,
        digest: sha2::Sha256::digest(&tst_info).into(),
        attached: Some(&tst_info),
    };
    let attrs =
        cms::signed_attributes(&content, tsa.certificate).map_err(IssueError::Certificate)?;
    let signature = (tsa.sign)(&attrs).map_err(IssueError::Sign)?;
    let chain: &[Vec<u8>] = if req.cert_req { tsa.chain } else { &[] };
    cms::assemble(
        &content,
        tsa.certificate,
        chain,
        &attrs,
        &signature,
        &[],
        req.cert_req,
    )
    .map_err(IssueError::Certificate)
}

/// `TimeStampResp` granting `token`.
pub fn granted(token: &[u8]) -> Vec<u8> {
    der::seq(&[&der::seq(&[&der::small_uint(0)]), token])
}

/// `TimeStampResp` rejecting a request, with the reason's failure bit and text.
pub fn rejected(e: RequestError) -> Vec<u8> {
    let bit = e.bit();
    let bytes = usize::from(bit / 8) + 1;
    let mut bits = vec![0u8; bytes];
    if let Some(b) = bits.get_mut(usize::from(bit / 8)) {
        *b = 0x80 >> (bit % 8);
    }
    let unused = 7 - (bit % 8);
    let mut content = vec![unused];
    content.extend_from_slice(&bits);
    der::seq(&[&der::seq(&[
        &der::small_uint(2),
        &der::seq(&[&der::tlv(der::UTF8_STRING, e.to_string().as_bytes())]),
        &der::tlv(der::BIT_STRING, &content),
    ])])
}

/// The token of a granted response.
pub fn token_of(response: &[u8]) -> DerResult<&[u8]> {
    let resp = der::parse_one(response)?.expect(der::SEQUENCE)?;
    let mut r = resp.reader();
    let status = r
        .expect(der::SEQUENCE)?
        .reader()
        .expect(der::INTEGER)?
        .small_unsigned()?;
    if status > 1 {
        return Err(DerError::Malformed("the time-stamp was refused"));
    }
    Ok(r.expect(der::SEQUENCE)?.raw)
}

/// What a token's TSTInfo says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TstInfo {
    pub alg: HashAlg,
    pub hashed: Vec<u8>,
    pub serial: Vec<u8>,
    pub time: time::OffsetDateTime,
}

impl TstInfo {
    pub fn parse(input: &[u8]) -> DerResult<Self> {
        let info: Tlv<'_> = der::parse_one(input)?.expect(der::SEQUENCE)?;
        let mut r = info.reader();
        r.expect(der::INTEGER)?;
        r.expect(der::OID)?;
        let mut i = r.expect(der::SEQUENCE)?.reader();
        let alg = i.expect(der::SEQUENCE)?.reader().expect(der::OID)?;
        let alg = HashAlg::from_oid(alg.content).ok_or(DerError::Malformed("hash algorithm"))?;
        let hashed = i.expect(der::OCTET_STRING)?.content.to_vec();
        let serial = r.expect(der::INTEGER)?.content.to_vec();
        let time = der::read_time(&r.expect(der::GENERALIZED_TIME)?)?;
        Ok(Self {
            alg,
            hashed,
            serial,
            time,
        })
    }
}
