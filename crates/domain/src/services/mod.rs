//! Online public services: the working-day calendar, the procedure catalog, and the life
//! of an application.

pub mod application;
pub mod calendar;
pub mod channel;
pub mod procedure;
pub mod workflow;
