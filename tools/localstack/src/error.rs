//! The one error type: a sentence saying what could not be done, with the cause and, when a
//! process failed, the end of its log.

use std::fmt;

/// What went wrong, for a person: callers print it and stop.
#[derive(Debug)]
pub struct Error {
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The same error with what the caller was doing in front of it.
    pub fn context(self, doing: impl fmt::Display) -> Self {
        Self::new(format!("{doing}: {}", self.message))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::new(e.to_string())
    }
}
