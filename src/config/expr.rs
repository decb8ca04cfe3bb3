//! The small expression language of `drop_if` / `keep_if`:
//!
//! ```text
//! status == "refunded"
//! amount_cents >= 1000 and not (customer.country == "NL" or tags contains "test")
//! email matches "@example\.(com|org)$"
//! deleted_at exists
//! ```
//!
//! Fields are paths into the record (`customer.country`, `items[0].sku`, the path
//! model all three languages share: `lang.rs`); literals are JSON strings, numbers,
//! `true`, `false` and `null`. Parsed when the config loads, so mistakes are located
//! errors.

use std::fmt;

use regex::Regex;
use serde_json::Value;

use super::lang::{lookup, parse_path};
use crate::compare::CompareOp as Op;

#[derive(Clone)]
pub struct Expr {
    source: String,
    node: Node,
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Exists(Vec<String>),
    Compare(Vec<String>, Op, Literal),
}

#[derive(Debug, Clone)]
enum Literal {
    Json(Value),
    Regex(Regex),
}

impl Expr {
    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, next: 0 };
        let node = parser.or()?;
        if let Some(extra) = parser.tokens.get(parser.next) {
            return Err(format!("unexpected `{extra}` in `{text}`"));
        }
        Ok(Self {
            source: text.to_owned(),
            node,
        })
    }

    /// Whether `record` satisfies the expression; `Err` when a comparison makes no
    /// sense for the record's value (a string compared with `<` to a number).
    pub fn eval(&self, record: &Value) -> Result<bool, String> {
        eval(&self.node, record)
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expr({})", self.source)
    }
}

