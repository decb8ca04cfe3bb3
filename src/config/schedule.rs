//! When an integration runs: standard cron (5 fields, Vixie semantics), cron with
//! seconds (6 fields), or a fixed interval.
//!
//! The `cron` crate numbers weekdays 1 = Sunday … 7 = Saturday and requires a
//! restricted day-of-month *and* a restricted day-of-week to match together. Users
//! write Vixie cron, where 0 and 7 are Sunday, 1 is Monday, and either restricted day
//! field matching is enough. So we parse every field ourselves (which also gives
//! errors that name the field), then hand the crate explicit lists with weekday
//! *names*, and build the "either" rule from two crate schedules.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone};

use crate::fingerprint::fnv1a;

/// A parsed `cron = "..."` expression.
#[derive(Debug, Clone)]
pub struct CronExpr {
    source: String,
    fields: [Field; 6],
    /// One schedule, or two when day-of-month and day-of-week are both restricted
    /// (Vixie fires when either matches).
    compiled: Vec<cron::Schedule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::DayOfMonth => "day-of-month",
            Self::Month => "month",
            Self::DayOfWeek => "day-of-week",
        }
    }

    /// Inclusive bounds as written by users (day-of-week allows 7 for Sunday).
    fn bounds(self) -> (u32, u32) {
        match self {
            Self::Second | Self::Minute => (0, 59),
            Self::Hour => (0, 23),
            Self::DayOfMonth => (1, 31),
            Self::Month => (1, 12),
            Self::DayOfWeek => (0, 7),
        }
    }

    fn value_of_name(self, text: &str) -> Option<u32> {
        let upper = text.to_ascii_uppercase();
        let names: &[&str] = match self {
            Self::Month => &MONTHS,
            Self::DayOfWeek => &WEEKDAYS,
            _ => return None,
        };
        let index = names.iter().position(|n| *n == upper)? as u32;
        Some(if self == Self::Month {
            index + 1
        } else {
            index
        })
    }
}

/// One parsed field: the set of values it allows, and whether it was written as `*`
/// (Vixie's rule for combining the two day fields depends on exactly that).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    unit: Unit,
    values: BTreeSet<u32>,
    starred: bool,
    /// `Some(n)` when written `*/n` (`Some(1)` for `*`), for describing it in words.
    step_from_star: Option<u32>,
}

