//! VNPay's payment gateway, version 2.1.0: the payment URL the applicant is sent to, and
//! the checks of what comes back (the browser's return and the gateway's IPN), both signed
//! the same way: HMAC-SHA512 under the merchant's secret over every `vnp_` parameter but
//! the hash itself, sorted by name and joined as `key=value&...` with the values
//! URL-encoded as the merchant samples do (PHP's `urlencode`: a space is `+`).

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha512;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::Money;

const HASH: &str = "vnp_SecureHash";
const HASH_TYPE: &str = "vnp_SecureHashType";

/// A merchant's account with the gateway.
#[derive(Clone)]
pub struct Merchant {
    /// `vnp_TmnCode`.
    pub tmn_code: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("tmn_code", &self.tmn_code)
            .finish_non_exhaustive()
    }
}

/// One payment attempt as the gateway is asked to take it.
#[derive(Debug, Clone)]
pub struct Order<'a> {
    /// `vnp_TxnRef`: unique per attempt (our payment id).
    pub txn_ref: &'a str,
    pub amount: Money,
    /// What the applicant sees on the gateway's page.
    pub info: &'a str,
    pub locale_vi: bool,
    pub return_url: &'a str,
    pub client_ip: &'a str,
    pub created: OffsetDateTime,
}

/// Vietnam's clock (no daylight saving), in which the gateway reads its dates.
fn vietnam(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::from_whole_seconds(7 * 3600).unwrap_or(UtcOffset::UTC))
}

fn stamp(t: OffsetDateTime) -> String {
    let t = vietnam(t);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// How long the gateway keeps a payment page open.
pub const EXPIRY: Duration = Duration::minutes(15);

impl Merchant {
    /// The full payment URL on the gateway at `pay_url` (its `vpcpay.html`).
    pub fn payment_url(&self, pay_url: &str, o: &Order<'_>) -> String {
        let mut p = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            p.insert(k.to_owned(), v);
        };
        put("vnp_Version", "2.1.0".into());
        put("vnp_Command", "pay".into());
        put("vnp_TmnCode", self.tmn_code.clone());
        put(
            "vnp_Amount",
            (o.amount.dong().saturating_mul(100)).to_string(),
        );
        put("vnp_CurrCode", "VND".into());
        put("vnp_TxnRef", o.txn_ref.into());
        put("vnp_OrderInfo", o.info.into());
        // "Bill payment" in VNPay's category list; fees of public services are bills.
        put("vnp_OrderType", "250000".into());
        put("vnp_Locale", if o.locale_vi { "vn" } else { "en" }.into());
        put("vnp_ReturnUrl", o.return_url.into());
        put("vnp_IpAddr", o.client_ip.into());
        put("vnp_CreateDate", stamp(o.created));
        put("vnp_ExpireDate", stamp(o.created + EXPIRY));
        let data = hash_data(&p);
        let sep = if pay_url.contains('?') { '&' } else { '?' };
        format!("{pay_url}{sep}{data}&{HASH}={}", self.sign(&data))
    }

    /// The hash of `data` (the sorted, encoded parameters).
    pub fn sign(&self, data: &str) -> String {
        hex_mac(&self.secret, data.as_bytes())
    }

    /// Checks a return or an IPN: the parameters as received (decoded), the hash among
    /// them. Answers the `vnp_` parameters without the hash.
    pub fn verify(&self, query: &[(String, String)]) -> Result<BTreeMap<String, String>, Refusal> {
        let mut p = BTreeMap::new();
        let mut given = None;
        for (k, v) in query {
            if k == HASH {
                given = Some(v.clone());
            } else if k.starts_with("vnp_")
                && k != HASH_TYPE
                && p.insert(k.clone(), v.clone()).is_some()
            {
                // A parameter given twice could be read two ways: refuse it.
                return Err(Refusal::BadSignature);
            }
        }
        let given = given
            .and_then(|g| crate::hex_decode(&g))
            .ok_or(Refusal::BadSignature)?;
        let mut mac =
            Hmac::<Sha512>::new_from_slice(&self.secret).map_err(|_| Refusal::BadSignature)?;
        mac.update(hash_data(&p).as_bytes());
        mac.verify_slice(&given)
            .map_err(|_| Refusal::BadSignature)?;
        Ok(p)
    }
}

fn hex_mac(secret: &[u8], data: &[u8]) -> String {
    match Hmac::<Sha512>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(data);
            crate::hex_encode(&mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => String::new(),
    }
}

/// The signed text: sorted `key=value` pairs, values encoded like PHP's `urlencode`.
pub fn hash_data(p: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in p.iter().filter(|(_, v)| !v.is_empty()) {
        if !out.is_empty() {
            out.push('&');
        }
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

/// Why a return or an IPN is refused, as the IPN's `RspCode` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the signature does not match")]
    BadSignature,
    #[error("a required parameter is missing or malformed")]
    Malformed,
}

/// A checked notification of a payment's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub txn_ref: String,
    pub amount: Money,
    /// Whether the gateway took the money (`vnp_ResponseCode` and
    /// `vnp_TransactionStatus` both `00`).
    pub paid: bool,
    /// The gateway's own transaction number.
    pub transaction_no: String,
    pub response_code: String,
}

