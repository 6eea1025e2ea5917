//! PAdES baseline signatures (ETSI EN 319 142-1, B-T level): a CAdES detached CMS over the
//! PDF's byte ranges, with the signing certificate bound and a time-stamp over the signature;
//! and checking every signature of anyone's PDF.

use sha2::Digest;
use sohoa_pdf::{FoundSignature, Signable, SignatureError};

use crate::cms::{self, Content, Signer};
use crate::der;
use crate::oid;
use crate::verify::{self, Check, Trust};

#[derive(Debug, thiserror::Error)]
pub enum PadesError<E> {
    #[error("a certificate is malformed: {0}")]
    Certificate(der::DerError),
    #[error("signing failed: {0}")]
    Sign(E),
    #[error("time-stamping failed: {0}")]
    Stamp(E),
    #[error(transparent)]
    Embed(#[from] sohoa_pdf::EmbedError),
}

/// Signs `doc` with `signer`; `stamp` turns the signature value into an RFC 3161 token (the
/// `TimeStampToken`, a ContentInfo) from a time-stamping authority.
pub fn sign<E>(
    doc: Signable,
    signer: &Signer<'_, E>,
    stamp: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, PadesError<E>> {
    let mut digest = sha2::Sha256::new();
    for part in doc.signed_parts() {
        digest.update(part);
    }
    let content = Content {
        content_type: oid::DATA,
        digest: digest.finalize().into(),
        attached: None,
    };
    let attrs =
        cms::signed_attributes(&content, signer.certificate).map_err(PadesError::Certificate)?;
    let signature = (signer.sign)(&attrs).map_err(PadesError::Sign)?;
    let token = stamp(&signature).map_err(PadesError::Stamp)?;
    let unsigned = cms::attribute(oid::TIME_STAMP_TOKEN, &token);
    let cms = cms::assemble(
        &content,
        signer.certificate,
        signer.chain,
        &attrs,
        &signature,
        &[unsigned],
        true,
    )
    .map_err(PadesError::Certificate)?;
    Ok(doc.embed(&cms)?)
}

/// One signature of a PDF, checked.
#[derive(Debug, Clone)]
pub struct PdfSignature {
    pub found: FoundSignature,
    pub check: Check,
}

impl PdfSignature {
    /// Valid, and nothing was added to the file after it.
    pub fn valid(&self) -> bool {
        self.check.valid() && self.found.covers_whole_file
    }
}

/// Every signature of `pdf`, each checked against `trust` at `now`.
pub fn verify(
    pdf: &[u8],
    trust: &Trust,
    now: time::OffsetDateTime,
) -> Result<Vec<PdfSignature>, SignatureError> {
    Ok(sohoa_pdf::signatures(pdf)?
        .into_iter()
        .map(|found| {
            let check = verify::check(&found.contents, &found.signed_parts(pdf), trust, now);
            PdfSignature { found, check }
        })
        .collect())
}