impl Field {
    fn parse(unit: Unit, text: &str) -> Result<Self, String> {
        let (min, max) = unit.bounds();
        let mut values = BTreeSet::new();
        let mut step_from_star = None;
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => {
                    let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!(
                            "{} field: step `{step}` in `{part}` must be a positive number",
                            unit.name()
                        )
                    })?;
                    (range, Some(step))
                }
                None => (part, None),
            };
            let (start, end) = if range == "*" || range == "?" {
                if text == part {
                    step_from_star = Some(step.unwrap_or(1));
                }
                (min, if unit == Unit::DayOfWeek { 6 } else { max })
            } else if let Some((a, b)) = range.split_once('-') {
                (value(unit, a, part)?, value(unit, b, part)?)
            } else {
                let start = value(unit, range, part)?;
                // Vixie: `a/n` means from a to the end of the range.
                (start, if step.is_some() { max } else { start })
            };
            let step = step.unwrap_or(1);
            if start <= end {
                values.extend((start..=end).step_by(step as usize));
            } else if unit == Unit::DayOfWeek {
                // A range over the weekend, like FRI-MON.
                values.extend((start..=6).chain(0..=end).step_by(step as usize));
            } else {
                return Err(format!(
                    "{} field: range `{part}` runs backwards; write the smaller value first",
                    unit.name()
                ));
            }
        }
        if unit == Unit::DayOfWeek && values.remove(&7) {
            values.insert(0);
        }
        let starred = text.starts_with('*') || text.starts_with('?');
        Ok(Self {
            unit,
            values,
            starred,
            step_from_star,
        })
    }

    fn is_full(&self) -> bool {
        let (min, max) = self.unit.bounds();
        let max = if self.unit == Unit::DayOfWeek { 6 } else { max };
        self.values.len() == (max - min + 1) as usize
    }

    fn single(&self) -> Option<u32> {
        (self.values.len() == 1).then(|| *self.values.first().expect("one value"))
    }

    /// The field in the `cron` crate's syntax: `*` or an explicit list, weekdays by name.
    fn to_crate_syntax(&self) -> String {
        if self.is_full() {
            return "*".to_owned();
        }
        self.values
            .iter()
            .map(|v| match self.unit {
                Unit::DayOfWeek => WEEKDAYS[*v as usize].to_owned(),
                _ => v.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn value(unit: Unit, text: &str, part: &str) -> Result<u32, String> {
    let (min, max) = unit.bounds();
    if let Some(v) = unit.value_of_name(text) {
        return Ok(v);
    }
    let number: u32 = text.parse().map_err(|_| {
        let hint = match unit {
            Unit::Month => " (a number 1-12 or a name like JAN)",
            Unit::DayOfWeek => " (0-7 with 0 and 7 = Sunday, or a name like MON)",
            _ => "",
        };
        format!(
            "{} field: `{text}` in `{part}` is not a valid value{hint}",
            unit.name()
        )
    })?;
    if number < min || number > max {
        return Err(format!(
            "{} field: {number} is out of range {min}-{max}",
            unit.name()
        ));
    }
    Ok(number)
}

fn expand_macro(expr: &str) -> Option<&'static str> {
    Some(match expr {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

impl CronExpr {
    pub fn parse(text: &str) -> Result<Self, String> {
        text.parse()
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first fire time strictly after `after`, in `after`'s time zone. Local times
    /// that a DST change skips do not fire; a repeated hour fires once.
    pub fn next_after<Z: TimeZone>(&self, after: &DateTime<Z>) -> Option<DateTime<Z>> {
        self.compiled
            .iter()
            .filter_map(|schedule| schedule.after(after).next())
            .min()
    }

    /// The expression in words, e.g. "every 5 minutes" or "at 02:00 on Mon-Fri".
    pub fn describe(&self) -> String {
        let [sec, min, hour, dom, month, dow] = &self.fields;
        let time = describe_time(sec, min, hour)
            .unwrap_or_else(|| format!("on the pattern `{}`", self.source));
        let mut words = vec![time];
        match (dom.starred, dow.starred) {
            (true, true) => {}
            (false, true) => {
                words.push(format!("on day {} of the month", join_numbers(&dom.values)))
            }
            (true, false) => words.push(format!("on {}", describe_weekdays(&dow.values))),
            (false, false) => words.push(format!(
                "on day {} of the month or on {}",
                join_numbers(&dom.values),
                describe_weekdays(&dow.values)
            )),
        }
        if !month.is_full() {
            let names: Vec<_> = month
                .values
                .iter()
                .map(|m| title_case(MONTHS[*m as usize - 1]))
                .collect();
            words.push(format!("in {}", names.join(", ")));
        }
        words.join(" ")
    }
}

fn describe_time(sec: &Field, min: &Field, hour: &Field) -> Option<String> {
    let every = |n: u32, unit: &str| {
        if n == 1 {
            format!("every {unit}")
        } else {
            format!("every {n} {unit}s")
        }
    };
    match (sec.single(), min.single(), hour.single()) {
        (Some(0), Some(m), Some(h)) => Some(format!("at {h:02}:{m:02}")),
        (Some(s), Some(m), Some(h)) => Some(format!("at {h:02}:{m:02}:{s:02}")),
        (Some(0), Some(m), None) if hour.is_full() => Some(format!("every hour at :{m:02}")),
        (Some(0), Some(m), None) => hour
            .step_from_star
            .map(|n| format!("{} at :{m:02}", every(n, "hour"))),
        (Some(0), None, None) if hour.is_full() => min.step_from_star.map(|n| every(n, "minute")),
        (None, None, None) if min.is_full() && hour.is_full() => {
            sec.step_from_star.map(|n| every(n, "second"))
        }
        _ => None,
    }
}

fn join_numbers(values: &BTreeSet<u32>) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Weekdays with consecutive runs folded, Monday first: "Mon-Fri", "Sat, Sun".
fn describe_weekdays(values: &BTreeSet<u32>) -> String {
    let monday_first: Vec<u32> = (1..=6).chain([0]).filter(|d| values.contains(d)).collect();
    let position = |d: u32| (d + 6) % 7;
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for day in monday_first {
        match runs.last_mut() {
            Some((_, end)) if position(*end) + 1 == position(day) => *end = day,
            _ => runs.push((day, day)),
        }
    }
    runs.iter()
        .map(|(a, b)| {
            let name = |d: u32| title_case(WEEKDAYS[d as usize]);
            match position(*b) - position(*a) {
                0 => name(*a),
                1 => format!("{}, {}", name(*a), name(*b)),
                _ => format!("{}-{}", name(*a), name(*b)),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn title_case(upper: &str) -> String {
    let mut chars = upper.chars();
    chars
        .next()
        .map(|first| first.to_string() + &chars.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

impl FromStr for CronExpr {
    type Err = String;

    fn from_str(expr: &str) -> Result<Self, String> {
        let source = expr.trim().to_owned();
        let expanded = expand_macro(&source).unwrap_or(&source);
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        let with_seconds: Vec<&str> = match parts.len() {
            5 => std::iter::once("0").chain(parts.iter().copied()).collect(),
            6 => parts,
            n => {
                return Err(format!(
                    "cron expression `{source}` has {n} fields; write 5 (minute hour day month weekday) or 6 (second minute hour day month weekday)"
                ));
            }
        };
        let units = [
            Unit::Second,
            Unit::Minute,
            Unit::Hour,
            Unit::DayOfMonth,
            Unit::Month,
            Unit::DayOfWeek,
        ];
        let mut fields = Vec::with_capacity(6);
        for (unit, text) in units.into_iter().zip(&with_seconds) {
            fields.push(
                Field::parse(unit, text).map_err(|e| format!("cron expression `{source}`: {e}"))?,
            );
        }
        let fields: [Field; 6] = fields.try_into().expect("six fields");
        let compiled = compile(&fields).map_err(|e| format!("cron expression `{source}`: {e}"))?;
        Ok(Self {
            source,
            fields,
            compiled,
        })
    }
}

fn compile(fields: &[Field; 6]) -> Result<Vec<cron::Schedule>, String> {
    let [sec, min, hour, dom, month, dow] = fields;
    let build = |dom: &str, dow: &str| {
        let text = format!(
            "{} {} {} {dom} {} {dow}",
            sec.to_crate_syntax(),
            min.to_crate_syntax(),
            hour.to_crate_syntax(),
            month.to_crate_syntax()
        );
        cron::Schedule::from_str(&text).map_err(|e| e.to_string())
    };
    let (dom_text, dow_text) = (dom.to_crate_syntax(), dow.to_crate_syntax());
    if dom.starred || dow.starred {
        // Vixie: a starred day field does not restrict; the other one decides alone.
        let dom_text = if dom.starred && !dow.starred {
            "*"
        } else {
            &dom_text
        };
        let dow_text = if dow.starred && !dom.starred {
            "*"
        } else {
            &dow_text
        };
        Ok(vec![build(dom_text, dow_text)?])
    } else {
        Ok(vec![build(&dom_text, "*")?, build("*", &dow_text)?])
    }
}

/// When an integration fires.
#[derive(Debug, Clone)]
pub enum Schedule {
    Cron(Box<CronExpr>),
    /// Every `interval`, at a fixed offset (`phase`) within it that is derived from the
    /// integration's name: many integrations with the same interval spread out instead
    /// of firing in one burst, and the fire times stay the same across restarts.
    Every {
        interval: Duration,
        phase: Duration,
    },
}

impl Schedule {
    pub fn every(interval: Duration, name: &str) -> Self {
        let period = interval.as_millis().max(1) as u64;
        Self::Every {
            interval,
            phase: Duration::from_millis(fnv1a(name.as_bytes()) % period),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Cron(expr) => expr.describe(),
            Self::Every { interval, .. } => {
                format!("every {}", humantime::format_duration(*interval))
            }
        }
    }

    /// The next fire strictly after `after`.
    pub fn next_after<Z: TimeZone>(&self, after: &DateTime<Z>) -> Option<DateTime<Z>> {
        match self {
            Self::Cron(expr) => expr.next_after(after),
            Self::Every { interval, phase } => {
                let period = interval.as_millis().max(1) as i64;
                let phase = phase.as_millis() as i64;
                let now = after.timestamp_millis();
                let next = ((now - phase).div_euclid(period) + 1) * period + phase;
                let zone = after.timezone();
                chrono::DateTime::from_timestamp_millis(next).map(|t| t.with_timezone(&zone))
            }
        }
    }
}

crate::config::deserialize_with_parse!(CronExpr);

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cron(expr) => write!(f, "cron \"{}\"", expr.source),
            Self::Every { interval, .. } => {
                write!(f, "every \"{}\"", humantime::format_duration(*interval))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, Timelike, Utc, Weekday};
    use chrono_tz::Tz;

    fn cron(expr: &str) -> CronExpr {
        expr.parse().unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, 0)
                .unwrap(),
        )
    }

    /// The weekdays a "midnight on <dow>" expression fires on, over two weeks.
    fn weekdays_of(dow: &str) -> std::collections::HashSet<Weekday> {
        let expr = cron(&format!("0 0 * * {dow}"));
        let mut t = at(2026, 11, 1, 0, 30);
        let mut days = std::collections::HashSet::new();
        for _ in 0..14 {
            match expr.next_after(&t) {
                Some(next) => {
                    days.insert(next.weekday());
                    t = next;
                }
                None => break,
            }
        }
        days
    }

    #[test]
    fn every_weekday_number_and_name_means_what_vixie_cron_means() {
        use Weekday::*;
        let expected = [Sun, Mon, Tue, Wed, Thu, Fri, Sat, Sun];
        for (number, day) in expected.iter().enumerate() {
            assert_eq!(
                weekdays_of(&number.to_string()),
                std::collections::HashSet::from([*day]),
                "weekday {number}"
            );
        }
        for (name, day) in ["SUN", "mon", "Tue", "WED", "thu", "FRI", "sat"]
            .iter()
            .zip(expected)
        {
            assert_eq!(
                weekdays_of(name),
                std::collections::HashSet::from([day]),
                "weekday {name}"
            );
        }
    }

    #[test]
    fn weekday_ranges_lists_and_steps() {
        use Weekday::*;
        assert_eq!(
            weekdays_of("1-5"),
            std::collections::HashSet::from([Mon, Tue, Wed, Thu, Fri])
        );
        assert_eq!(
            weekdays_of("MON-FRI"),
            std::collections::HashSet::from([Mon, Tue, Wed, Thu, Fri])
        );
        assert_eq!(
            weekdays_of("5-7"),
            std::collections::HashSet::from([Fri, Sat, Sun])
        );
        assert_eq!(
            weekdays_of("FRI-MON"),
            std::collections::HashSet::from([Fri, Sat, Sun, Mon])
        );
        assert_eq!(
            weekdays_of("0,6"),
            std::collections::HashSet::from([Sun, Sat])
        );
        assert_eq!(
            weekdays_of("*/2"),
            std::collections::HashSet::from([Sun, Tue, Thu, Sat])
        );
        assert_eq!(weekdays_of("*").len(), 7);
    }

    #[test]
    fn restricted_day_of_month_or_weekday_either_fires() {
        // Vixie: the 1st of the month *or* any Monday.
        let expr = cron("0 0 1 * MON");
        let mut t = at(2026, 11, 1, 12, 0); // Sunday the 1st, after midnight
        let mut fires = Vec::new();
        for _ in 0..6 {
            t = expr.next_after(&t).unwrap();
            fires.push((t.day(), t.weekday()));
        }
        assert_eq!(
            fires,
            [
                (2, Weekday::Mon),
                (9, Weekday::Mon),
                (16, Weekday::Mon),
                (23, Weekday::Mon),
                (30, Weekday::Mon),
                (1, Weekday::Tue), // December 1st
            ]
        );
    }

    #[test]
    fn six_fields_have_seconds_in_front() {
        let expr = cron("*/15 * * * * *");
        let next = expr.next_after(&at(2026, 1, 1, 0, 0)).unwrap();
        assert_eq!(next.second(), 15);
        let five = cron("*/5 * * * *");
        let next = five.next_after(&at(2026, 1, 1, 0, 0)).unwrap();
        assert_eq!((next.minute(), next.second()), (5, 0));
    }

    #[test]
    fn macros_and_month_names() {
        let next = cron("@daily").next_after(&at(2026, 1, 1, 5, 0)).unwrap();
        assert_eq!((next.day(), next.hour()), (2, 0));
        let next = cron("0 9 1 JUL *")
            .next_after(&at(2026, 1, 1, 5, 0))
            .unwrap();
        assert_eq!((next.month(), next.day(), next.hour()), (7, 1, 9));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("* * * *", "has 4 fields"),
            ("61 * * * *", "minute field: 61 is out of range 0-59"),
            ("0 25 * * *", "hour field: 25 is out of range"),
            ("0 0 * * 8", "day-of-week field: 8 is out of range 0-7"),
            ("0 0 * * FUN", "day-of-week field: `FUN`"),
            ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
            ("*/0 * * * *", "step `0`"),
            ("0 10-5 * * *", "runs backwards"),
        ];
        for (expr, expected) in cases {
            let error = expr.parse::<CronExpr>().unwrap_err();
            assert!(error.contains(expected), "{expr}: {error}");
        }
    }

    #[test]
    fn descriptions_in_words() {
        let cases = [
            ("0 */5 * * * *", "every 5 minutes"),
            ("* * * * *", "every minute"),
            ("*/10 * * * * *", "every 10 seconds"),
            ("30 2 * * *", "at 02:30"),
            ("0 9 * * 1-5", "at 09:00 on Mon-Fri"),
            ("0 9 * * 6,0", "at 09:00 on Sat, Sun"),
            ("15 * * * *", "every hour at :15"),
            ("0 */2 * * *", "every 2 hours at :00"),
            ("0 0 1 * *", "at 00:00 on day 1 of the month"),
            ("0 0 1 1 *", "at 00:00 on day 1 of the month in Jan"),
        ];
        for (expr, words) in cases {
            assert_eq!(cron(expr).describe(), words, "{expr}");
        }
    }

    #[test]
    fn time_zones_and_a_dst_change() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29: clocks jump from 02:00 to 03:00 in Berlin.
        let expr = cron("30 2 * * *");
        let before = zone.with_ymd_and_hms(2026, 3, 28, 3, 0, 0).unwrap();
        let next = expr.next_after(&before).unwrap();
        // 02:30 does not exist on the 29th: the next real 02:30 is on the 30th.
        assert_eq!((next.day(), next.hour(), next.minute()), (30, 2, 30));
        let hourly = cron("0 * * * *");
        let at_one = zone.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        let next = hourly.next_after(&at_one).unwrap();
        assert_eq!(next.hour(), 3);
        assert_eq!(next.with_timezone(&Utc).hour(), 1, "one real hour later");
        // Schedules are in the zone's wall clock.
        let nine = cron("0 9 * * *")
            .next_after(&zone.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap())
            .unwrap();
        assert_eq!(nine.with_timezone(&Utc).hour(), 7);
    }

    #[test]
    fn interval_schedules_fire_at_a_stable_phase_within_the_interval() {
        let schedule = Schedule::every(Duration::from_secs(30), "orders");
        let Schedule::Every { phase, .. } = schedule else {
            unreachable!()
        };
        assert!(phase < Duration::from_secs(30));
        let start = at(2026, 1, 1, 0, 0);
        let first = schedule.next_after(&start).unwrap();
        assert!(first > start && first <= start + chrono::Duration::seconds(30));
        let second = schedule.next_after(&first).unwrap();
        assert_eq!(second - first, chrono::Duration::seconds(30));
        assert_eq!(
            Schedule::every(Duration::from_secs(30), "orders").next_after(&start),
            Some(first)
        );
        let other = Schedule::every(Duration::from_secs(30), "users")
            .next_after(&start)
            .unwrap();
        assert_ne!(other, first, "different names spread out");
        assert_eq!(schedule.describe(), "every 30s");
    }
}
