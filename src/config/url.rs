//! URLs in config, with `${VAR}` and `${VAR:-default}` taken from the environment when
//! the config loads, so one variable can point a whole config at another server.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct ConfigUrl(reqwest::Url);

impl ConfigUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let expanded = expand_env(text)?;
        reqwest::Url::parse(&expanded)
            .map(Self)
            .map_err(|e| format!("`{expanded}` is not a URL ({e}); write it like \"https://api.example.com/v1/orders\""))
    }

    pub fn url(&self) -> &reqwest::Url {
        &self.0
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or("the server")
    }
}

impl fmt::Debug for ConfigUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for ConfigUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

crate::config::deserialize_with_parse!(ConfigUrl);

/// Replaces `${VAR}` and `${VAR:-default}`; an unset variable without a default is an error.
pub fn expand_env(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`{text}` has an unclosed `${{`"))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        match (std::env::var(name), default) {
            (Ok(value), _) if !value.is_empty() => out.push_str(&value),
            (_, Some(default)) => out.push_str(default),
            _ => {
                return Err(format!(
                    "environment variable {name} is not set; export it, or give a default: ${{{name}:-...}}"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_variables_with_defaults() {
        assert_eq!(expand_env("http://x/a").unwrap(), "http://x/a");
        assert_eq!(
            expand_env("${PATCHBAY_TEST_SURELY_UNSET:-http://127.0.0.1:8080}/api").unwrap(),
            "http://127.0.0.1:8080/api"
        );
        let error = expand_env("${PATCHBAY_TEST_SURELY_UNSET}/api").unwrap_err();
        assert!(
            error.contains("PATCHBAY_TEST_SURELY_UNSET is not set"),
            "{error}"
        );
        assert!(expand_env("${OOPS").is_err());
        assert!(ConfigUrl::parse("not a url").is_err());
    }
}
