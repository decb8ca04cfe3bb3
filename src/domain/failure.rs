//! A classified failure of a request or a run: its class, a message that never shows
//! a credential, and a hint on what to do next.

use std::fmt;

use super::run::ErrorClass;
use crate::redact;

/// A classified failure of a request or a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub class: ErrorClass,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    pub fn new(class: ErrorClass, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            class,
            message: redact::global().redact(&message.into()).into_owned(),
            hint: redact::global().redact(&hint.into()).into_owned(),
        }
    }

    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorClass::Config, message, hint)
    }
}
