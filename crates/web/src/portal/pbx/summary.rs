//! The one-line summaries of the object lists: each object's settings and where it sends
//! calls.

use tandem_app::pbx::ObjectView;
use tandem_domain::pbx::schedule::{Day, Schedule};
use tandem_domain::pbx::{Destination, Greeting, Member, ObjectSettings, RingStrategy};

use super::fields::readable_number;
use super::form::target_label;

/// Names a destination in a summary: `101 Reception (extension)`, a phone number or
/// `hang up`.
fn destination(target: &Destination, objects: &[ObjectView]) -> String {
    match target {
        Destination::Hangup => "hang up".to_owned(),
        Destination::External(e164) => readable_number(e164),
        Destination::Object(id) => objects
            .iter()
            .find(|view| &view.id == id)
            .map(target_label)
            .unwrap_or_else(|| format!("missing object {id}")),
    }
}

/// Summarises an object's settings on one line; `objects` names its destinations.
pub(super) fn describe(view: &ObjectView, objects: &[ObjectView]) -> String {
    let to = |target: &Destination| destination(target, objects);
    let mut parts: Vec<String> = Vec::new();
    match &view.settings {
        ObjectSettings::Extension(ext) => {
            if let Some(target) = &ext.forward_always {
                parts.push(format!("every call → {}", to(target)));
            }
            parts.push(if ext.voicemail {
                "voicemail on".to_owned()
            } else {
                "no voicemail".to_owned()
            });
            if let Some(target) = &ext.forward_busy {
                parts.push(format!("busy → {}", to(target)));
            }
            if let Some(target) = &ext.forward_no_answer {
                let seconds = ext.no_answer_seconds;
                parts.push(format!("no answer in {seconds} s → {}", to(target)));
            }
            if let Some(target) = &ext.forward_unreachable {
                parts.push(format!("unreachable → {}", to(target)));
            }
            if let Some(number) = &ext.caller_id {
                parts.push(format!("caller ID {}", readable_number(number)));
            }
        }
        ObjectSettings::RingGroup(group) => {
            let members: Vec<String> = group
                .members
                .iter()
                .map(|member| match member {
                    Member::Extension(id) => to(&Destination::Object(id.clone())),
                    Member::External(number) => readable_number(number),
                })
                .collect();
            let strategy = match group.strategy {
                RingStrategy::Simultaneous => "all at once",
                RingStrategy::Sequential => "in order",
                RingStrategy::RoundRobin => "round robin",
            };
            parts.push(format!("rings {strategy}: {}", members.join(", ")));
            parts.push(format!(
                "no answer in {} s → {}",
                group.ring_seconds,
                to(&group.no_answer)
            ));
        }
        ObjectSettings::IvrMenu(menu) => {
            parts.push(match &menu.greeting {
                Greeting::Text(text) => format!("says \"{}\"", shortened(text, 40)),
                Greeting::Recording(_) => "plays a recording".to_owned(),
            });
            for (key, target) in &menu.options {
                parts.push(format!("{key} → {}", to(target)));
            }
            parts.push(format!("no key → {}", to(&menu.timeout)));
            parts.push(format!("other keys → {}", to(&menu.invalid)));
        }
        ObjectSettings::VoicemailBox(mailbox) => parts.push(match &mailbox.email {
            Some(email) => format!("messages emailed to {email}"),
            None => "messages not emailed".to_owned(),
        }),
        ObjectSettings::TimeCondition(condition) => {
            parts.push(weekly_hours(&condition.schedule));
            match condition.schedule.exceptions.len() {
                0 => {}
                1 => parts.push("1 dated exception".to_owned()),
                n => parts.push(format!("{n} dated exceptions")),
            }
            parts.push(format!("open → {}", to(&condition.open)));
            parts.push(format!("closed → {}", to(&condition.closed)));
        }
        ObjectSettings::ConferenceBridge(bridge) => {
            parts.push(match bridge.pin {
                Some(_) => "PIN required".to_owned(),
                None => "no PIN".to_owned(),
            });
            parts.push(format!("up to {} participants", bridge.max_participants));
        }
    }
    capitalised_first(&parts.join("; "))
}

/// Summarises the weekly hours, joining consecutive days of equal hours: `Mon–Fri 09:00–17:00`.
fn weekly_hours(schedule: &Schedule) -> String {
    let hours_of = |day: Day| {
        let ranges: Vec<String> = schedule
            .weekly
            .iter()
            .filter(|hours| hours.day == day)
            .map(|hours| format!("{}–{}", hours.open, hours.close))
            .collect();
        ranges.join(" and ")
    };
    let mut runs: Vec<(Day, Day, String)> = Vec::new();
    for day in Day::ALL {
        let hours = hours_of(day);
        match runs.last_mut() {
            Some((_, last, previous)) if *previous == hours => *last = day,
            _ => runs.push((day, day, hours)),
        }
    }
    let open: Vec<String> = runs
        .into_iter()
        .filter(|(_, _, hours)| !hours.is_empty())
        .map(|(first, last, hours)| {
            if first == last {
                format!("{} {hours}", day_name(first))
            } else {
                format!("{}–{} {hours}", day_name(first), day_name(last))
            }
        })
        .collect();
    if open.is_empty() {
        "closed all week".to_owned()
    } else {
        format!("open {}", open.join(", "))
    }
}

fn day_name(day: Day) -> &'static str {
    match day {
        Day::Mon => "Mon",
        Day::Tue => "Tue",
        Day::Wed => "Wed",
        Day::Thu => "Thu",
        Day::Fri => "Fri",
        Day::Sat => "Sat",
        Day::Sun => "Sun",
    }
}

/// Returns the first `max` characters of `text`, with an ellipsis when it was longer.
fn shortened(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

fn capitalised_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use tandem_domain::pbx::schedule::{ClockTime, WeeklyHours};

    use super::*;

    fn hours(day: Day, open: &str, close: &str) -> WeeklyHours {
        WeeklyHours {
            day,
            open: ClockTime::parse(open).unwrap(),
            close: ClockTime::parse(close).unwrap(),
        }
    }

    #[test]
    fn weekly_hours_join_equal_days() {
        let mut schedule = Schedule::default();
        for day in [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri] {
            schedule.weekly.push(hours(day, "09:00", "17:00"));
        }
        schedule.weekly.push(hours(Day::Sat, "10:00", "12:00"));
        assert_eq!(
            weekly_hours(&schedule),
            "open Mon–Fri 09:00–17:00, Sat 10:00–12:00"
        );
    }

    #[test]
    fn weekly_hours_closed() {
        assert_eq!(weekly_hours(&Schedule::default()), "closed all week");
    }

    #[test]
    fn shortened_adds_ellipsis() {
        assert_eq!(shortened("Welcome", 40), "Welcome");
        assert_eq!(shortened("Welcome to Harbour", 7), "Welcome…");
    }
}
