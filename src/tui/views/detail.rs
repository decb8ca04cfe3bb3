//! One integration in detail: schedule and state, circuit breaker and why, auth, the
//! cursor, what is about to expire (its secrets, the server's certificate), rate-limit
//! hits, the last connection test, uptime, the last problem with its hint, and its
//! config with secrets masked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use chrono::{DateTime, NaiveDate, Utc};

use super::{ago, drill_page, until};
use crate::domain::PauseReason;
use crate::domain::stats::{Share, Uptime};
use crate::runtime::metrics::Window;
use crate::runtime::tokens::AccessTokenInfo;
use crate::store::SecretMeta;
use crate::tui::app::App;
use crate::tui::keymap::{Action, key_hint};
use crate::tui::theme::Theme;

/// A secret closer to its expiry than this is shown as a problem.
const SECRET_WARNING_DAYS: i64 = 7;

/// `set 3d ago, expires 2026-12-01 (in 9d)`, or that it is missing from the vault;
/// `true` when it needs attention (missing, expired or expiring within a week).
fn secret_status(meta: Option<&SecretMeta>, now: DateTime<Utc>, set_key: &str) -> (String, bool) {
    let Some(meta) = meta else {
        return (format!("not in the vault ({set_key} sets it)"), true);
    };
    let set = format!("set {}", ago(now, Some(meta.updated_at)));
    let Some(date) = meta.expires_at else {
        return (set, false);
    };
    let left = (date - now.date_naive()).num_days();
    let when = expiry_text(date, (left >= 0).then_some(left));
    (format!("{set}, {when}"), left < SECRET_WARNING_DAYS)
}

/// `expires 2026-12-01 (in 9d)`, or `EXPIRED 2026-12-01` when no days are left.
fn expiry_text(date: NaiveDate, days_left: Option<i64>) -> String {
    match days_left {
        Some(days) => format!("expires {date} (in {days}d)"),
        None => format!("EXPIRED {date}"),
    }
}

/// A certificate closer to its expiry than this is shown as a problem.
const CERTIFICATE_WARNING_DAYS: i64 = 14;

/// `99.95% 24h · 99.99% 7d · - 30d`: rounded down, so an outage never shows as 100%.
fn uptime_text(uptime: &Uptime) -> String {
    let percent = |share: Option<Share>| share.map_or_else(|| "-".to_owned(), |s| s.to_string());
    format!(
        "{} 24h · {} 7d · {} 30d",
        percent(uptime.day),
        percent(uptime.week),
        percent(uptime.month)
    )
}

