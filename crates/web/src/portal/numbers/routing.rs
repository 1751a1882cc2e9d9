//! A customer account's routing table, in words, with a tracer that follows a call to one
//! dialled number at a chosen local date and time.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use tandem_app::{AppError, FieldError};
use tandem_domain::pbx::routing::{Action, Entry, EntryKind, Node, RoutingTable, Target};
use tandem_domain::pbx::{Greeting, RingStrategy};
use tandem_domain::TimeZoneName;

use super::super::{render, Chrome, Form};
use super::{form_status, international, AccountHead, RoutingPage};
use crate::AppState;

/// Reads a date (`YYYY-MM-DD`) and a time of day (`HH:MM` or `HH:MM:SS`, as a browser's time
/// input sends it) on the wall clock of `zone` as an instant. A time that is skipped when the
/// clocks go forward is read with the offset from before the change, so 02:30 on that day is
/// 03:30 after it. A time that occurs twice when the clocks go back is the first of the two.
/// This is jiff's `compatible` disambiguation, the rule of RFC 5545.
fn local_instant(date: &str, time: &str, zone: &TimeZoneName) -> Result<Timestamp, AppError> {
    let mut errors = Vec::new();
    let date = date.trim().parse::<jiff::civil::Date>().map_err(|_| {
        errors.push(FieldError::custom(
            "date",
            "invalid_date",
            format!("'{}' is not a date such as 2026-12-24", date.trim()),
        ))
    });
    let time = time.trim().parse::<jiff::civil::Time>().map_err(|_| {
        errors.push(FieldError::custom(
            "time",
            "invalid_time",
            format!("'{}' is not a time of day such as 09:30", time.trim()),
        ))
    });
    let (Ok(date), Ok(time)) = (date, time) else {
        return Err(AppError::Invalid(errors));
    };
    date.to_datetime(time)
        .to_zoned(zone.to_tz())
        .map(|zoned| zoned.timestamp())
        .map_err(|error| {
            AppError::Invalid(vec![FieldError::custom(
                "date",
                "invalid_date",
                format!(
                    "that date and time cannot be read in {}: {error}",
                    zone.as_str()
                ),
            )])
        })
}

/// Returns the date (`YYYY-MM-DD`) and time (`HH:MM`) of `at` on the wall clock of `zone`.
pub(super) fn local_parts(at: Timestamp, zone: &TimeZoneName) -> (String, String) {
    let zoned = at.to_zoned(zone.to_tz());
    (
        zoned.strftime("%Y-%m-%d").to_string(),
        zoned.strftime("%H:%M").to_string(),
    )
}

/// The trace form as entered.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TraceQuery {
    dialled: String,
    date: String,
    time: String,
}

/// A hop of a call, linked to the node it reaches when it reaches one.
struct TargetView {
    text: String,
    href: Option<String>,
}

/// One line of a node's action: what happens, and where the call goes.
struct ActionLine {
    label: String,
    text: String,
    target: Option<TargetView>,
}

/// An object of the account with its action.
struct NodeView {
    id: String,
    title: String,
    lines: Vec<ActionLine>,
}

/// A dialled number and where its calls start.
struct EntryView {
    dialled: String,
    kind: &'static str,
    live: bool,
    start: Option<TargetView>,
}

/// One step of a traced call.
struct StepView {
    text: String,
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "routing.html")]
struct RoutingView {
    chrome: Chrome,
    head: AccountHead,
    form: Form,
    /// Numbers offered as suggestions for the dialled field: the account's numbers, its short
    /// numbers and the emergency numbers.
    suggestions: Vec<(String, String)>,
    time_zone: String,
    trace_at: Option<String>,
    trace_dialled: String,
    steps: Vec<StepView>,
    /// The reason the configuration does not compile, when it does not.
    compile_error: Option<String>,
    warnings: Vec<String>,
    emergency: Vec<(String, String)>,
    entries: Vec<EntryView>,
    nodes: Vec<NodeView>,
    allowed: String,
    dial_rules: Vec<String>,
}

fn node_href(id: &str) -> String {
    format!("#node-{id}")
}

fn target_view(target: &Target) -> TargetView {
    match target {
        Target::Node { id, label } => TargetView {
            text: label.clone(),
            href: Some(node_href(id)),
        },
        Target::External { number } => TargetView {
            text: format!("outside number {}", international(number)),
            href: None,
        },
        Target::Hangup => TargetView {
            text: "hang up".into(),
            href: None,
        },
        Target::OwnVoicemail { extension, label } => TargetView {
            text: format!("own voicemail of {label}"),
            href: Some(node_href(extension)),
        },
    }
}

fn line(label: &str, text: impl Into<String>) -> ActionLine {
    ActionLine {
        label: label.to_string(),
        text: text.into(),
        target: None,
    }
}

