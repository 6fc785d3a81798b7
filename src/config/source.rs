//! Reading variables: typed getters that never stop at the first bad value. Each failure is
//! recorded (the variable and why) and a default returned, so startup can report every bad
//! variable at once.

use std::{cell::RefCell, fmt, str::FromStr};

/// A setting that could not be accepted. Displays as one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.variable, self.reason
        )
    }
}

/// Every setting that could not be accepted, in the order they were read; one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The variables named, in order.
    pub fn variables(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.variable).collect()
    }

    /// The first error (there is always one).
    pub fn first(&self) -> &ConfigError {
        &self.0[0]
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Variables read through a lookup function, so tests can pass a map instead of mutating
/// the process environment.
pub struct Source<F: Fn(&str) -> Option<String>> {
    lookup: F,
    errors: RefCell<Vec<ConfigError>>,
}

impl<F: Fn(&str) -> Option<String>> Source<F> {
    pub fn new(lookup: F) -> Self {
        Self {
            lookup,
            errors: RefCell::default(),
        }
    }

    /// Records that `variable` cannot be accepted.
    pub fn fail(&self, variable: &'static str, reason: impl Into<String>) {
        self.errors.borrow_mut().push(ConfigError {
            variable,
            reason: reason.into(),
        });
    }

    /// The errors recorded, if any.
    pub fn finish(self) -> Result<(), ConfigErrors> {
        let errors = self.errors.into_inner();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// The trimmed value, with empty strings treated as unset.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, name: &'static str, default: &str) -> String {
        self.raw(name).unwrap_or_else(|| default.to_owned())
    }

    /// A number within `min..=max`, or the default when unset (or invalid, recorded).
    pub fn number<T>(&self, name: &'static str, default: T, min: T, max: T) -> T
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(raw) = self.raw(name) else {
            return default;
        };
        match raw.parse::<T>() {
            Ok(value) if value >= min && value <= max => value,
            _ => {
                self.fail(
                    name,
                    format!("expected a whole number from {min} to {max}, got {raw:?}"),
                );
                default
            }
        }
    }

    pub fn boolean(&self, name: &'static str, default: bool) -> bool {
        match self.raw(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(other) => {
                self.fail(name, format!("expected true or false, got {other:?}"));
                default
            }
        }
    }

    pub fn choice<T: Copy>(&self, name: &'static str, default: T, options: &[(&str, T)]) -> T {
        let Some(raw) = self.raw(name) else {
            return default;
        };
        let wanted = raw.to_ascii_lowercase();
        match options.iter().find(|(label, _)| *label == wanted) {
            Some((_, value)) => *value,
            None => {
                let labels: Vec<&str> = options.iter().map(|(label, _)| *label).collect();
                self.fail(
                    name,
                    format!("expected one of {}, got {raw:?}", labels.join(", ")),
                );
                default
            }
        }
    }
}
