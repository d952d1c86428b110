//! Helpers shared by integration tests.

pub(crate) mod cyclonedx;
pub(crate) mod https;