fn goes(label: &str, target: &Target) -> ActionLine {
    ActionLine {
        label: label.to_string(),
        text: String::new(),
        target: Some(target_view(target)),
    }
}

/// Builds a line that leads to `target`, or that reads `otherwise` when there is none.
fn goes_or(label: &str, target: Option<&Target>, otherwise: &str) -> ActionLine {
    match target {
        Some(target) => goes(label, target),
        None => line(label, otherwise),
    }
}

/// Names a target inside a sentence, such as a ring group's member list.
fn target_name(target: &Target) -> String {
    target_view(target).text
}

/// Describes a node's action as lines: whom it rings, for how long, and where the call goes
/// next.
fn action_lines(action: &Action) -> Vec<ActionLine> {
    match action {
        Action::RingExtension {
            seconds,
            voicemail,
            always,
            busy,
            no_answer,
            unreachable,
        } => {
            if let Some(always) = always {
                return vec![goes("Forwards every call to", always)];
            }
            vec![
                line("Rings", format!("its phones for {seconds} s")),
                goes_or("If busy", busy.as_ref(), "the caller hears a busy tone"),
                goes_or("If nobody answers", no_answer.as_ref(), "the call ends"),
                goes_or(
                    "If no phone is registered",
                    unreachable.as_ref(),
                    "the call ends",
                ),
                line("Voicemail", if *voicemail { "yes" } else { "no" }),
            ]
        }
        Action::RingGroup {
            strategy,
            seconds,
            members,
            no_answer,
        } => {
            let names: Vec<String> = members.iter().map(target_name).collect();
            let rings = if names.is_empty() {
                "nobody: the group has no members".to_string()
            } else {
                let names = names.join(", ");
                match strategy {
                    RingStrategy::Simultaneous => format!("{names}, all at once, for {seconds} s"),
                    RingStrategy::Sequential => {
                        format!("{names}, one after another, {seconds} s each")
                    }
                    RingStrategy::RoundRobin => format!(
                        "{names} in turn, starting after the member who answered last, \
                         {seconds} s each"
                    ),
                }
            };
            vec![line("Rings", rings), goes("If nobody answers", no_answer)]
        }
        Action::Menu {
            greeting,
            timeout_seconds,
            repeat,
            options,
            timeout,
            invalid,
        } => {
            let greeting = match greeting {
                Greeting::Text(text) => format!("reads \"{text}\""),
                Greeting::Recording(media) => format!("plays the recording {media}"),
            };
            let times = match repeat {
                1 => "once".to_string(),
                n => format!("up to {n} times"),
            };
            let mut lines = vec![
                line("Greeting", greeting),
                line(
                    "Waits",
                    format!("{timeout_seconds} s for a key; the greeting plays {times}"),
                ),
            ];
            for (key, target) in options {
                lines.push(goes(&format!("Key {key}"), target));
            }
            lines.push(goes("No key pressed", timeout));
            lines.push(goes("Any other key", invalid));
            lines
        }
        Action::Voicemail { email } => vec![
            line("Records", "a message from the caller"),
            line(
                "Emails it to",
                email.clone().unwrap_or_else(|| "nobody".into()),
            ),
        ],
        Action::Schedule {
            open,
            closed,
            weekly,
            exceptions,
            ..
        } => {
            let mut lines = vec![
                line(
                    "Open hours",
                    if weekly.is_empty() {
                        "none: always closed, apart from exceptions".to_string()
                    } else {
                        weekly.join(", ")
                    },
                ),
                goes("While open", open),
                goes("While closed", closed),
            ];
            if !exceptions.is_empty() {
                lines.push(line("Exceptions", exceptions.join("; ")));
            }
            lines
        }
        Action::Conference {
            max_participants,
            pin_required,
        } => vec![
            line(
                "Joins",
                format!("callers to the conference, up to {max_participants} participants"),
            ),
            line(
                "PIN",
                if *pin_required {
                    "required"
                } else {
                    "not required"
                },
            ),
        ],
    }
}

fn node_title(node: &Node) -> String {
    match &node.short_number {
        Some(number) => format!("{number} {} ({})", node.name, node.kind.label()),
        None => format!("{} ({})", node.name, node.kind.label()),
    }
}

fn entry_view(entry: &Entry) -> EntryView {
    EntryView {
        dialled: match entry.kind {
            EntryKind::Number => international(&entry.dialled),
            EntryKind::ShortNumber => entry.dialled.clone(),
        },
        kind: match entry.kind {
            EntryKind::Number => "Number",
            EntryKind::ShortNumber => "Short number",
        },
        live: entry.live,
        start: entry.start.as_ref().map(target_view),
    }
}

