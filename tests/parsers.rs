//! Property tests: every parser of text from a file, a server or an operator takes any
//! input without panicking, and what can be written back reads back the same. (The
//! Link header and check conditions have their own next to their code.)

use patchbay::config::alert::AlertCondition;
use patchbay::config::duration::HumanDuration;
use patchbay::config::expr::Expr;
use patchbay::config::schedule::CronExpr;
use patchbay::config::template::Template;
use patchbay::config::{Config, SourceFile};
use patchbay::connectors::webhook::{signature, verify};
use proptest::prelude::*;

/// The shipped config with a stretch of it replaced: mostly-valid TOML with a mistake
/// somewhere, the input `check` meets most.
fn mutated_config() -> impl Strategy<Value = String> {
    let shipped = include_str!("../connectors.toml");
    (0..shipped.len(), 0usize..40, ".{0,40}").prop_map(move |(at, len, text)| {
        let start = floor_char_boundary(shipped, at);
        let end = floor_char_boundary(shipped, start.saturating_add(len).min(shipped.len()));
        format!("{}{text}{}", &shipped[..start], &shipped[end..])
    })
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_config_loader_takes_any_file(text in ".{0,400}") {
        let config = Config::parse(SourceFile::new("c.toml", text));
        let _ = config.render_problems();
    }

    #[test]
    fn the_config_loader_takes_any_mistake_in_a_real_file(text in mutated_config()) {
        let config = Config::parse(SourceFile::new("c.toml", text));
        // Every problem renders with its location, whatever the mistake.
        let _ = config.render_problems();
        prop_assert!(config.is_valid() || !config.problems.is_empty());
    }

    #[test]
    fn cron_takes_any_text(text in ".{0,60}") {
        let _ = CronExpr::parse(&text);
    }

    #[test]
    fn cron_takes_any_five_fields(
        fields in proptest::collection::vec("[0-9*/,A-Za-z-]{1,8}", 5..=6)
    ) {
        let _ = CronExpr::parse(&fields.join(" "));
    }

    #[test]
    fn durations_take_any_text(text in ".{0,30}") {
        let _ = HumanDuration::parse(&text);
    }

    #[test]
    fn pipeline_expressions_parse_and_evaluate_anything(
        text in ".{0,60}",
        field in "[a-z]{1,5}",
        value in proptest::num::i64::ANY,
    ) {
        if let Ok(expr) = Expr::parse(&text) {
            let _ = expr.eval(&serde_json::json!({ field: value }));
        }
    }

    #[test]
    fn generated_comparisons_always_parse(
        field in "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}",
        op in proptest::sample::select(vec!["==", "!=", "<", "<=", ">", ">=", "contains"]),
        value in proptest::num::i32::ANY,
    ) {
        let text = format!("{field} {op} {value}");
        prop_assert!(Expr::parse(&text).is_ok(), "{}", text);
    }

    #[test]
    fn alert_conditions_take_any_text(text in ".{0,60}") {
        let _ = AlertCondition::parse(&text);
    }

    #[test]
    fn templates_take_any_text(text in ".{0,80}") {
        if let Ok(template) = Template::parse(&text) {
            let _ = template.render(minijinja::context! { count => 1 });
        }
    }

    #[test]
    fn signature_headers_take_any_text(header in ".{0,120}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = verify(b"key", &header, &body);
    }

    #[test]
    fn signatures_verify_what_they_signed(
        key in proptest::collection::vec(any::<u8>(), 1..64),
        at in proptest::num::i64::ANY,
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let header = signature(&key, at, &body);
        prop_assert_eq!(verify(&key, &header, &body), Some(at));
    }
}
