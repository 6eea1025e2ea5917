//! Warnings and announcements to citizens (OASIS CAP 1.2): the message, its areas, and the
//! rules a message meets before it is issued. An issued message is never edited; a change
//! is a new message that references it.

pub mod area;
pub mod cap;
pub mod review;
