//! [`Violation`]: one broken rule of a request, naming its JSON path, the problem and the fix.
//! Plain data at the bottom of `comet/`: the request checks (`validate`), the id rules (`ids`,
//! which `validate` uses) and the errors (`error`) all report problems with it, and no circle.

use std::fmt;

use serde::Serialize;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON path of the field, e.g. `image_list[1].type`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What to change.
    pub fix: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {} ({})", self.field, self.problem, self.fix)
    }
}
