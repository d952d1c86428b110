//! One module per command.

pub mod approve;
pub mod fetch;
pub mod lock;
pub mod scan;
pub mod sign;
pub mod trust;
pub mod verify;
