//! VietQR: NAPAS' profile of the EMVCo merchant-presented QR code, which every Vietnamese
//! banking app scans to pre-fill a transfer (bank, account, amount and the note that names
//! the application). The text is TLV (two-digit id, two-digit length, value) closed by a
//! CRC-16/CCITT-FALSE over everything before it, `6304` included.

use std::fmt;

use crate::Money;

/// NAPAS' application identifier in field 38.
const GUID: &str = "A000000727";
/// A transfer to an account (`QRIBFTTC` is to a card, which the city never receives on).
const SERVICE_TO_ACCOUNT: &str = "QRIBFTTA";
const SERVICE_TO_CARD: &str = "QRIBFTTC";

/// The longest transfer note banks carry through to the statement.
pub const NOTE_MAX: usize = 25;

/// What a VietQR code asks the payer's bank to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The beneficiary bank's six-digit BIN (acquirer id).
    pub bin: String,
    /// The beneficiary's account (or card) number.
    pub account: String,
    /// `None` makes a static code, where the payer types the amount.
    pub amount: Option<Money>,
    /// The transfer note (field 62, purpose 08): the application's number.
    pub note: Option<String>,
    /// A transfer to a card rather than an account.
    pub to_card: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VietQrError {
    #[error("the code is not a sequence of two-digit ids and lengths")]
    Malformed,
    #[error("the CRC does not match: the code was damaged or altered")]
    BadCrc,
    #[error("the code is not a VietQR transfer (payload format, NAPAS id, currency or country)")]
    NotVietQr,
    #[error("the bank BIN must be 6 digits and the account 1 to 19 digits or letters")]
    BadBeneficiary,
    #[error("the amount must be a whole number of đồng above zero")]
    BadAmount,
    #[error("the note must be 1 to 25 plain ASCII characters")]
    BadNote,
}

impl Payload {
    /// Checks what a code may carry: banks refuse anything else.
    pub fn new(
        bin: &str,
        account: &str,
        amount: Option<Money>,
        note: Option<&str>,
    ) -> Result<Self, VietQrError> {
        let p = Payload {
            bin: bin.to_owned(),
            account: account.to_owned(),
            amount,
            note: note.map(str::to_owned),
            to_card: false,
        };
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<(), VietQrError> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let account_ok = (1..=19).contains(&self.account.len())
            && self.account.bytes().all(|b| b.is_ascii_alphanumeric());
        if self.bin.len() != 6 || !digits(&self.bin) || !account_ok {
            return Err(VietQrError::BadBeneficiary);
        }
        if self.amount.is_some_and(|a| a == Money::ZERO) {
            return Err(VietQrError::BadAmount);
        }
        if let Some(n) = &self.note {
            let plain = n.bytes().all(|b| (b' '..=b'~').contains(&b));
            if n.is_empty() || n.len() > NOTE_MAX || !plain {
                return Err(VietQrError::BadNote);
            }
        }
        Ok(())
    }

    /// The text to draw as a QR code.
    pub fn encode(&self) -> String {
        let beneficiary = tlv("00", &self.bin) + &tlv("01", &self.account);
        let service = if self.to_card {
            SERVICE_TO_CARD
        } else {
            SERVICE_TO_ACCOUNT
        };
        let merchant = tlv("00", GUID) + &tlv("01", &beneficiary) + &tlv("02", service);
        let mut out = tlv("00", "01");
        out += &tlv("01", if self.amount.is_some() { "12" } else { "11" });
        out += &tlv("38", &merchant);
        out += &tlv("53", "704");
        if let Some(a) = self.amount {
            out += &tlv("54", &a.dong().to_string());
        }
        out += &tlv("58", "VN");
        if let Some(n) = &self.note {
            out += &tlv("62", &tlv("08", n));
        }
        out += "6304";
        let crc = crc16_ccitt_false(out.as_bytes());
        out + &format!("{crc:04X}")
    }

