//! `${params.NAME}` placeholders in a blueprint's strings.
//!
//! The `params.` prefix keeps them apart from the environment references URLs already
//! take (`${VAR:-default}`, expanded later by `config::url`), and minijinja's `{{ }}`
//! in request bodies and message texts, rendered at run time; both pass through.

use std::ops::Range;

const OPEN: &str = "${params.";

/// One piece of a string with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'t> {
    Text(&'t str),
    /// `${params.name}`, with the byte range of `name` in the string.
    Param(&'t str, Range<usize>),
}

/// Splits `text` into literal text and placeholders, or returns the byte range of a
/// `${params.` that is never closed.
pub fn split(text: &str) -> Result<Vec<Piece<'_>>, Range<usize>> {
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find(OPEN) {
        let open = rest + found;
        let name_start = open + OPEN.len();
        let Some(close) = text[name_start..].find('}') else {
            return Err(open..text.len());
        };
        let name_end = name_start + close;
        if open > rest {
            pieces.push(Piece::Text(&text[rest..open]));
        }
        pieces.push(Piece::Param(
            text[name_start..name_end].trim(),
            name_start..name_end,
        ));
        rest = name_end + 1;
    }
    if rest < text.len() {
        pieces.push(Piece::Text(&text[rest..]));
    }
    Ok(pieces)
}

/// Whether the string may hold placeholders at all; most strings do not.
pub fn has_placeholder(text: &str) -> bool {
    text.contains(OPEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_text_and_params() {
        assert_eq!(
            split("${params.site}/rest/${params. version }").unwrap(),
            vec![
                Piece::Param("site", 9..13),
                Piece::Text("/rest/"),
                Piece::Param("version", 29..38),
            ]
        );
        assert_eq!(split("plain").unwrap(), vec![Piece::Text("plain")]);
        assert_eq!(
            split("${HOST:-x}/${params.p}").unwrap(),
            vec![Piece::Text("${HOST:-x}/"), Piece::Param("p", 20..21)]
        );
        assert_eq!(split("a ${params.b").unwrap_err(), 2..12);
    }

    proptest! {
        #[test]
        fn never_panics_and_pieces_come_from_the_input(text in ".{0,64}") {
            if let Ok(pieces) = split(&text) {
                for piece in pieces {
                    match piece {
                        Piece::Text(part) => prop_assert!(text.contains(part)),
                        Piece::Param(name, range) => prop_assert!(text[range].contains(name)),
                    }
                }
            }
        }
    }
}
