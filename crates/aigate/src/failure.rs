//! Errors that end a command, with their hints as data: one classification for every command,
//! so that every error exits 2 and says what to do when aigate knows.

use std::fmt;

/// An error the binary itself raises, with an optional hint.
#[derive(Debug)]
pub struct Failure {
    message: String,
    hint: Option<String>,
}

impl Failure {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
        }
    }

    /// The same error with a hint.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// With this hint, when there is one (library errors say what to do only sometimes).
    pub fn maybe_hint(mut self, hint: Option<&str>) -> Self {
        if let Some(hint) = hint {
            self.hint = Some(hint.to_owned());
        }
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The hint of the innermost error in the chain that has one: the binary's own [`Failure`], or
/// a library error that carries hints.
pub fn hint_of(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|e| {
        if let Some(f) = e.downcast_ref::<Failure>() {
            return f.hint.clone();
        }
        if let Some(e) = e.downcast_ref::<aigate_integrity::lock::LockError>() {
            return e.hint().map(str::to_owned);
        }
        if let Some(e) = e.downcast_ref::<aigate_integrity::PinError>() {
            return e.hint().map(str::to_owned);
        }
        if let Some(e) = e.downcast_ref::<aigate_policy::PolicyError>() {
            return e.hint().map(str::to_owned);
        }
        if let Some(e) = e.downcast_ref::<aigate_fetch::FetchError>() {
            return e.hint();
        }
        None
    })
}

/// Bails out of a command with a [`Failure`].
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::failure::Failure::new(format!($($arg)*)).into())
    };
}

pub(crate) use fail;
