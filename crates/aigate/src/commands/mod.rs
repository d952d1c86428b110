//! One module per command.

pub mod approve;
pub mod audit;
pub mod check;
pub mod custody;
pub mod db;
pub mod deps;
pub mod diff;
pub mod fetch;
pub mod init;
pub mod lock;
pub mod manual;
pub mod policy;
pub mod rollback;
pub mod sbom;
pub mod scan;
pub mod sign;
pub mod trust;
pub mod verify;
