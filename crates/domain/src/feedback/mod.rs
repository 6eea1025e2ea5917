//! Feedback: residents' reports and suggestions (Open311 GeoReport v2), where they are, who
//! answers them, and how well the city's agencies answer reports and applications.

pub mod catalog;
pub mod evaluation;
pub mod geo;
pub mod report;
