//! The alert lifecycle, as a pure state machine over explicit times: alerts fire and
//! resolve (one per rule and integration), silences and maintenance hold their notices
//! back, alerts of one rule that fire within `group_wait` share one notice, and a
//! firing alert is repeated every `repeat`. The engine feeds it readings and delivers
//! the notices it hands out; nothing here waits or does I/O.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use ulid::Ulid;

use super::notice::Notice;
use super::reading::Reading;
use crate::config::alert::AlertRule;
use crate::domain::{Alert, AlertStatus, Attempt, NoticeEvent, Silence};

/// How many resolved alerts stay in memory for the console.
pub const RECENT_KEPT: usize = 100;

/// One rule's reading of one integration at one evaluation.
pub struct Observation<'a> {
    pub rule: &'a AlertRule,
    pub integration: &'a str,
    /// `None`: nothing to judge right now; the alert stays as it is.
    pub reading: Option<Reading>,
    /// The end of the integration's maintenance window, when it is in one.
    pub maintenance_until: Option<DateTime<Utc>>,
    pub last_error: Option<&'a str>,
    pub hint: Option<&'a str>,
}

/// What an evaluation changed: alerts to store and notices to deliver.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub changed: Vec<Alert>,
    pub notices: Vec<Notice>,
}

/// Which pairs of rule and integration an evaluation observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Some,
}

struct Group {
    rule: String,
    event: NoticeEvent,
    due: DateTime<Utc>,
    members: Vec<Ulid>,
}

pub struct AlertBook {
    group_wait: chrono::Duration,
    /// Firing alerts by rule, then integration.
    firing: HashMap<String, HashMap<String, Alert>>,
    /// Resolved alerts whose resolved notice is still owed.
    owed: HashMap<Ulid, Alert>,
    /// Resolved alerts, newest first.
    recent: VecDeque<Alert>,
    silences: Vec<Silence>,
    groups: Vec<Group>,
    /// Alerts waiting in a group, so none joins two.
    grouped: HashSet<Ulid>,
}

impl AlertBook {
    /// The book as the store left it: open alerts (firing, or owed a resolved notice),
    /// recent resolved ones and silences.
    pub fn restore(
        group_wait: std::time::Duration,
        open: Vec<Alert>,
        recent: Vec<Alert>,
        silences: Vec<Silence>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut book = Self {
            group_wait: chrono::Duration::from_std(group_wait).unwrap_or_default(),
            firing: HashMap::new(),
            owed: HashMap::new(),
            recent: recent.into_iter().take(RECENT_KEPT).collect(),
            silences,
            groups: Vec::new(),
            grouped: HashSet::new(),
        };
        for alert in open {
            if alert.is_firing() {
                book.insert_firing(alert);
            } else {
                // The resolved notice was owed when patchbay stopped: send it now.
                book.join(&alert.rule, NoticeEvent::Resolved, now, alert.id);
                book.owed.insert(alert.id, alert);
            }
        }
        book
    }

    pub fn set_group_wait(&mut self, group_wait: std::time::Duration) {
        self.group_wait = chrono::Duration::from_std(group_wait).unwrap_or_default();
    }

