//! minijinja templates in config (message texts, request bodies), compiled when the
//! config loads so a syntax error is a located config error.

use std::fmt;

#[derive(Clone)]
pub struct Template {
    source: String,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut env = minijinja::Environment::new();
        env.add_template("check", text)
            .map_err(|e| format!("template error: {e}"))?;
        Ok(Self {
            source: text.to_owned(),
        })
    }

    pub fn render(&self, context: minijinja::Value) -> Result<String, String> {
        minijinja::Environment::new()
            .render_str(&self.source, context)
            .map_err(|e| format!("template error: {e}"))
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Template({:?})", self.source)
    }
}

crate::config::deserialize_with_parse!(Template);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_at_load_and_renders() {
        let template = Template::parse("{{ records | length }} new from {{ source }}").unwrap();
        let text = template
            .render(minijinja::context! { records => vec![1, 2], source => "crm" })
            .unwrap();
        assert_eq!(text, "2 new from crm");
        assert!(Template::parse("{{ unclosed").is_err());
    }
}