/// Sorts nodes by short number (numerically), then by name. Nodes without a short number come
/// last.
fn sorted_nodes(table: &RoutingTable) -> Vec<&Node> {
    let mut nodes: Vec<&Node> = table.nodes.values().collect();
    nodes.sort_by_key(|node| {
        let number = node
            .short_number
            .as_deref()
            .and_then(|n| n.parse::<u64>().ok());
        (number.is_none(), number, node.name.to_lowercase())
    });
    nodes
}

pub(super) async fn routing(
    State(state): State<AppState>,
    RoutingPage(page): RoutingPage,
    Query(query): Query<TraceQuery>,
) -> Response {
    let head = page.head();
    let chrome = page.chrome(&state, &format!("Routing of {}", head.name));
    let mut view = RoutingView {
        chrome,
        head,
        form: Form::default(),
        suggestions: Vec::new(),
        time_zone: page.customer.time_zone.clone(),
        trace_at: None,
        trace_dialled: String::new(),
        steps: Vec::new(),
        compile_error: None,
        warnings: Vec::new(),
        emergency: Vec::new(),
        entries: Vec::new(),
        nodes: Vec::new(),
        allowed: String::new(),
        dial_rules: Vec::new(),
    };
    let (table, config) = match state.app.routing_table(&page.op).await {
        Ok(compiled) => compiled,
        Err(AppError::Refused { message, .. }) => {
            // The message names every problem, while for a loop `details` holds only its path.
            view.compile_error = Some(message);
            return render(&view);
        }
        Err(error) => return page.error(&state, error),
    };
    let zone = config.time_zone.clone();
    view.time_zone = zone.as_str().to_string();
    let (today, now) = local_parts(Timestamp::now(), &zone);
    let date = if query.date.trim().is_empty() {
        today
    } else {
        query.date.clone()
    };
    let time = if query.time.trim().is_empty() {
        now
    } else {
        query.time.clone()
    };
    for (key, value) in [
        ("dialled", &query.dialled),
        ("date", &date),
        ("time", &time),
    ] {
        view.form.values.insert(key.to_string(), value.clone());
    }
    let mut status = StatusCode::OK;
    if !query.dialled.trim().is_empty() {
        let traced = match local_instant(&date, &time, &zone) {
            Ok(at) => state.app.trace_call(&page.op, &query.dialled, at).await,
            Err(error) => Err(error),
        };
        match traced {
            Ok(trace) => {
                view.trace_dialled = query.dialled.trim().to_string();
                view.trace_at = Some(trace.at_local);
                view.steps = trace
                    .steps
                    .into_iter()
                    .map(|step| StepView {
                        href: step.node.as_deref().map(node_href),
                        text: step.text,
                    })
                    .collect();
            }
            Err(error) => {
                status = form_status(&error);
                if let Err(error) = view.form.absorb(error, &|f| f.to_string()) {
                    return page.error(&state, error);
                }
            }
        }
    } else if !query.date.is_empty() || !query.time.is_empty() {
        status = StatusCode::UNPROCESSABLE_ENTITY;
        view.form.errors.insert(
            "dialled".into(),
            "enter the number someone dials: one of the account's numbers, a short number or \
             an emergency number"
                .into(),
        );
        view.form.order.push("dialled".into());
    }

    view.suggestions = table
        .entries
        .iter()
        .map(|entry| {
            let entry_line = entry_view(entry);
            let label = match &entry.start {
                Some(start) => format!("{} to {}", entry_line.dialled, target_name(start)),
                None => format!("{}, not routed", entry_line.dialled),
            };
            (entry_line.dialled, label)
        })
        .chain(
            table
                .emergency
                .iter()
                .map(|e| (e.dialled.clone(), format!("{} (emergency)", e.dialled))),
        )
        .collect();
    view.warnings = table.warnings.iter().map(|w| w.message.clone()).collect();
    view.emergency = table
        .emergency
        .iter()
        .map(|e| (e.dialled.clone(), e.note.clone()))
        .collect();
    view.entries = table.entries.iter().map(entry_view).collect();
    view.nodes = sorted_nodes(&table)
        .into_iter()
        .map(|node| NodeView {
            id: node.id.clone(),
            title: node_title(node),
            lines: action_lines(&node.action),
        })
        .collect();
    view.allowed = if table.allowed.is_empty() {
        "none: phones can only call inside the account and the emergency services".to_string()
    } else {
        table
            .allowed
            .iter()
            .map(|class| class.label())
            .collect::<Vec<_>>()
            .join(", ")
    };
    view.dial_rules = table
        .dial_rules
        .iter()
        .map(|rule| {
            let strip = match rule.strip {
                0 => "nothing is removed".to_string(),
                1 => "the first digit is removed".to_string(),
                n => format!("the first {n} digits are removed"),
            };
            let prepend = if rule.prepend.is_empty() {
                String::new()
            } else {
                format!(" and {} is put in front", rule.prepend)
            };
            format!("Digits starting with {}: {strip}{prepend}.", rule.prefix)
        })
        .collect();
    (status, render(&view)).into_response()
}