    /// Firing alerts, most severe and oldest first.
    pub fn firing(&self) -> Vec<&Alert> {
        let mut firing: Vec<&Alert> = self.all_firing().collect();
        firing.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.since.cmp(&b.since)));
        firing
    }

    /// Resolved alerts, newest first.
    pub fn recent(&self) -> impl Iterator<Item = &Alert> {
        self.owed.values().chain(&self.recent)
    }

    pub fn silences(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Silence> {
        self.silences.iter().filter(move |s| s.is_active(now))
    }

    /// Adds a silence, or replaces one (ending a silence is replacing it with one
    /// that ends now).
    pub fn silence(&mut self, silence: Silence) {
        self.silences.retain(|s| s.id != silence.id);
        self.silences.push(silence);
    }

    /// Whether `rule` fires on `integration` now: a reading that breaches nothing
    /// changes nothing unless it does.
    pub fn is_firing(&self, rule: &str, integration: &str) -> bool {
        self.firing
            .get(rule)
            .is_some_and(|by_integration| by_integration.contains_key(integration))
    }

    fn all_firing(&self) -> impl Iterator<Item = &Alert> {
        self.firing.values().flat_map(HashMap::values)
    }

    fn all_firing_mut(&mut self) -> impl Iterator<Item = &mut Alert> {
        self.firing.values_mut().flat_map(HashMap::values_mut)
    }

    fn insert_firing(&mut self, alert: Alert) {
        self.firing
            .entry(alert.rule.clone())
            .or_default()
            .insert(alert.integration.clone(), alert);
    }

    /// Nothing firing, owed or waiting: with no rules, there is nothing to evaluate.
    pub fn is_idle(&self) -> bool {
        self.firing.is_empty() && self.owed.is_empty() && self.groups.is_empty()
    }

    /// When the next grouped notice is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.groups.iter().map(|g| g.due).min()
    }

    /// Applies readings. With `Scope::All` the observations cover every watched pair,
    /// so firing alerts that none of them mention (their rule or integration is gone)
    /// end; `Scope::Some` updates just the pairs observed.
    pub fn evaluate<'a>(
        &mut self,
        now: DateTime<Utc>,
        rules: &[AlertRule],
        observations: impl IntoIterator<Item = Observation<'a>>,
        scope: Scope,
    ) -> Evaluation {
        self.silences.retain(|s| s.is_active(now));
        let mut changed = HashSet::new();
        // Firing alerts whose pair was observed; with `Scope::All`, the rest are orphans.
        let mut observed = HashSet::new();
        for observation in observations {
            let (rule_name, integration) = (&observation.rule.name, observation.integration);
            let suppressed = self.suppression(&observation);
            let alert = self
                .firing
                .get_mut(rule_name)
                .and_then(|by_integration| by_integration.get_mut(integration));
            match (alert, observation.reading) {
                (Some(alert), Some(reading)) if !reading.breached => {
                    let id = alert.id;
                    changed.insert(self.resolve(rule_name, integration, now, reading.value()));
                    observed.insert(id);
                }
                (Some(alert), reading) => {
                    observed.insert(alert.id);
                    if let Some(reading) = reading {
                        alert.value = reading.value();
                    }
                    // The value and the last error move with every run; they are
                    // kept, and stored with the next change that matters.
                    alert.last_error = observation.last_error.map(str::to_owned);
                    alert.hint = observation.hint.map(str::to_owned);
                    if alert.suppressed != suppressed {
                        alert.suppressed = suppressed;
                        changed.insert(alert.id);
                    }
                }
                (None, Some(reading)) if reading.breached => {
                    let rule = observation.rule;
                    let alert = Alert {
                        id: Ulid::from_datetime(now.into()),
                        rule: rule.name.clone(),
                        integration: observation.integration.to_owned(),
                        severity: rule.severity,
                        condition: rule.when.to_string(),
                        status: AlertStatus::Firing,
                        since: now,
                        resolved_at: None,
                        value: reading.value(),
                        last_error: observation.last_error.map(str::to_owned),
                        hint: observation.hint.map(str::to_owned),
                        suppressed,
                        notified_at: None,
                        last_notified_at: None,
                        resolve_notified_at: None,
                        attempts: Vec::new(),
                    };
                    changed.insert(alert.id);
                    observed.insert(alert.id);
                    self.insert_firing(alert);
                }
                (None, _) => {}
            }
        }
        // A rule or integration that is gone watches nothing: its alerts end quietly.
        let orphaned: Vec<(String, String)> = match scope {
            Scope::All => self
                .all_firing()
                .filter(|a| !observed.contains(&a.id))
                .map(|a| (a.rule.clone(), a.integration.clone()))
                .collect(),
            Scope::Some => Vec::new(),
        };
        for (rule, integration) in orphaned {
            let id = self.resolve(
                &rule,
                integration.as_str(),
                now,
                "no longer watched".to_owned(),
            );
            if let Some(alert) = self.owed.remove(&id) {
                self.forget_group_member(id);
                self.recent.push_front(alert);
            }
            changed.insert(id);
        }
        self.schedule_notices(now, rules);
        let notices = self.take_due_notices(now, rules, &mut changed);
        self.recent.truncate(RECENT_KEPT);
        Evaluation {
            changed: changed
                .into_iter()
                .filter_map(|id| self.find(id).cloned())
                .collect(),
            notices,
        }
    }

    /// Records a delivery of a notice on every alert it carried; returns them to store.
    pub fn record_delivery(&mut self, alerts: &[Ulid], attempt: &Attempt) -> Vec<Alert> {
        alerts
            .iter()
            .filter_map(|id| {
                let alert = self.find_mut(*id)?;
                alert.record_attempt(attempt.clone());
                Some(alert.clone())
            })
            .collect()
    }

    fn suppression(&self, observation: &Observation<'_>) -> Option<String> {
        let silence = self
            .silences
            .iter()
            .filter(|s| {
                s.target
                    .covers(&observation.rule.name, observation.integration)
            })
            .max_by_key(|s| s.until);
        match (silence, observation.maintenance_until) {
            (Some(s), _) => Some(format!(
                "silenced until {} by {}: {}",
                s.until.format("%Y-%m-%d %H:%M UTC"),
                s.who,
                s.reason
            )),
            (None, Some(until)) => Some(format!(
                "in a maintenance window until {}",
                until.format("%Y-%m-%d %H:%M UTC")
            )),
            (None, None) => None,
        }
    }

    /// Ends a firing alert. A resolved notice is owed only if the firing one went out.
    fn resolve(
        &mut self,
        rule: &str,
        integration: &str,
        now: DateTime<Utc>,
        value: String,
    ) -> Ulid {
        let by_integration = self.firing.get_mut(rule).expect("resolving a firing alert");
        let mut alert = by_integration
            .remove(integration)
            .expect("resolving a firing alert");
        if by_integration.is_empty() {
            self.firing.remove(rule);
        }
        let id = alert.id;
        alert.status = AlertStatus::Resolved;
        alert.resolved_at = Some(now);
        alert.value = value;
        alert.suppressed = None;
        // A firing or repeat notice not yet sent is moot now.
        self.forget_group_member(id);
        if alert.notified_at.is_some() {
            self.join(
                &alert.rule,
                NoticeEvent::Resolved,
                now + self.group_wait,
                id,
            );
            self.owed.insert(id, alert);
        } else {
            self.recent.push_front(alert);
        }
        id
    }

    /// Puts every firing alert that is owed a notice into its rule's group.
    fn schedule_notices(&mut self, now: DateTime<Utc>, rules: &[AlertRule]) {
        let mut joins = Vec::new();
        for alert in self.all_firing() {
            let Some(rule) = rules.iter().find(|r| r.name == alert.rule) else {
                continue;
            };
            if alert.suppressed.is_some()
                || rule.notify.is_empty()
                || self.grouped.contains(&alert.id)
            {
                continue;
            }
            match (alert.last_notified_at, rule.repeat) {
                (None, _) => joins.push((NoticeEvent::Firing, now + self.group_wait, alert)),
                (Some(last), Some(repeat))
                    if last + chrono::Duration::from_std(repeat.as_std()).unwrap_or_default()
                        <= now =>
                {
                    joins.push((NoticeEvent::Repeat, now, alert))
                }
                _ => {}
            }
        }
        let joins: Vec<_> = joins
            .into_iter()
            .map(|(event, due, alert)| (alert.rule.clone(), event, due, alert.id))
            .collect();
        for (rule, event, due, id) in joins {
            self.join(&rule, event, due, id);
        }
    }

    /// Joins the open group of this rule and event, or opens one due at `due`.
    fn join(&mut self, rule: &str, event: NoticeEvent, due: DateTime<Utc>, id: Ulid) {
        self.grouped.insert(id);
        match self
            .groups
            .iter_mut()
            .find(|g| g.rule == rule && g.event == event)
        {
            Some(group) => group.members.push(id),
            None => self.groups.push(Group {
                rule: rule.to_owned(),
                event,
                due,
                members: vec![id],
            }),
        }
    }

    fn forget_group_member(&mut self, id: Ulid) {
        if self.grouped.remove(&id) {
            for group in &mut self.groups {
                group.members.retain(|m| *m != id);
            }
            self.groups.retain(|g| !g.members.is_empty());
        }
    }

    fn take_due_notices(
        &mut self,
        now: DateTime<Utc>,
        rules: &[AlertRule],
        changed: &mut HashSet<Ulid>,
    ) -> Vec<Notice> {
        let (due, waiting): (Vec<Group>, Vec<Group>) = std::mem::take(&mut self.groups)
            .into_iter()
            .partition(|g| g.due <= now);
        self.groups = waiting;
        let mut notices = Vec::new();
        for group in due {
            let mut alerts = Vec::new();
            for id in group.members {
                self.grouped.remove(&id);
                match group.event {
                    NoticeEvent::Firing | NoticeEvent::Repeat => {
                        let Some(alert) = self
                            .all_firing_mut()
                            .find(|a| a.id == id && a.suppressed.is_none())
                        else {
                            continue;
                        };
                        alert.notified_at.get_or_insert(now);
                        alert.last_notified_at = Some(now);
                        alerts.push(alert.clone());
                    }
                    NoticeEvent::Resolved => {
                        let Some(mut alert) = self.owed.remove(&id) else {
                            continue;
                        };
                        alert.resolve_notified_at = Some(now);
                        alerts.push(alert.clone());
                        self.recent.push_front(alert);
                    }
                }
                changed.insert(id);
            }
            let rule = rules.iter().find(|r| r.name == group.rule);
            if let (Some(rule), false) = (rule, alerts.is_empty()) {
                notices.push(Notice {
                    id: Ulid::from_datetime(now.into()),
                    rule: rule.name.clone(),
                    severity: rule.severity,
                    event: group.event,
                    condition: rule.when.to_string(),
                    alerts,
                    notify: rule.notify.clone(),
                    at: now,
                });
            }
        }
        notices
    }

    fn find(&self, id: Ulid) -> Option<&Alert> {
        self.all_firing()
            .chain(self.owed.values())
            .chain(&self.recent)
            .find(|a| a.id == id)
    }

    fn find_mut(&mut self, id: Ulid) -> Option<&mut Alert> {
        self.firing
            .values_mut()
            .flat_map(HashMap::values_mut)
            .chain(self.owed.values_mut())
            .chain(&mut self.recent)
            .find(|a| a.id == id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::config::alert::{AlertCondition, Glob};
    use crate::config::duration::HumanDuration;
    use crate::domain::AlertSeverity;
    use crate::domain::SilenceTarget;

    const WAIT: Duration = Duration::from_secs(30);

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    fn rule(name: &str, repeat: Option<u64>) -> AlertRule {
        AlertRule {
            name: name.to_owned(),
            when: AlertCondition::parse("consecutive_failures >= 3").unwrap(),
            integrations: vec![Glob("*".to_owned())],
            notify: vec!["chat".to_owned()],
            repeat: repeat.map(|s| HumanDuration(Duration::from_secs(s))),
            severity: AlertSeverity::Critical,
        }
    }

    fn book() -> AlertBook {
        AlertBook::restore(WAIT, Vec::new(), Vec::new(), Vec::new(), t(0))
    }

    /// Every integration in `failing` breaches, every other one in `all` is fine.
    fn step(
        book: &mut AlertBook,
        rules: &[AlertRule],
        at: i64,
        all: &[&'static str],
        failing: &[&str],
    ) -> Evaluation {
        step_with(book, rules, at, all, failing, None)
    }

    fn step_with(
        book: &mut AlertBook,
        rules: &[AlertRule],
        at: i64,
        all: &[&'static str],
        failing: &[&str],
        maintenance_until: Option<DateTime<Utc>>,
    ) -> Evaluation {
        let observations: Vec<Observation<'_>> = rules
            .iter()
            .flat_map(|rule| {
                all.iter().map(move |name| Observation {
                    rule,
                    integration: name,
                    reading: Some(Reading::failures_in_a_row(if failing.contains(name) {
                        3
                    } else {
                        0
                    })),
                    maintenance_until,
                    last_error: Some("HTTP 401"),
                    hint: Some("set the token again"),
                })
            })
            .collect();
        book.evaluate(t(at), rules, observations, Scope::All)
    }

    fn names(notice: &Notice) -> Vec<&str> {
        let mut names: Vec<&str> = notice
            .alerts
            .iter()
            .map(|a| a.integration.as_str())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn alerts_firing_within_the_wait_share_one_notice_and_resolve_with_another() {
        let rules = [rule("failing", None)];
        let mut book = book();
        let all = ["a", "b", "c"];
        let first = step(&mut book, &rules, 0, &all, &["a"]);
        assert_eq!(first.changed.len(), 1, "a fired");
        assert!(first.notices.is_empty(), "the group waits");
        assert!(
            step(&mut book, &rules, 10, &all, &["a", "b"])
                .notices
                .is_empty()
        );
        let sent = step(&mut book, &rules, 30, &all, &["a", "b"]);
        assert_eq!(sent.notices.len(), 1);
        let notice = &sent.notices[0];
        assert_eq!(
            (notice.event, names(notice)),
            (NoticeEvent::Firing, vec!["a", "b"])
        );
        assert!(
            notice
                .text()
                .contains("[FIRING] failing (critical) on 2 integrations")
        );
        assert!(
            notice.text().contains("last error: HTTP 401"),
            "{}",
            notice.text()
        );
        assert!(
            step(&mut book, &rules, 35, &all, &["a", "b"])
                .notices
                .is_empty(),
            "no repeat without `repeat`"
        );
        // Both recover; the resolved notice waits for the group too.
        let resolving = step(&mut book, &rules, 40, &all, &[]);
        assert_eq!(
            resolving.changed.iter().filter(|a| !a.is_firing()).count(),
            2
        );
        assert!(resolving.notices.is_empty());
        assert!(book.firing().is_empty());
        let resolved = step(&mut book, &rules, 70, &all, &[]);
        assert_eq!(resolved.notices.len(), 1);
        assert_eq!(resolved.notices[0].event, NoticeEvent::Resolved);
        assert!(
            resolved
                .changed
                .iter()
                .all(|a| a.resolve_notified_at == Some(t(70)))
        );
    }

    #[test]
    fn an_alert_over_before_its_group_is_sent_notifies_no_one() {
        let rules = [rule("failing", None)];
        let mut book = book();
        step(&mut book, &rules, 0, &["a"], &["a"]);
        step(&mut book, &rules, 10, &["a"], &[]);
        for at in [30, 60, 90] {
            assert!(step(&mut book, &rules, at, &["a"], &[]).notices.is_empty());
        }
        assert_eq!(book.recent().count(), 1, "the episode is still on record");
    }

    #[test]
    fn repeat_notifies_again_while_firing() {
        let rules = [rule("failing", Some(3600))];
        let mut book = book();
        step(&mut book, &rules, 0, &["a"], &["a"]);
        assert_eq!(step(&mut book, &rules, 30, &["a"], &["a"]).notices.len(), 1);
        assert!(
            step(&mut book, &rules, 3629, &["a"], &["a"])
                .notices
                .is_empty()
        );
        let again = step(&mut book, &rules, 3630, &["a"], &["a"]);
        assert_eq!(again.notices[0].event, NoticeEvent::Repeat);
        assert!(again.notices[0].text().starts_with("[STILL FIRING]"));
        assert!(
            step(&mut book, &rules, 3700, &["a"], &["a"])
                .notices
                .is_empty()
        );
        assert_eq!(
            step(&mut book, &rules, 7230, &["a"], &["a"]).notices.len(),
            1
        );
    }

    #[test]
    fn a_silence_holds_notices_until_it_ends_but_not_a_resolution_that_is_owed() {
        let rules = [rule("failing", None)];
        let mut book = book();
        let silence = |until| Silence {
            id: Ulid::nil(),
            target: SilenceTarget {
                rule: Some("failing".into()),
                integration: None,
            },
            until: t(until),
            reason: "deploy".into(),
            who: "ops".into(),
            created_at: t(0),
        };
        book.silence(silence(600));
        step(&mut book, &rules, 0, &["a"], &["a"]);
        assert!(
            step(&mut book, &rules, 300, &["a"], &["a"])
                .notices
                .is_empty(),
            "silenced"
        );
        assert!(
            book.firing()[0]
                .suppressed
                .as_deref()
                .unwrap()
                .contains("deploy")
        );
        // The silence ends: the alert is still firing, so it is told now (after the wait).
        step(&mut book, &rules, 600, &["a"], &["a"]);
        assert_eq!(
            step(&mut book, &rules, 630, &["a"], &["a"]).notices.len(),
            1
        );
        // Silenced again, it resolves: the resolution is recorded and, since the firing
        // notice went out, the resolved notice is sent.
        book.silence(silence(5000));
        step(&mut book, &rules, 700, &["a"], &[]);
        let resolved = step(&mut book, &rules, 730, &["a"], &[]);
        assert_eq!(resolved.notices[0].event, NoticeEvent::Resolved);
    }

    #[test]
    fn a_maintenance_window_holds_notices() {
        let rules = [rule("failing", None)];
        let mut book = book();
        let window = Some(t(3600));
        step_with(&mut book, &rules, 0, &["a"], &["a"], window);
        let held = step_with(&mut book, &rules, 60, &["a"], &["a"], window);
        assert!(held.notices.is_empty());
        assert!(
            book.firing()[0]
                .suppressed
                .as_deref()
                .unwrap()
                .contains("maintenance")
        );
        step(&mut book, &rules, 3600, &["a"], &["a"]);
        assert_eq!(
            step(&mut book, &rules, 3630, &["a"], &["a"]).notices.len(),
            1
        );
    }

    #[test]
    fn a_restored_book_neither_resends_nor_forgets() {
        let rules = [rule("failing", Some(3600))];
        let mut book = book();
        step(&mut book, &rules, 0, &["a", "b"], &["a"]);
        let stored = step(&mut book, &rules, 30, &["a", "b"], &["a"]).changed;
        assert!(stored[0].notified_at.is_some());
        let mut restarted = AlertBook::restore(WAIT, stored, Vec::new(), Vec::new(), t(100));
        assert!(
            step(&mut restarted, &rules, 100, &["a", "b"], &["a"])
                .notices
                .is_empty()
        );
        assert_eq!(restarted.firing().len(), 1);
        let repeat = step(&mut restarted, &rules, 3630, &["a", "b"], &["a"]);
        assert_eq!(
            repeat.notices[0].event,
            NoticeEvent::Repeat,
            "repeat counts across the restart"
        );
        // Resolved while patchbay was down, owed its notice: sent after the restart.
        step(&mut restarted, &rules, 3700, &["a", "b"], &[]);
        let owed: Vec<Alert> = restarted.recent().cloned().collect();
        let mut again = AlertBook::restore(WAIT, owed, Vec::new(), Vec::new(), t(3800));
        let sent = step(&mut again, &rules, 3800, &["a", "b"], &[]);
        assert_eq!(sent.notices[0].event, NoticeEvent::Resolved);
    }

    #[test]
    fn a_failed_delivery_is_recorded_and_counts_as_undelivered() {
        let rules = [rule("failing", None)];
        let mut book = book();
        step(&mut book, &rules, 0, &["a"], &["a"]);
        let notice = step(&mut book, &rules, 30, &["a"], &["a"])
            .notices
            .remove(0);
        let ids: Vec<Ulid> = notice.alerts.iter().map(|a| a.id).collect();
        let attempt = |ok, notice_id| Attempt {
            at: t(31),
            notice: notice_id,
            event: notice.event,
            output: "chat".into(),
            ok,
            error: (!ok).then(|| "HTTP 404 from the Slack URL".into()),
        };
        let stored = book.record_delivery(&ids, &attempt(false, notice.id));
        assert!(stored[0].undelivered());
        assert_eq!(
            stored[0].attempts[0].error.as_deref(),
            Some("HTTP 404 from the Slack URL")
        );
        // The next notice reaches the output: delivered again, the failure stays on record.
        let next = book.record_delivery(&ids, &attempt(true, Ulid::new()));
        assert!(!next[0].undelivered());
        assert_eq!(next[0].attempts.len(), 2);
    }
}