impl Outcome {
    /// Reads a verified return or IPN.
    pub fn read(p: &BTreeMap<String, String>) -> Result<Self, Refusal> {
        let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let cents: i64 = get("vnp_Amount")
            .and_then(|a| a.parse().ok())
            .ok_or(Refusal::Malformed)?;
        // Amounts are đồng × 100; đồng has no smaller unit.
        if cents % 100 != 0 {
            return Err(Refusal::Malformed);
        }
        let amount = Money::from_dong(cents / 100).map_err(|_| Refusal::Malformed)?;
        let response_code = get("vnp_ResponseCode")
            .ok_or(Refusal::Malformed)?
            .to_owned();
        let paid = response_code == "00" && get("vnp_TransactionStatus") == Some("00");
        Ok(Outcome {
            txn_ref: get("vnp_TxnRef").ok_or(Refusal::Malformed)?.to_owned(),
            amount,
            paid,
            transaction_no: get("vnp_TransactionNo").unwrap_or("0").to_owned(),
            response_code,
        })
    }
}

/// The IPN's answer codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RspCode {
    Confirmed,
    OrderNotFound,
    AlreadyConfirmed,
    InvalidAmount,
    InvalidSignature,
    Other,
}

impl RspCode {
    pub fn code(self) -> &'static str {
        match self {
            RspCode::Confirmed => "00",
            RspCode::OrderNotFound => "01",
            RspCode::AlreadyConfirmed => "02",
            RspCode::InvalidAmount => "04",
            RspCode::InvalidSignature => "97",
            RspCode::Other => "99",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            RspCode::Confirmed => "Confirm Success",
            RspCode::OrderNotFound => "Order not found",
            RspCode::AlreadyConfirmed => "Order already confirmed",
            RspCode::InvalidAmount => "Invalid amount",
            RspCode::InvalidSignature => "Invalid signature",
            RspCode::Other => "Unknown error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant() -> Merchant {
        Merchant {
            tmn_code: "SOHOA001".into(),
            secret: b"secret-of-the-merchant".to_vec(),
        }
    }

    fn pairs(url: &str) -> Vec<(String, String)> {
        let query = url.split_once('?').unwrap().1;
        query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), decode(v))
            })
            .collect()
    }

    fn decode(v: &str) -> String {
        let mut out = Vec::new();
        let b = v.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn hash_data_is_sorted_and_encoded_like_the_samples() {
        let mut p = BTreeMap::new();
        p.insert("vnp_OrderInfo".to_owned(), "Lệ phí HS123 *~".to_owned());
        p.insert("vnp_Amount".to_owned(), "2000000".to_owned());
        assert_eq!(
            hash_data(&p),
            "vnp_Amount=2000000&vnp_OrderInfo=L%E1%BB%87+ph%C3%AD+HS123+%2A%7E"
        );
    }

    #[test]
    fn a_payment_url_verifies_and_a_changed_one_does_not() {
        let m = merchant();
        let created = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let url = m.payment_url(
            "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
            &Order {
                txn_ref: "pay_0123",
                amount: Money::from_dong(20_000).unwrap(),
                info: "Lệ phí hồ sơ HS0123456789",
                locale_vi: true,
                return_url: "https://dvc.example/payments/vnpay/return",
                client_ip: "10.0.0.1",
                created,
            },
        );
        assert!(url.contains("vnp_Amount=2000000&"));
        // 2026-01-01T00:00:00Z is 07:00 in Hồ Chí Minh City; pages expire in 15 minutes.
        assert!(url.contains("vnp_CreateDate=20260101070000&"));
        assert!(url.contains("vnp_ExpireDate=20260101071500&"));
        let p = m.verify(&pairs(&url)).unwrap();
        assert_eq!(p["vnp_TxnRef"], "pay_0123");
        let tampered = url.replace("vnp_Amount=2000000", "vnp_Amount=200000");
        assert_eq!(m.verify(&pairs(&tampered)), Err(Refusal::BadSignature));
        let other = Merchant {
            secret: b"another".to_vec(),
            ..m.clone()
        };
        assert_eq!(other.verify(&pairs(&url)), Err(Refusal::BadSignature));
        let mut doubled = pairs(&url);
        doubled.push(("vnp_TxnRef".into(), "pay_9999".into()));
        assert_eq!(m.verify(&doubled), Err(Refusal::BadSignature));
        assert_eq!(m.verify(&[]), Err(Refusal::BadSignature));
    }

    #[test]
    fn outcomes_are_read_in_dong() {
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("vnp_Amount", "2000000"),
            ("vnp_TxnRef", "pay_1"),
            ("vnp_ResponseCode", "00"),
            ("vnp_TransactionStatus", "00"),
            ("vnp_TransactionNo", "14000001"),
        ] {
            p.insert(k.to_owned(), v.to_owned());
        }
        let o = Outcome::read(&p).unwrap();
        assert_eq!((o.amount.dong(), o.paid), (20_000, true));
        p.insert("vnp_ResponseCode".into(), "24".into());
        assert!(!Outcome::read(&p).unwrap().paid);
        p.insert("vnp_Amount".into(), "2000050".into());
        assert_eq!(Outcome::read(&p), Err(Refusal::Malformed));
        p.insert("vnp_Amount".into(), "-100".into());
        assert_eq!(Outcome::read(&p), Err(Refusal::Malformed));
    }
}