#[cfg(test)]
mod tests {
    use super::super::tests::field_names;
    use super::*;

    fn auckland() -> TimeZoneName {
        TimeZoneName::parse("Pacific/Auckland").unwrap()
    }

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn local_instant_reads_wall_clock() {
        // New Zealand daylight time is UTC+13 in January.
        let at = local_instant("2026-01-05", "10:00", &auckland()).unwrap();
        assert_eq!(at, utc("2026-01-04T21:00:00Z"));
        // Standard time is UTC+12 in July.
        let at = local_instant("2026-07-06", "09:30", &auckland()).unwrap();
        assert_eq!(at, utc("2026-07-05T21:30:00Z"));
    }

    #[test]
    fn local_instant_accepts_seconds() {
        let at = local_instant(" 2026-07-06 ", "09:30:15", &auckland()).unwrap();
        assert_eq!(at, utc("2026-07-05T21:30:15Z"));
    }

    #[test]
    fn local_instant_in_skipped_hour() {
        // Clocks go from 02:00 to 03:00 on 27 September 2026: 02:30 is read as 03:30 NZDT.
        let at = local_instant("2026-09-27", "02:30", &auckland()).unwrap();
        assert_eq!(at, utc("2026-09-26T14:30:00Z"));
    }

    #[test]
    fn local_instant_in_repeated_hour() {
        // Clocks go from 03:00 back to 02:00 on 5 April 2026: 02:30 is the first, NZDT one.
        let at = local_instant("2026-04-05", "02:30", &auckland()).unwrap();
        assert_eq!(at, utc("2026-04-04T13:30:00Z"));
    }

    #[test]
    fn local_instant_names_bad_fields() {
        let error = local_instant("5/1/2026", "10:00", &auckland()).unwrap_err();
        assert_eq!(field_names(error), vec!["date"]);
        let error = local_instant("2026-01-05", "25:00", &auckland()).unwrap_err();
        assert_eq!(field_names(error), vec!["time"]);
        let error = local_instant("", "", &auckland()).unwrap_err();
        assert_eq!(field_names(error), vec!["date", "time"]);
    }

    #[test]
    fn local_parts_round_trip() {
        let at = utc("2026-01-04T21:00:00Z");
        let (date, time) = local_parts(at, &auckland());
        assert_eq!(date, "2026-01-05");
        assert_eq!(time, "10:00");
        assert_eq!(local_instant(&date, &time, &auckland()).unwrap(), at);
    }

    #[test]
    fn extension_action_reads_plainly() {
        let voicemail = Target::Node {
            id: "pbx_1".into(),
            label: "voicemail box 800 \"Messages\"".into(),
        };
        let lines = action_lines(&Action::RingExtension {
            seconds: 20,
            voicemail: false,
            always: None,
            busy: None,
            no_answer: Some(voicemail),
            unreachable: Some(Target::Hangup),
        });
        let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "Rings",
                "If busy",
                "If nobody answers",
                "If no phone is registered",
                "Voicemail"
            ]
        );
        assert_eq!(lines[0].text, "its phones for 20 s");
        assert_eq!(lines[1].text, "the caller hears a busy tone");
        let target = lines[2].target.as_ref().expect("no-answer target");
        assert_eq!(target.text, "voicemail box 800 \"Messages\"");
        assert_eq!(target.href.as_deref(), Some("#node-pbx_1"));
        assert_eq!(lines[3].target.as_ref().unwrap().text, "hang up");
    }

    #[test]
    fn forwarded_extension_reads_one_line() {
        let lines = action_lines(&Action::RingExtension {
            seconds: 20,
            voicemail: true,
            always: Some(Target::External {
                number: "+6421123456".into(),
            }),
            busy: None,
            no_answer: None,
            unreachable: None,
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].label, "Forwards every call to");
        let target = lines[0].target.as_ref().unwrap();
        assert!(
            target.text.starts_with("outside number +64 21"),
            "{}",
            target.text
        );
        assert_eq!(target.href, None);
    }

    #[test]
    fn ring_group_names_members_and_strategy() {
        let member = |id: &str, label: &str| Target::Node {
            id: id.into(),
            label: label.into(),
        };
        let lines = action_lines(&Action::RingGroup {
            strategy: RingStrategy::Sequential,
            seconds: 15,
            members: vec![member("pbx_a", "101 Ann"), member("pbx_b", "102 Bob")],
            no_answer: Target::Hangup,
        });
        assert_eq!(
            lines[0].text,
            "101 Ann, 102 Bob, one after another, 15 s each"
        );
        assert_eq!(lines[1].label, "If nobody answers");
    }
}
