//! The comparison operators that both small languages share: the pipeline's filters
//! (`keep_if`, `drop_if`) and check conditions. One spelling, one meaning in both.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Matches,
}

impl CompareOp {
    /// Every spelling, two-character symbols before one-character ones so that a
    /// prefix match reads `<=` and not `<`.
    pub const SPELLINGS: [(&'static str, CompareOp); 8] = [
        ("==", CompareOp::Eq),
        ("!=", CompareOp::Ne),
        ("<=", CompareOp::Le),
        (">=", CompareOp::Ge),
        ("<", CompareOp::Lt),
        (">", CompareOp::Gt),
        ("contains", CompareOp::Contains),
        ("matches", CompareOp::Matches),
    ];

    pub fn from_spelling(text: &str) -> Option<Self> {
        Self::SPELLINGS
            .iter()
            .find(|(spelling, _)| *spelling == text)
            .map(|(_, op)| *op)
    }

    /// How it is written.
    pub fn spelling(self) -> &'static str {
        Self::SPELLINGS
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(spelling, _)| spelling)
    }

    /// The operator with its sides swapped (`5 < x` is `x > 5`); `None` for
    /// `contains` and `matches`, which are not symmetric.
    pub fn mirrored(self) -> Option<Self> {
        match self {
            Self::Eq | Self::Ne => Some(self),
            Self::Lt => Some(Self::Gt),
            Self::Le => Some(Self::Ge),
            Self::Gt => Some(Self::Lt),
            Self::Ge => Some(Self::Le),
            Self::Contains | Self::Matches => None,
        }
    }

    /// Whether two values that compare as `ordering` (`None`: not comparable) satisfy
    /// this operator. `contains` and `matches` are not about order: always false.
    pub fn accepts(self, ordering: Option<Ordering>) -> bool {
        match self {
            Self::Eq => ordering == Some(Ordering::Equal),
            Self::Ne => ordering != Some(Ordering::Equal),
            Self::Lt => ordering.is_some_and(Ordering::is_lt),
            Self::Le => ordering.is_some_and(Ordering::is_le),
            Self::Gt => ordering.is_some_and(Ordering::is_gt),
            Self::Ge => ordering.is_some_and(Ordering::is_ge),
            Self::Contains | Self::Matches => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_orderings_decide() {
        for (spelling, op) in CompareOp::SPELLINGS {
            assert_eq!(CompareOp::from_spelling(spelling), Some(op));
        }
        assert_eq!(CompareOp::from_spelling("=<"), None);
        assert!(CompareOp::Le.accepts(Some(Ordering::Equal)));
        assert!(
            !CompareOp::Gt.accepts(None),
            "incomparable values never order"
        );
        assert!(
            CompareOp::Ne.accepts(None),
            "incomparable values are not equal"
        );
    }
}
