//! Human durations in config: `"500ms"`, `"30s"`, `"1m"`, `"2h"`, `"7d"`.

use std::fmt;
use std::time::Duration;

/// A duration written as a human string in `connectors.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        humantime::parse_duration(text.trim())
            .map(Self)
            .map_err(|e| format!("`{text}` is not a duration ({e}); write it like \"500ms\", \"30s\", \"1m\", \"2h\" or \"7d\""))
    }

    pub fn as_std(self) -> Duration {
        self.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl From<HumanDuration> for Duration {
    fn from(d: HumanDuration) -> Self {
        d.0
    }
}

crate::config::deserialize_with_parse!(HumanDuration);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        for (text, expected) in [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("1m", Duration::from_secs(60)),
            ("2h", Duration::from_secs(7200)),
            ("7d", Duration::from_secs(7 * 86400)),
            ("1m 30s", Duration::from_secs(90)),
        ] {
            assert_eq!(
                HumanDuration::parse(text).unwrap().as_std(),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_nonsense_with_an_example() {
        let error = HumanDuration::parse("soon").unwrap_err();
        assert!(error.contains("\"30s\""), "{error}");
        assert!(HumanDuration::parse("30").is_err());
    }
}
