//! Paying fees on the rails Vietnamese residents use: VNPay's card and banking gateway,
//! VietQR transfers from any banking app, and the bank statements that settle those
//! transfers.

pub mod statement;
pub mod vietqr;
pub mod vnpay;