crate::config::deserialize_with_parse!(Expr);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(String),
    Sym(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(w) | Self::Num(w) => f.write_str(w),
            Self::Str(s) => write!(f, "\"{s}\""),
            Self::Sym(s) => f.write_str(s),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unclosed string in `{text}`")),
                    Some('"') => break,
                    Some('\\') => {
                        value.push(
                            *chars
                                .get(i + 1)
                                .ok_or_else(|| format!("dangling `\\` in `{text}`"))?,
                        );
                        i += 2;
                    }
                    Some(ch) => {
                        value.push(*ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            tokens.push(Token::Str(value));
        } else if let Some(sym) = ["==", "!=", "<=", ">=", "<", ">", "(", ")"]
            .into_iter()
            .find(|s| text[char_offset(&chars, i)..].starts_with(s))
        {
            tokens.push(Token::Sym(sym));
            i += sym.len();
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while chars
                .get(i)
                .is_some_and(|ch| ch.is_ascii_digit() || *ch == '.')
            {
                i += 1;
            }
            tokens.push(Token::Num(chars[start..i].iter().collect()));
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|ch| ch.is_alphanumeric() || matches!(ch, '_' | '.' | '-' | '[' | ']'))
            {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else if c == '=' {
            return Err(format!("unexpected `=` in `{text}`; did you mean `==`?"));
        } else {
            return Err(format!("unexpected `{c}` in `{text}`"));
        }
    }
    Ok(tokens)
}

fn char_offset(chars: &[char], index: usize) -> usize {
    chars[..index].iter().map(|c| c.len_utf8()).sum()
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w == word) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Node, String> {
        let mut node = self.and()?;
        while self.keyword("or") {
            node = Node::Or(Box::new(node), Box::new(self.and()?));
        }
        Ok(node)
    }

    fn and(&mut self) -> Result<Node, String> {
        let mut node = self.unary()?;
        while self.keyword("and") {
            node = Node::And(Box::new(node), Box::new(self.unary()?));
        }
        Ok(node)
    }

    fn unary(&mut self) -> Result<Node, String> {
        if self.keyword("not") {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Sym("(")) {
            self.next += 1;
            let node = self.or()?;
            if self.take() != Some(Token::Sym(")")) {
                return Err("missing `)`".to_owned());
            }
            return Ok(node);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Node, String> {
        let path = match self.take() {
            Some(Token::Word(word)) => parse_path(&word)?,
            Some(other) => return Err(format!("expected a field name, found `{other}`")),
            None => return Err("expected a field name, found the end".to_owned()),
        };
        let token = self.take();
        let spelled = match &token {
            Some(Token::Word(w)) if w == "exists" => return Ok(Node::Exists(path)),
            Some(Token::Sym(s)) => Op::from_spelling(s),
            Some(Token::Word(w)) => Op::from_spelling(w),
            _ => None,
        };
        let op = match (spelled, token) {
            (Some(op), _) => op,
            (None, Some(other)) => {
                return Err(format!(
                    "expected an operator (==, !=, <, <=, >, >=, contains, matches, exists) after `{}`, found `{other}`",
                    path.join(".")
                ));
            }
            (None, None) => return Err(format!("expected an operator after `{}`", path.join("."))),
        };
        let literal = match self.take() {
            Some(Token::Str(s)) if op == Op::Matches => {
                Literal::Regex(Regex::new(&s).map_err(|e| format!("invalid regex `{s}`: {e}"))?)
            }
            Some(Token::Str(s)) => Literal::Json(Value::String(s)),
            Some(Token::Num(n)) => Literal::Json(
                serde_json::from_str(&n).map_err(|_| format!("`{n}` is not a number"))?,
            ),
            Some(Token::Word(w)) if w == "true" => Literal::Json(Value::Bool(true)),
            Some(Token::Word(w)) if w == "false" => Literal::Json(Value::Bool(false)),
            Some(Token::Word(w)) if w == "null" => Literal::Json(Value::Null),
            Some(other) => {
                return Err(format!(
                    "expected a value (\"text\", 12, true, null), found `{other}`"
                ));
            }
            None => return Err("expected a value, found the end".to_owned()),
        };
        if op == Op::Matches && !matches!(literal, Literal::Regex(_)) {
            return Err("`matches` takes a regex in quotes".to_owned());
        }
        Ok(Node::Compare(path, op, literal))
    }
}

fn eval(node: &Node, record: &Value) -> Result<bool, String> {
    Ok(match node {
        Node::And(a, b) => eval(a, record)? && eval(b, record)?,
        Node::Or(a, b) => eval(a, record)? || eval(b, record)?,
        Node::Not(inner) => !eval(inner, record)?,
        Node::Exists(path) => lookup(record, path).is_some_and(|v| !v.is_null()),
        Node::Compare(path, op, literal) => {
            let actual = lookup(record, path).unwrap_or(&Value::Null);
            compare(actual, *op, literal).map_err(|e| format!("`{}`: {e}", path.join(".")))?
        }
    })
}

fn compare(actual: &Value, op: Op, literal: &Literal) -> Result<bool, String> {
    let expected = match literal {
        Literal::Regex(regex) => {
            return match actual {
                Value::String(s) => Ok(regex.is_match(s)),
                Value::Null => Ok(false),
                other => Ok(regex.is_match(&other.to_string())),
            };
        }
        Literal::Json(value) => value,
    };
    match op {
        Op::Eq => Ok(loosely_equal(actual, expected)),
        Op::Ne => Ok(!loosely_equal(actual, expected)),
        Op::Contains => Ok(match (actual, expected) {
            (Value::String(s), Value::String(needle)) => s.contains(needle.as_str()),
            (Value::Array(items), needle) => items.iter().any(|i| loosely_equal(i, needle)),
            (Value::Null, _) => false,
            _ => return Err("`contains` works on text and lists".to_owned()),
        }),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ordering = match (actual, expected) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .unwrap_or(f64::NAN)
                    .partial_cmp(&b.as_f64().unwrap_or(f64::NAN)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                (Value::Null, _) => return Ok(false),
                (a, b) => return Err(format!("cannot order {a} against {b}")),
            };
            Ok(op.accepts(ordering))
        }
        Op::Matches => unreachable!("matches always has a regex"),
    }
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(expr: &str, record: Value) -> bool {
        Expr::parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .eval(&record)
            .unwrap()
    }

    #[test]
    fn every_operator() {
        let r = json!({"status": "refunded", "amount": 1500, "tags": ["vip"], "user": {"email": "a@example.com"}, "gone": null});
        assert!(check("status == \"refunded\"", r.clone()));
        assert!(check("status != \"open\"", r.clone()));
        assert!(check("amount > 1000 and amount <= 1500", r.clone()));
        assert!(!check("amount < 1000", r.clone()));
        assert!(check("amount >= 1500.0", r.clone()));
        assert!(check("tags contains \"vip\"", r.clone()));
        assert!(check("user.email contains \"@example\"", r.clone()));
        assert!(check(
            "user.email matches \"@example\\.(com|org)$\"",
            r.clone()
        ));
        assert!(check("user exists and not gone exists", r.clone()));
        assert!(check("missing == null", r.clone()));
        assert!(check("not (status == \"open\" or amount < 10)", r.clone()));
    }

    #[test]
    fn fields_index_lists_as_in_conditions() {
        let record = json!({"items": [{"sku": "A-1"}, {"sku": "B-2"}]});
        assert!(check("items[1].sku == \"B-2\"", record.clone()));
        assert!(check("items.0.sku == \"A-1\"", record));
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        for (text, expected) in [
            (
                "status = \"x\"",
                "unexpected `=` in `status = \"x\"`; did you mean `==`?",
            ),
            ("status == ", "expected a value"),
            ("== 3", "expected a field name"),
            ("a matches 3", "takes a regex"),
            ("a matches \"(\"", "invalid regex"),
            ("a == 1 b", "unexpected `b`"),
            ("(a == 1", "missing `)`"),
            ("a ~ 1", "unexpected `~`"),
        ] {
            let error = Expr::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn nonsense_comparisons_fail_the_record_not_the_run() {
        let expr = Expr::parse("amount < 10").unwrap();
        assert!(expr.eval(&json!({"amount": "ten"})).is_err());
    }
}