    /// Reads a scanned code: the CRC first (a damaged code says nothing else reliably),
    /// then the fields a transfer needs.
    pub fn parse(text: &str) -> Result<Self, VietQrError> {
        let body = text
            .len()
            .checked_sub(4)
            .and_then(|n| text.get(..n))
            .filter(|b| b.ends_with("6304"))
            .ok_or(VietQrError::Malformed)?;
        let crc_text = &text[body.len()..];
        let given = u16::from_str_radix(crc_text, 16)
            .ok()
            .filter(|_| crc_text.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or(VietQrError::BadCrc)?;
        if given != crc16_ccitt_false(body.as_bytes()) {
            return Err(VietQrError::BadCrc);
        }
        let root = fields(&body[..body.len() - 4])?;
        let get = |id: &str| root.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
        if get("00") != Some("01") || get("53") != Some("704") || get("58") != Some("VN") {
            return Err(VietQrError::NotVietQr);
        }
        let merchant = fields(get("38").ok_or(VietQrError::NotVietQr)?)?;
        let m = |id: &str| merchant.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
        let to_card = match (m("00"), m("02")) {
            (Some(GUID), Some(SERVICE_TO_ACCOUNT)) => false,
            (Some(GUID), Some(SERVICE_TO_CARD)) => true,
            _ => return Err(VietQrError::NotVietQr),
        };
        let beneficiary = fields(m("01").ok_or(VietQrError::BadBeneficiary)?)?;
        let b = |id: &str| beneficiary.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
        let amount = match get("54") {
            None => None,
            Some(a) if !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) => Some(
                a.parse::<i64>()
                    .ok()
                    .and_then(|d| Money::from_dong(d).ok())
                    .ok_or(VietQrError::BadAmount)?,
            ),
            Some(_) => return Err(VietQrError::BadAmount),
        };
        let note = match get("62") {
            None => None,
            Some(extra) => fields(extra)?
                .into_iter()
                .find(|(k, _)| *k == "08")
                .map(|(_, v)| v.to_owned()),
        };
        let p = Payload {
            bin: b("00").ok_or(VietQrError::BadBeneficiary)?.to_owned(),
            account: b("01").ok_or(VietQrError::BadBeneficiary)?.to_owned(),
            amount,
            note,
            to_card,
        };
        p.check()?;
        Ok(p)
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

fn tlv(id: &str, value: &str) -> String {
    // Every value this module writes is checked ASCII under 100 bytes.
    format!("{id}{:02}{value}", value.len())
}

/// The TLV fields of `s`, in order; anything that is not exactly such fields is malformed.
fn fields(mut s: &str) -> Result<Vec<(&str, &str)>, VietQrError> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let head = s.get(..4).ok_or(VietQrError::Malformed)?;
        if !head.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VietQrError::Malformed);
        }
        let len: usize = head[2..].parse().map_err(|_| VietQrError::Malformed)?;
        let value = s.get(4..4 + len).ok_or(VietQrError::Malformed)?;
        out.push((&head[..2], value));
        s = &s[4 + len..];
    }
    Ok(out)
}

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NAPAS' public example (STANDARDS.md).
    const VECTOR: &str = "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN62170813ung ho lu lut6304C15C";

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
    }

    #[test]
    fn encodes_the_public_test_vector() {
        let p = Payload::new(
            "970415",
            "0011001932418",
            Some(Money::from_dong(120_000).unwrap()),
            Some("ung ho lu lut"),
        )
        .unwrap();
        assert_eq!(p.encode(), VECTOR);
        assert_eq!(Payload::parse(VECTOR).unwrap(), p);
    }

    #[test]
    fn a_static_code_has_no_amount() {
        let p = Payload::new("970436", "1234567890", None, None).unwrap();
        let text = p.encode();
        assert!(text.starts_with("000201010211"));
        assert_eq!(Payload::parse(&text).unwrap(), p);
    }

    #[test]
    fn refuses_damage_and_foreign_codes() {
        let mut damaged = VECTOR.to_owned();
        damaged.replace_range(60..61, "9");
        assert_eq!(Payload::parse(&damaged), Err(VietQrError::BadCrc));
        assert_eq!(
            Payload::parse(&VECTOR.replace("C15C", "C15D")),
            Err(VietQrError::BadCrc)
        );
        assert_eq!(Payload::parse("6304"), Err(VietQrError::Malformed));
        assert_eq!(Payload::parse(""), Err(VietQrError::Malformed));
        assert_eq!(Payload::parse("ỹỹỹỹ6304"), Err(VietQrError::Malformed));
        // A well-formed EMV code of another scheme, correctly checksummed.
        let mut other = tlv("00", "01") + &tlv("53", "840") + &tlv("58", "US") + "6304";
        other += &format!("{:04X}", crc16_ccitt_false(other.as_bytes()));
        assert_eq!(Payload::parse(&other), Err(VietQrError::NotVietQr));
    }

    #[test]
    fn refuses_what_banks_refuse() {
        let amount = Some(Money::from_dong(1).unwrap());
        assert_eq!(
            Payload::new("97041", "1", amount, None),
            Err(VietQrError::BadBeneficiary)
        );
        assert_eq!(
            Payload::new("970415", "", amount, None),
            Err(VietQrError::BadBeneficiary)
        );
        assert_eq!(
            Payload::new("970415", "1", Some(Money::ZERO), None),
            Err(VietQrError::BadAmount)
        );
        assert_eq!(
            Payload::new("970415", "1", amount, Some("lệ phí")),
            Err(VietQrError::BadNote)
        );
        assert_eq!(
            Payload::new("970415", "1", amount, Some(&"x".repeat(26))),
            Err(VietQrError::BadNote)
        );
    }

    #[test]
    fn every_input_is_answered_without_panic() {
        for s in [
            "63041234",
            "00026304FFFF",
            "0099ab6304ABCD",
            "0002016304ZZZZ",
        ] {
            let _ = Payload::parse(s);
        }
    }
}
