//! The `Link` response header (RFC 8288): `<https://api/x?page=2>; rel="next", ...`.
//! A target may hold commas (`?fields=id,name`, as GitHub sends) and a parameter may be
//! quoted, so the header is read character by character, not split on commas.

/// The target of the first link whose `rel` includes `rel` (relation types are
/// case-insensitive and a `rel` may list several: `rel="next last"`).
pub fn target(header: &str, rel: &str) -> Option<String> {
    parse(header)
        .into_iter()
        .find(|link| link.rels.iter().any(|r| r.eq_ignore_ascii_case(rel)))
        .map(|link| link.target)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub target: String,
    pub rels: Vec<String>,
}

/// Every well-formed link of `header`; a malformed one ends the reading, keeping
/// the links before it.
pub fn parse(header: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(inner) = rest.strip_prefix('<') else {
            return links;
        };
        let Some((target, after)) = inner.split_once('>') else {
            return links;
        };
        let mut link = Link {
            target: target.trim().to_owned(),
            rels: Vec::new(),
        };
        rest = after;
        // Parameters: `; key=value` or `; key="quoted, value"`, until a comma.
        while let Some(param) = rest.trim_start().strip_prefix(';') {
            let param = param.trim_start();
            let key_end = param.find(['=', ';', ',']).unwrap_or(param.len());
            let key = param[..key_end].trim();
            rest = &param[key_end..];
            let value = match rest.strip_prefix('=') {
                Some(value) => {
                    let (value, after) = param_value(value.trim_start());
                    rest = after;
                    value
                }
                None => String::new(),
            };
            if key.eq_ignore_ascii_case("rel") {
                link.rels
                    .extend(value.split_whitespace().map(str::to_owned));
            }
        }
        links.push(link);
    }
}

/// A quoted string (with `\` escapes) or a token, and what follows it.
fn param_value(text: &str) -> (String, &str) {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find([';', ',']).unwrap_or(text.len());
        return (text[..end].trim().to_owned(), &text[end..]);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    (value, "")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn targets_with_commas_and_several_rels() {
        let header = r#"<https://api.example.com/items?page=2&fields=id,name>; rel="next", <https://api.example.com/items?page=9&fields=id,name>; rel="last""#;
        assert_eq!(
            target(header, "next").as_deref(),
            Some("https://api.example.com/items?page=2&fields=id,name")
        );
        assert_eq!(
            target(header, "last").as_deref(),
            Some("https://api.example.com/items?page=9&fields=id,name")
        );
        let several = r#"<https://x/a>; title="a, b; c"; rel="prev first", </b?x=1,2>;rel=next"#;
        assert_eq!(target(several, "NEXT").as_deref(), Some("/b?x=1,2"));
        assert_eq!(target(several, "first").as_deref(), Some("https://x/a"));
        assert_eq!(target("garbage", "next"), None);
    }

    proptest! {
        #[test]
        fn any_header_is_read_without_panicking(header in ".{0,200}") {
            let _ = parse(&header);
        }

        #[test]
        fn written_links_are_read_back(
            links in proptest::collection::vec(
                ("[a-z0-9:/?&=,.;_-]{1,40}", "[a-z]{1,8}", "[a-z ,;]{0,12}"),
                1..5,
            )
        ) {
            let header = links
                .iter()
                .map(|(target, rel, title)| format!("<{target}>; title=\"{title}\"; rel=\"{rel}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let read = parse(&header);
            prop_assert_eq!(read.len(), links.len());
            for (link, (target, rel, _)) in read.iter().zip(&links) {
                prop_assert_eq!(&link.target, target);
                prop_assert_eq!(&link.rels, &vec![rel.clone()]);
            }
        }
    }
}