/// An OAuth2 access token's lifetime, as far as this process has seen it.
fn access_token_status(
    token: Option<AccessTokenInfo>,
    now: DateTime<Utc>,
    theme: &Theme,
) -> (String, Style) {
    match token {
        None => (
            "none fetched since start; the next run fetches one".into(),
            theme.dim,
        ),
        Some(AccessTokenInfo { expires_at: None }) => {
            ("cached; the server gave no expiry".into(), theme.text)
        }
        Some(AccessTokenInfo {
            expires_at: Some(at),
        }) if at <= now => (
            format!(
                "expired {}; the next run fetches a new one",
                ago(now, Some(at))
            ),
            theme.warn,
        ),
        Some(AccessTokenInfo {
            expires_at: Some(at),
        }) => (
            format!("expires {} (renewed before then)", until(now, Some(at))),
            theme.text,
        ),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, name: &str) {
    let theme = &app.theme;
    let now = app.model.now;
    let Some(view) = app.model.integration(name) else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!("{name} is no longer in the config"),
                theme.warn,
            )),
            area,
        );
        return;
    };
    let styled_field = |label: &str, value: String, style| {
        Line::from(vec![
            Span::styled(format!("{label:<14}"), theme.dim),
            Span::styled(value, style),
        ])
    };
    let field = |label: &str, value: String| styled_field(label, value, theme.text);
    let h = crate::tui::model::health(view);
    let mut lines = vec![
        field("health", format!("{} {}", h.symbol(), h.word())),
        field("kind", format!("{} (auth: {})", view.kind, view.auth)),
    ];
    if let Some(blueprint) = &view.blueprint {
        lines.push(field(
            "blueprint",
            format!("{blueprint} (patchbay blueprint show {blueprint})"),
        ));
    }
    lines.extend([
        field(
            "schedule",
            view.schedule
                .clone()
                .unwrap_or_else(|| "when records or events arrive".into()),
        ),
        field("next run", until(now, view.next_run)),
        field(
            "last run",
            format!(
                "{} {}",
                view.state
                    .last_status
                    .map_or("never".into(), |s| s.to_string()),
                ago(now, view.state.last_run_at)
            ),
        ),
        field("last success", ago(now, view.state.last_success_at)),
        field(
            "failures",
            format!("{} in a row", view.state.consecutive_failures),
        ),
        field(
            "outputs",
            if view.outputs.is_empty() {
                "-".into()
            } else {
                view.outputs.join(", ")
            },
        ),
        field("cursor", view.cursor.clone().unwrap_or_else(|| "-".into())),
    ]);
    if let Some(not_after) = view.state.certificate_expires_at {
        let left = not_after - now;
        let style = if left < chrono::Duration::days(CERTIFICATE_WARNING_DAYS) {
            theme.error
        } else {
            theme.text
        };
        let days_left = (left > chrono::Duration::zero()).then(|| left.num_days());
        let when = expiry_text(not_after.date_naive(), days_left);
        lines.push(styled_field("certificate", when, style));
    }
    let set_key = key_hint(&app.keymap, Action::SetSecret);
    // Only here, for the one integration on screen: not in every snapshot.
    let mut secrets = view.secrets.clone();
    secrets.sort();
    secrets.dedup();
    for secret in &secrets {
        let meta = app.model.secret_metas.get(secret);
        let (text, attention) = secret_status(meta, now, &set_key);
        let style = if attention { theme.error } else { theme.text };
        lines.push(styled_field("secret", format!("{secret}: {text}"), style));
    }
    if view.auth.starts_with("oauth2") {
        let (text, style) = access_token_status(view.access_token, now, theme);
        lines.push(styled_field("access token", text, style));
    }
    if let Some(stats) = app.model.figures.get(name).map(|f| f.get(Window::Hour))
        && stats.rate_limit_hits > 0
    {
        lines.push(styled_field(
            "rate limits",
            format!("hit {} time(s) in the last hour", stats.rate_limit_hits),
            theme.warn,
        ));
    }
    if let Some((at, outcome)) = app.model.tests.get(name) {
        let (text, style) = match outcome {
            Ok(text) => (text, theme.ok),
            Err(text) => (text, theme.error),
        };
        lines.push(styled_field(
            "last test",
            format!("{} {text}", ago(now, Some(*at))),
            style,
        ));
    }
    if let Some((_, uptime)) = app.model.uptime.as_ref().filter(|(n, _)| n == name) {
        let label = if view.kind == "check" {
            "uptime"
        } else {
            "run success"
        };
        lines.push(field(label, uptime_text(uptime)));
    }
    let resume = key_hint(&app.keymap, Action::PauseResume);
    match &view.paused {
        Some(PauseReason::Operator { who, at }) => lines.push(Line::styled(
            format!("paused by {who} {}; {resume} resumes", ago(now, Some(*at))),
            theme.paused,
        )),
        Some(PauseReason::CircuitBreaker {
            failures,
            at,
            last_error,
        }) => {
            lines.push(Line::styled(
                format!(
                    "circuit breaker open: paused after {failures} failures {}; {resume} resumes",
                    ago(now, Some(*at))
                ),
                theme.error,
            ));
            if let Some(error) = last_error {
                lines.push(Line::styled(format!("  last error: {error}"), theme.error));
            }
        }
        None => {}
    }
    if view.state.auth_failed {
        lines.push(Line::styled(
            format!("authentication failed on the last run: the credential needs fixing ({} sets a secret)", key_hint(&app.keymap, Action::SetSecret)),
            theme.error,
        ));
    }
    if let Some(problem) = app.model.last_problem.get(name) {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "last problem {}: {}",
                ago(now, Some(problem.started_at)),
                problem.status
            ),
            theme.warn,
        ));
        if let (Some(class), Some(message)) = (problem.error_class, &problem.error_message) {
            lines.push(Line::styled(format!("  {class}: {message}"), theme.error));
        }
        if let Some(hint) = &problem.hint {
            lines.push(Line::styled(format!("  hint: {hint}"), theme.accent));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("config (secrets masked)", theme.accent));
    lines.extend(
        view.source_text
            .lines()
            .map(|l| Line::styled(format!("  {l}"), theme.dim)),
    );
    drill_page(frame, area, app, name, lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_needs_attention_when_missing_expired_or_expiring_within_a_week() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .to_utc();
        let expiring = |days: i64| SecretMeta {
            created_at: now,
            updated_at: now,
            expires_at: Some((now + chrono::Duration::days(days)).date_naive()),
            last_used_at: None,
        };
        assert_eq!(
            secret_status(None, now, "s"),
            ("not in the vault (s sets it)".to_owned(), true)
        );
        assert!(
            secret_status(Some(&expiring(-1)), now, "s")
                .0
                .contains("EXPIRED 2026-11-21")
        );
        assert!(secret_status(Some(&expiring(6)), now, "s").1);
        assert!(!secret_status(Some(&expiring(30)), now, "s").1);
    }
}
