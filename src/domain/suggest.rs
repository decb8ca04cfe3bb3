//! "Did you mean ...?": the closest known name to a mistyped one.

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo
/// or a shortened name. A whole word of a longer name counts most (`failures` →
/// `consecutive_failures`, `cursor` → `cursor_field`), then a prefix (`consec`), then
/// spelling (Jaro-Winkler: `tiemout` → `timeout`).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (likeness(word, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

fn likeness(word: &str, candidate: &str) -> f64 {
    let word = word.to_ascii_lowercase();
    let candidate = candidate.to_ascii_lowercase();
    let spelling = strsim::jaro_winkler(&word, &candidate);
    let mut words = candidate.split(['_', '-', '.']);
    let shape = if word.len() >= 3 && words.any(|part| part == word) {
        0.97
    } else if word.len() >= 3 && candidate.starts_with(&word) {
        0.95
    } else {
        0.0
    };
    spelling.max(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_only_for_near_misses() {
        let keys = ["timeout", "timezone", "retry"];
        assert_eq!(did_you_mean("tiemout", keys), Some("timeout"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }

    #[test]
    fn a_whole_word_of_a_longer_name_beats_a_similar_spelling() {
        let signals = [
            "consecutive_failures",
            "failure_rate",
            "no_success_for",
            "health",
        ];
        assert_eq!(
            did_you_mean("failures", signals),
            Some("consecutive_failures")
        );
        assert_eq!(
            did_you_mean("consec", signals),
            Some("consecutive_failures")
        );
        let keys = ["cursor_field", "param", "start", "order"];
        assert_eq!(did_you_mean("cursor", keys), Some("cursor_field"));
    }
}
