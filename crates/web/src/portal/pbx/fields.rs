//! The fields of the phone-system forms. This module makes the form values of a saved object
//! or policy, and the use-case input of posted values. It reads and writes the one-per-line
//! formats of the text areas, and maps the use cases' field names back to the form's fields.
//!
//! Posted values are checked here only for what the form's own layout adds (a number field
//! that is not a number, a line of a text area without its parts, an opening time without a
//! closing time). Everything else is left to the use cases, whose messages the form shows.

use std::collections::HashMap;

use tandem_app::pbx::{
    DialRuleInput, ExceptionInput, ObjectInput, ObjectView, PolicyInput, WeeklyInput,
};
use tandem_app::{AppError, FieldError};
use tandem_domain::pbx::schedule::{DatedException, Day};
use tandem_domain::pbx::{
    Destination, DestinationClass, DialRule, Greeting, Member, ObjectKind, ObjectSettings,
    OutboundPolicy,
};
use tandem_domain::PhoneNumber;

use crate::portal::Form;

/// Form values by field name.
pub(super) type Values = HashMap<String, String>;

/// The keys of an IVR menu in keypad order, with the suffix of each key's form field. `*` and
/// `#` get words because an element id that a link targets cannot contain `#`.
pub(super) const IVR_KEYS: [(char, &str); 12] = [
    ('1', "1"),
    ('2', "2"),
    ('3', "3"),
    ('4', "4"),
    ('5', "5"),
    ('6', "6"),
    ('7', "7"),
    ('8', "8"),
    ('9', "9"),
    ('0', "0"),
    ('*', "star"),
    ('#', "hash"),
];

/// The value of a destination select that ends the call.
pub(super) const HANGUP: &str = "hangup";
/// The value of a destination select that takes the number typed next to it.
pub(super) const OUTSIDE: &str = "outside";

/// The extension forwarding settings, in the order the form shows them.
pub(super) const FORWARDS: [&str; 4] = [
    "forward_always",
    "forward_busy",
    "forward_no_answer",
    "forward_unreachable",
];

/// Returns the trimmed value of a field, or "".
fn value<'a>(values: &'a Values, name: &str) -> &'a str {
    values.get(name).map(|v| v.trim()).unwrap_or("")
}

/// Returns the trimmed value of a field, or `None` when it is blank.
fn optional(values: &Values, name: &str) -> Option<String> {
    Some(value(values, name))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Returns whether a checkbox was ticked.
fn checked(values: &Values, name: &str) -> bool {
    matches!(value(values, name), "on" | "true" | "1" | "yes")
}

/// Returns the name of the text field with the outside number of destination field `name`.
pub(super) fn number_field(name: &str) -> String {
    format!("{name}_number")
}

/// Returns the name of an IVR key's destination field, such as `option_1` or `option_star`.
pub(super) fn option_field(suffix: &str) -> String {
    format!("option_{suffix}")
}

/// Returns the name of one opening or closing time of a weekday: `end` is `open` or `close`.
pub(super) fn hours_field(day: Day, slot: usize, end: &str) -> String {
    format!("hours_{}_{slot}_{end}", day.as_str())
}

/// Returns the name of the checkbox of one destination class on the outbound policy form.
pub(super) fn class_field(class: DestinationClass) -> String {
    format!("allowed_{}", class.as_str())
}

// ---------------------------------------------------------------------------------------------
// Saved settings as form values
// ---------------------------------------------------------------------------------------------

/// Writes a destination into its select and outside-number fields; `None` leaves both empty.
fn put_destination(values: &mut Values, name: &str, destination: Option<&Destination>) {
    let (choice, number) = match destination {
        None => (String::new(), String::new()),
        Some(Destination::Hangup) => (HANGUP.to_owned(), String::new()),
        Some(Destination::Object(id)) => (id.to_string(), String::new()),
        Some(Destination::External(e164)) => (OUTSIDE.to_owned(), readable_number(e164)),
    };
    values.insert(name.to_owned(), choice);
    values.insert(number_field(name), number);
}

/// Formats a stored E.164 number for people, such as `+64 21 555 1234`.
pub(super) fn readable_number(e164: &str) -> String {
    PhoneNumber::parse_e164(e164)
        .map(|n| n.format_international())
        .unwrap_or_else(|_| e164.to_owned())
}

/// Returns the form values of a new object of `kind`: the defaults the use case applies anyway.
pub(super) fn default_values(kind: ObjectKind) -> Values {
    let mut values = Values::new();
    let mut set = |name: &str, value: &str| {
        values.insert(name.to_owned(), value.to_owned());
    };
    match kind {
        ObjectKind::Extension => {
            set("voicemail", "on");
            set("no_answer_seconds", "20");
        }
        ObjectKind::RingGroup => {
            set("strategy", "simultaneous");
            set("ring_seconds", "20");
            set("no_answer", HANGUP);
        }
        ObjectKind::IvrMenu => {
            set("greeting", "text");
            set("timeout_seconds", "5");
            set("repeat", "3");
            set("timeout", HANGUP);
            set("invalid", HANGUP);
        }
        ObjectKind::ConferenceBridge => set("max_participants", "10"),
        ObjectKind::VoicemailBox | ObjectKind::TimeCondition => {}
    }
    values
}

/// Returns the form values of a saved object.
pub(super) fn object_values(view: &ObjectView) -> Values {
    let mut values = Values::new();
    values.insert(
        "number".into(),
        view.short_number.clone().unwrap_or_default(),
    );
    values.insert("name".into(), view.name.clone());
    values.insert("version".into(), view.version.to_string());
    match &view.settings {
        ObjectSettings::Extension(ext) => {
            let user_id = ext.user_id.as_ref().map(ToString::to_string);
            values.insert("user_id".into(), user_id.unwrap_or_default());
            values.insert(
                "caller_id".into(),
                ext.caller_id.clone().unwrap_or_default(),
            );
            if ext.voicemail {
                values.insert("voicemail".into(), "on".into());
            }
            let forwards = [
                &ext.forward_always,
                &ext.forward_busy,
                &ext.forward_no_answer,
                &ext.forward_unreachable,
            ];
            for (name, destination) in FORWARDS.iter().zip(forwards) {
                put_destination(&mut values, name, destination.as_ref());
            }
            values.insert(
                "no_answer_seconds".into(),
                ext.no_answer_seconds.to_string(),
            );
        }
        ObjectSettings::RingGroup(group) => {
            let mut numbers = Vec::new();
            let mut ticked = 0;
            for member in &group.members {
                match member {
                    Member::Extension(id) => {
                        values.insert(format!("member_{ticked}"), id.to_string());
                        ticked += 1;
                    }
                    Member::External(e164) => numbers.push(readable_number(e164)),
                }
            }
            values.insert("member_numbers".into(), numbers.join("\n"));
            values.insert("strategy".into(), group.strategy.as_str().into());
            values.insert("ring_seconds".into(), group.ring_seconds.to_string());
            put_destination(&mut values, "no_answer", Some(&group.no_answer));
        }
        ObjectSettings::IvrMenu(menu) => {
            match &menu.greeting {
                Greeting::Text(text) => {
                    values.insert("greeting".into(), "text".into());
                    values.insert("greeting_text".into(), text.clone());
                }
                Greeting::Recording(id) => {
                    values.insert("greeting".into(), "recording".into());
                    values.insert("greeting_recording".into(), id.to_string());
                }
            }
            for (key, suffix) in IVR_KEYS {
                put_destination(&mut values, &option_field(suffix), menu.options.get(&key));
            }
            values.insert("timeout_seconds".into(), menu.timeout_seconds.to_string());
            put_destination(&mut values, "timeout", Some(&menu.timeout));
            put_destination(&mut values, "invalid", Some(&menu.invalid));
            values.insert("repeat".into(), menu.repeat.to_string());
        }
        ObjectSettings::VoicemailBox(mailbox) => {
            values.insert("pin".into(), mailbox.pin.as_str().into());
            values.insert("email".into(), mailbox.email.clone().unwrap_or_default());
        }
        ObjectSettings::TimeCondition(condition) => {
            let mut slots: HashMap<Day, usize> = HashMap::new();
            for hours in &condition.schedule.weekly {
                let slot = slots.entry(hours.day).or_default();
                values.insert(
                    hours_field(hours.day, *slot, "open"),
                    hours.open.to_string(),
                );
                values.insert(
                    hours_field(hours.day, *slot, "close"),
                    hours.close.to_string(),
                );
                *slot += 1;
            }
            let lines: Vec<String> = condition
                .schedule
                .exceptions
                .iter()
                .map(format_exception)
                .collect();
            values.insert("exceptions".into(), lines.join("\n"));
            put_destination(&mut values, "open", Some(&condition.open));
            put_destination(&mut values, "closed", Some(&condition.closed));
        }
        ObjectSettings::ConferenceBridge(bridge) => {
            let pin = bridge.pin.as_ref().map(|p| p.as_str().to_owned());
            values.insert("pin".into(), pin.unwrap_or_default());
            values.insert(
                "max_participants".into(),
                bridge.max_participants.to_string(),
            );
        }
    }
    values
}

/// Returns the form values of an outbound policy.
pub(super) fn policy_values(policy: &OutboundPolicy) -> Values {
    let mut values = Values::new();
    for class in &policy.allowed {
        values.insert(class_field(*class), "on".into());
    }
    values.insert(
        "concurrent_calls".into(),
        policy.concurrent_calls.to_string(),
    );
    let rules: Vec<String> = policy.dial_rules.iter().map(format_dial_rule).collect();
    values.insert("dial_rules".into(), rules.join("\n"));
    values.insert("version".into(), policy.version.to_string());
    values
}

/// Returns the ids of the ticked ring group members, in the order the form listed them. Each
/// checkbox is named `member_N` after its position and carries the extension's id.
pub(super) fn ticked_members(values: &Values) -> Vec<String> {
    let mut ticked: Vec<(usize, String)> = values
        .iter()
        .filter_map(|(name, id)| {
            let position = name.strip_prefix("member_")?.parse().ok()?;
            Some((position, id.trim().to_owned()))
        })
        .filter(|(_, id)| !id.is_empty())
        .collect();
    ticked.sort();
    ticked.into_iter().map(|(_, id)| id).collect()
}

/// Counts the pairs of time fields a weekday shows: those filled, and one empty pair for
/// another opening on the same day.
pub(super) fn day_slots(values: &Values, day: Day) -> usize {
    let mut last_filled = None;
    let mut slot = 0;
    while values.contains_key(&hours_field(day, slot, "open"))
        || values.contains_key(&hours_field(day, slot, "close"))
    {
        let open = value(values, &hours_field(day, slot, "open"));
        let close = value(values, &hours_field(day, slot, "close"));
        if !open.is_empty() || !close.is_empty() {
            last_filled = Some(slot);
        }
        slot += 1;
    }
    last_filled.map_or(1, |slot| slot + 2)
}

// ---------------------------------------------------------------------------------------------
// The one-per-line formats of the text areas
// ---------------------------------------------------------------------------------------------

/// Writes a dated exception as its line: `2026-12-24 Christmas Eve 09:00-12:00`.
pub(super) fn format_exception(exception: &DatedException) -> String {
    let mut line = format!("{} {}", exception.date.as_string(), exception.name);
    for (open, close) in &exception.hours {
        line.push_str(&format!(" {open}-{close}"));
    }
    line
}

/// Reads one line of the dated exceptions: a date, a name, and optionally the hours open on
/// that date as `HH:MM-HH:MM` ranges at the end, such as `2026-12-24 Christmas Eve
/// 09:00-12:00`. Without hours the date is closed all day. The date and times are checked by
/// the use case.
pub(super) fn parse_exception(line: &str) -> Result<ExceptionInput, String> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    if words.is_empty() {
        return Err("The line is empty: write a date and a name.".into());
    }
    let date = words.remove(0).to_owned();
    let mut hours = Vec::new();
    while let Some(range) = words.last().and_then(|word| time_range(word)) {
        hours.insert(0, range);
        words.pop();
    }
    if words.is_empty() {
        return Err(format!(
            "'{}' has no name: write the date, then a name such as Christmas Day.",
            line.trim()
        ));
    }
    Ok(ExceptionInput {
        date,
        name: words.join(" "),
        hours,
    })
}

/// Splits `09:00-12:00` into its opening and closing times. The separator is a hyphen or an en
/// dash, and a trailing comma is ignored. Returns `None` for a word that is not a time range.
fn time_range(word: &str) -> Option<[String; 2]> {
    let word = word.trim_end_matches(',');
    let (open, close) = word.split_once('-').or_else(|| word.split_once('–'))?;
    let is_time =
        |text: &str| text.contains(':') && text.chars().all(|c| c.is_ascii_digit() || c == ':');
    (is_time(open) && is_time(close)).then(|| [open.to_owned(), close.to_owned()])
}

/// Writes a dial rule as its line: `PREFIX STRIP [PREPEND]`, such as `0 1 +64`.
pub(super) fn format_dial_rule(rule: &DialRule) -> String {
    if rule.prepend.is_empty() {
        format!("{} {}", rule.prefix, rule.strip)
    } else {
        format!("{} {} {}", rule.prefix, rule.strip, rule.prepend)
    }
}

/// Reads one dial rule line: `PREFIX STRIP [PREPEND]`. `1 1` strips a leading 1 and `0 1 +64`
/// replaces a leading 0 with +64. The digits are checked by the use case.
pub(super) fn parse_dial_rule(line: &str) -> Result<DialRuleInput, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (prefix, strip, prepend) = match words.as_slice() {
        [prefix, strip] => (*prefix, *strip, ""),
        [prefix, strip, prepend] => (*prefix, *strip, *prepend),
        _ => {
            return Err(format!(
                "'{}' is not a dial rule: write PREFIX STRIP [PREPEND], such as '1 1' to strip \
                 a leading 1 or '0 1 +64' to replace a leading 0 with +64.",
                line.trim()
            ))
        }
    };
    let strip: u8 = strip.parse().map_err(|_| {
        format!(
            "'{strip}' is not a number of digits to strip: give 0 to 10 after the prefix, as in \
             '1 1'."
        )
    })?;
    Ok(DialRuleInput {
        prefix: prefix.to_owned(),
        strip,
        prepend: prepend.to_owned(),
    })
}

/// Returns the non-blank lines of a text area, each with its line number counted from 1.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Posted values as use-case input
// ---------------------------------------------------------------------------------------------

/// A use case's input made from posted values, the problems the form's layout found, and how
/// to show the use case's errors on the form.
pub(super) struct Parsed<T> {
    pub input: T,
    /// Errors keyed by the form's field names.
    pub errors: Vec<FieldError>,
    pub labels: Labels,
}

/// Reads a whole number from a field. A blank field is `None`, so the use case's default applies.
fn whole_number<T: std::str::FromStr>(
    values: &Values,
    name: &str,
    example: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let text = value(values, name);
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(number) => Some(number),
        Err(_) => {
            errors.push(FieldError::custom(
                name,
                "not_a_number",
                format!("'{text}' is not a whole number: give one such as {example}."),
            ));
            None
        }
    }
}

/// Reads a destination field as the text the use case resolves: an object id, `hangup` or a
/// typed phone number. A number typed with nothing chosen in the select counts as chosen.
fn destination(values: &Values, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let choice = value(values, name);
    let number = value(values, &number_field(name));
    match choice {
        OUTSIDE if number.is_empty() => {
            errors.push(FieldError::custom(
                name,
                "required",
                "Type the outside number, or choose another destination.",
            ));
            None
        }
        OUTSIDE => Some(number.to_owned()),
        "" if number.is_empty() => None,
        "" => Some(number.to_owned()),
        object_or_hangup => Some(object_or_hangup.to_owned()),
    }
}

/// Makes the input of an object of `kind` from posted values.
pub(super) fn object_input(kind: ObjectKind, values: &Values) -> Parsed<ObjectInput> {
    let mut errors = Vec::new();
    let mut labels = Labels::default();
    let mut input = ObjectInput {
        number: value(values, "number").to_owned(),
        name: value(values, "name").to_owned(),
        version: value(values, "version").parse().ok(),
        ..ObjectInput::default()
    };
    match kind {
        ObjectKind::Extension => {
            input.user_id = optional(values, "user_id");
            input.caller_id = optional(values, "caller_id");
            input.voicemail = Some(checked(values, "voicemail"));
            input.forward_always = destination(values, "forward_always", &mut errors);
            input.forward_busy = destination(values, "forward_busy", &mut errors);
            input.forward_no_answer = destination(values, "forward_no_answer", &mut errors);
            input.forward_unreachable = destination(values, "forward_unreachable", &mut errors);
            input.no_answer_seconds = whole_number(values, "no_answer_seconds", "20", &mut errors);
            input.sip_password = optional(values, "sip_password");
        }
        ObjectKind::RingGroup => {
            for id in ticked_members(values) {
                input.members.push(id);
                labels.members.push(MemberSource::Extension);
            }
            for (line, number) in
                numbered_lines(values.get("member_numbers").map_or("", String::as_str))
            {
                input.members.push(number.to_owned());
                labels.members.push(MemberSource::Line(line));
            }
            input.strategy = optional(values, "strategy");
            input.ring_seconds = whole_number(values, "ring_seconds", "20", &mut errors);
            input.no_answer = destination(values, "no_answer", &mut errors);
        }
        ObjectKind::IvrMenu => {
            if value(values, "greeting") == "recording" {
                input.greeting_recording = optional(values, "greeting_recording");
                if input.greeting_recording.is_none() {
                    errors.push(FieldError::custom(
                        "greeting_file",
                        "required",
                        "Upload a recording, or choose the text greeting.",
                    ));
                }
            } else {
                input.greeting_text = optional(values, "greeting_text");
            }
            for (key, suffix) in IVR_KEYS {
                if let Some(target) = destination(values, &option_field(suffix), &mut errors) {
                    input.options.insert(key.to_string(), target);
                }
            }
            input.timeout_seconds = whole_number(values, "timeout_seconds", "5", &mut errors);
            input.timeout = destination(values, "timeout", &mut errors);
            input.invalid = destination(values, "invalid", &mut errors);
            input.repeat = whole_number(values, "repeat", "3", &mut errors);
        }
        ObjectKind::VoicemailBox => {
            input.pin = optional(values, "pin");
            input.email = optional(values, "email");
        }
        ObjectKind::TimeCondition => {
            input.weekly = weekly_input(values, &mut errors, &mut labels);
            let exceptions = values.get("exceptions").map_or("", String::as_str);
            let mut problems = Vec::new();
            for (line, text) in numbered_lines(exceptions) {
                match parse_exception(text) {
                    Ok(exception) => {
                        input.exceptions.push(exception);
                        labels.exception_lines.push(line);
                    }
                    Err(message) => problems.push(format!("Line {line}: {message}")),
                }
            }
            if !problems.is_empty() {
                errors.push(FieldError::custom(
                    "exceptions",
                    "invalid_line",
                    problems.join(" "),
                ));
            }
            input.open = destination(values, "open", &mut errors);
            input.closed = destination(values, "closed", &mut errors);
        }
        ObjectKind::ConferenceBridge => {
            input.pin = optional(values, "pin");
            input.max_participants = whole_number(values, "max_participants", "10", &mut errors);
        }
    }
    Parsed {
        input,
        errors,
        labels,
    }
}

/// Reads the weekly hours, one pair of fields per opening, skipping pairs left empty.
fn weekly_input(
    values: &Values,
    errors: &mut Vec<FieldError>,
    labels: &mut Labels,
) -> Vec<WeeklyInput> {
    let mut weekly = Vec::new();
    for day in Day::ALL {
        for slot in 0..day_slots(values, day) {
            let open_field = hours_field(day, slot, "open");
            let close_field = hours_field(day, slot, "close");
            let open = value(values, &open_field);
            let close = value(values, &close_field);
            match (open.is_empty(), close.is_empty()) {
                (true, true) => {}
                (false, false) => {
                    weekly.push(WeeklyInput {
                        day: day.as_str().to_owned(),
                        open: open.to_owned(),
                        close: close.to_owned(),
                    });
                    labels.weekly.push((day, slot));
                }
                (open_missing, _) => {
                    let missing = if open_missing {
                        open_field
                    } else {
                        close_field
                    };
                    errors.push(FieldError::custom(
                        missing,
                        "required",
                        "Give both an opening and a closing time, or leave both empty.",
                    ));
                }
            }
        }
    }
    weekly
}

/// Makes the input of an outbound policy from posted values.
pub(super) fn policy_input(values: &Values) -> Parsed<PolicyInput> {
    let mut errors = Vec::new();
    let mut labels = Labels::default();
    let allowed = DestinationClass::ALL
        .into_iter()
        .filter(|class| checked(values, &class_field(*class)))
        .map(|class| class.as_str().to_owned())
        .collect();
    let concurrent_calls = whole_number(values, "concurrent_calls", "10", &mut errors);
    let mut dial_rules = Vec::new();
    let mut problems = Vec::new();
    for (line, text) in numbered_lines(values.get("dial_rules").map_or("", String::as_str)) {
        match parse_dial_rule(text) {
            Ok(rule) => {
                dial_rules.push(rule);
                labels.dial_rule_lines.push(line);
            }
            Err(message) => problems.push(format!("Line {line}: {message}")),
        }
    }
    if !problems.is_empty() {
        errors.push(FieldError::custom(
            "dial_rules",
            "invalid_line",
            problems.join(" "),
        ));
    }
    Parsed {
        input: PolicyInput {
            allowed,
            concurrent_calls,
            dial_rules,
            version: value(values, "version").parse().ok(),
        },
        errors,
        labels,
    }
}

// ---------------------------------------------------------------------------------------------
// The use cases' field names on the form
// ---------------------------------------------------------------------------------------------

/// The origin of a ring group member of the input.
#[derive(Debug, Clone, Copy)]
pub(super) enum MemberSource {
    /// A ticked extension.
    Extension,
    /// A line of the outside numbers, counted from 1.
    Line(usize),
}

/// A record of what the form sent at each position of the input's lists, so that an error
/// about `exceptions[2]` or `members[1]` shows on the field and line it came from.
#[derive(Debug, Default)]
pub(super) struct Labels {
    weekly: Vec<(Day, usize)>,
    exception_lines: Vec<usize>,
    members: Vec<MemberSource>,
    dial_rule_lines: Vec<usize>,
}

/// Splits `name[3].rest` into `name`, 3 and `rest`.
fn indexed(field: &str) -> Option<(&str, usize, &str)> {
    let (name, rest) = field.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    Some((name, index.parse().ok()?, rest.trim_start_matches('.')))
}

impl Labels {
    /// Finds the form field of a use case's field name, and the line the error is about when
    /// the field is a text area.
    fn locate(&self, field: &str) -> (String, Option<usize>) {
        if let Some(key) = field.strip_prefix("options.") {
            let suffix = IVR_KEYS
                .iter()
                .find(|(k, _)| key.trim() == k.to_string())
                .map(|(_, suffix)| *suffix);
            return (suffix.map_or_else(|| "options".into(), option_field), None);
        }
        if field == "greeting" || field == "greeting_recording" {
            return ("greeting_file".into(), None);
        }
        let Some((name, index, rest)) = indexed(field) else {
            return (field.to_owned(), None);
        };
        match name {
            "weekly" => match self.weekly.get(index) {
                Some((day, slot)) => {
                    let end = if rest == "close" { "close" } else { "open" };
                    (hours_field(*day, *slot, end), None)
                }
                None => ("weekly".into(), None),
            },
            "exceptions" => (
                "exceptions".into(),
                self.exception_lines.get(index).copied(),
            ),
            "members" => match self.members.get(index) {
                Some(MemberSource::Line(line)) => ("member_numbers".into(), Some(*line)),
                _ => ("members".into(), None),
            },
            "dial_rules" => (
                "dial_rules".into(),
                self.dial_rule_lines.get(index).copied(),
            ),
            "allowed" => ("allowed".into(), None),
            _ => (field.to_owned(), None),
        }
    }

    /// Renames the errors to the form's fields, prefixing the line of a text area, and joins
    /// the errors that land on one field so that the form shows every one of them.
    fn relabel(&self, errors: Vec<FieldError>) -> Vec<FieldError> {
        let mut merged: Vec<FieldError> = Vec::new();
        for error in errors {
            let (field, line) = self.locate(&error.field);
            let message = match line {
                Some(line) => format!("Line {line}: {}", error.message),
                None => error.message,
            };
            match merged.iter_mut().find(|e| e.field == field) {
                Some(existing) => {
                    let separator = if existing.message.ends_with('.') {
                        " "
                    } else {
                        "; "
                    };
                    existing.message.push_str(separator);
                    existing.message.push_str(&message);
                }
                None => merged.push(FieldError {
                    field,
                    code: error.code,
                    message,
                }),
            }
        }
        merged
    }
}

/// Shows a use case's error on the form, on the fields the input came from. Returns the error
/// back when it is not about the input.
pub(super) fn absorb(form: &mut Form, error: AppError, labels: &Labels) -> Result<(), AppError> {
    let error = match error {
        AppError::Invalid(errors) => AppError::Invalid(labels.relabel(errors)),
        other => other,
    };
    form.absorb(error, &|field| labels.locate(field).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn exception_closed_all_day() {
        let exception = parse_exception("2026-12-25 Christmas Day").unwrap();
        assert_eq!(exception.date, "2026-12-25");
        assert_eq!(exception.name, "Christmas Day");
        assert!(exception.hours.is_empty());
    }

    #[test]
    fn exception_with_hours() {
        let exception = parse_exception("  2026-12-24 Christmas Eve 09:00-12:00 ").unwrap();
        assert_eq!(exception.date, "2026-12-24");
        assert_eq!(exception.name, "Christmas Eve");
        assert_eq!(
            exception.hours,
            vec![["09:00".to_string(), "12:00".to_string()]]
        );
    }

    #[test]
    fn exception_with_two_ranges() {
        let exception =
            parse_exception("2026-12-31 New Year's Eve 08:00-12:00, 13:00–15:30").unwrap();
        assert_eq!(exception.name, "New Year's Eve");
        assert_eq!(
            exception.hours,
            vec![
                ["08:00".to_string(), "12:00".to_string()],
                ["13:00".to_string(), "15:30".to_string()],
            ]
        );
    }

    #[test]
    fn exception_name_keeps_hyphenated_words() {
        let exception = parse_exception("2027-01-02 Day-after New Year").unwrap();
        assert_eq!(exception.name, "Day-after New Year");
        assert!(exception.hours.is_empty());
    }

    #[test]
    fn exception_without_name_is_rejected() {
        let error = parse_exception("2026-12-24 09:00-12:00").unwrap_err();
        assert!(error.contains("has no name"), "{error}");
        assert!(parse_exception("2026-12-24").is_err());
    }

    #[test]
    fn exception_round_trips_through_its_line() {
        let line = "2026-12-24 Christmas Eve 09:00-12:00 13:00-15:00";
        let input = parse_exception(line).unwrap();
        let exception = DatedException {
            date: tandem_domain::pbx::schedule::CalendarDate::parse(&input.date).unwrap(),
            name: input.name.clone(),
            hours: input
                .hours
                .iter()
                .map(|[open, close]| {
                    (
                        tandem_domain::pbx::schedule::ClockTime::parse(open).unwrap(),
                        tandem_domain::pbx::schedule::ClockTime::parse(close).unwrap(),
                    )
                })
                .collect(),
        };
        assert_eq!(format_exception(&exception), line);
    }

    #[test]
    fn dial_rule_strip_only() {
        let rule = parse_dial_rule("1 1").unwrap();
        assert_eq!(rule.prefix, "1");
        assert_eq!(rule.strip, 1);
        assert_eq!(rule.prepend, "");
    }

    #[test]
    fn dial_rule_with_prepend() {
        let rule = parse_dial_rule(" 0  1 +64 ").unwrap();
        assert_eq!(rule.prefix, "0");
        assert_eq!(rule.strip, 1);
        assert_eq!(rule.prepend, "+64");
        let formatted = format_dial_rule(&DialRule {
            prefix: rule.prefix,
            strip: rule.strip,
            prepend: rule.prepend,
        });
        assert_eq!(formatted, "0 1 +64");
    }

    #[test]
    fn dial_rule_shape_errors() {
        assert!(parse_dial_rule("1").unwrap_err().contains("PREFIX STRIP"));
        assert!(parse_dial_rule("1 1 +64 extra")
            .unwrap_err()
            .contains("PREFIX STRIP"));
        let error = parse_dial_rule("1 one").unwrap_err();
        assert!(error.contains("'one' is not a number of digits"), "{error}");
        assert!(parse_dial_rule("1 300").is_err());
    }

    #[test]
    fn policy_lines_errors_name_line() {
        let parsed = policy_input(&values(&[
            ("dial_rules", "1 1\n\n9\n0 1 +64"),
            ("version", "2"),
        ]));
        assert_eq!(parsed.input.dial_rules.len(), 2);
        assert_eq!(parsed.input.version, Some(2));
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].field, "dial_rules");
        assert!(
            parsed.errors[0].message.starts_with("Line 3: "),
            "{}",
            parsed.errors[0].message
        );
    }

    #[test]
    fn policy_use_case_errors_point_at_lines() {
        let parsed = policy_input(&values(&[("dial_rules", "1 1\n\n12345678901 0")]));
        let relabelled = parsed.labels.relabel(vec![FieldError::custom(
            "dial_rules[1].prefix",
            "invalid_prefix",
            "a prefix is 1 to 10 digits",
        )]);
        assert_eq!(relabelled[0].field, "dial_rules");
        assert_eq!(relabelled[0].message, "Line 3: a prefix is 1 to 10 digits");
    }

    #[test]
    fn policy_classes_from_checkboxes() {
        let parsed = policy_input(&values(&[
            ("allowed_national", "on"),
            ("allowed_international", "on"),
        ]));
        assert_eq!(parsed.input.allowed, vec!["national", "international"]);
        assert!(parsed.errors.is_empty());
    }

    #[test]
    fn weekly_pairs_and_half_pairs() {
        let parsed = object_input(
            ObjectKind::TimeCondition,
            &values(&[
                ("hours_mon_0_open", "09:00"),
                ("hours_mon_0_close", "12:00"),
                ("hours_mon_1_open", "13:00"),
                ("hours_mon_1_close", "17:00"),
                ("hours_mon_2_open", ""),
                ("hours_mon_2_close", ""),
                ("hours_tue_0_open", "09:00"),
                ("hours_tue_0_close", ""),
            ]),
        );
        let days: Vec<&str> = parsed.input.weekly.iter().map(|w| w.day.as_str()).collect();
        assert_eq!(days, vec!["mon", "mon"]);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].field, "hours_tue_0_close");
        let relabelled = parsed.labels.relabel(vec![FieldError::custom(
            "weekly[1].close",
            "invalid_time",
            "bad",
        )]);
        assert_eq!(relabelled[0].field, "hours_mon_1_close");
    }

    #[test]
    fn exception_errors_point_at_lines() {
        let parsed = object_input(
            ObjectKind::TimeCondition,
            &values(&[(
                "exceptions",
                "2026-12-25 Christmas Day\n\n2026-13-01 Not a date\n2026-12-31\n",
            )]),
        );
        assert_eq!(parsed.input.exceptions.len(), 2);
        assert_eq!(parsed.errors[0].field, "exceptions");
        assert!(parsed.errors[0].message.starts_with("Line 4: "));
        let relabelled = parsed.labels.relabel(vec![
            FieldError::custom("exceptions[1].date", "invalid_date", "not a date."),
            FieldError::custom("exceptions[0].name", "required", "a name is required."),
        ]);
        assert_eq!(relabelled.len(), 1);
        assert_eq!(
            relabelled[0].message,
            "Line 3: not a date. Line 1: a name is required."
        );
    }

    #[test]
    fn weekday_slots_grow_by_one() {
        assert_eq!(day_slots(&Values::new(), Day::Mon), 1);
        let one = values(&[
            ("hours_wed_0_open", "09:00"),
            ("hours_wed_0_close", "17:00"),
        ]);
        assert_eq!(day_slots(&one, Day::Wed), 2);
        let posted_empty = values(&[("hours_wed_0_open", ""), ("hours_wed_0_close", "")]);
        assert_eq!(day_slots(&posted_empty, Day::Wed), 1);
    }

    #[test]
    fn destination_choices() {
        let mut errors = Vec::new();
        let posted = values(&[
            ("a", "outside"),
            ("a_number", "021 555 1234"),
            ("b", ""),
            ("b_number", "+64 9 400 1234"),
            ("c", "hangup"),
            ("d", ""),
            ("e", "outside"),
        ]);
        assert_eq!(
            destination(&posted, "a", &mut errors).as_deref(),
            Some("021 555 1234")
        );
        assert_eq!(
            destination(&posted, "b", &mut errors).as_deref(),
            Some("+64 9 400 1234")
        );
        assert_eq!(
            destination(&posted, "c", &mut errors).as_deref(),
            Some("hangup")
        );
        assert_eq!(destination(&posted, "d", &mut errors), None);
        assert!(errors.is_empty());
        assert_eq!(destination(&posted, "e", &mut errors), None);
        assert_eq!(errors[0].field, "e");
    }

    #[test]
    fn ring_group_members_keep_form_order() {
        let parsed = object_input(
            ObjectKind::RingGroup,
            &values(&[
                ("member_2", "pbx_b"),
                ("member_0", "pbx_a"),
                ("member_numbers", "021 555 1234\n\n09 400 1234"),
            ]),
        );
        assert_eq!(
            parsed.input.members,
            vec!["pbx_a", "pbx_b", "021 555 1234", "09 400 1234"]
        );
        let relabelled = parsed.labels.relabel(vec![
            FieldError::custom("members[1]", "not_an_extension", "not an extension"),
            FieldError::custom("members[3]", "invalid_phone", "not a number"),
        ]);
        assert_eq!(relabelled[0].field, "members");
        assert_eq!(relabelled[1].field, "member_numbers");
        assert_eq!(relabelled[1].message, "Line 3: not a number");
    }

    #[test]
    fn ivr_option_errors_land_on_their_key() {
        let labels = Labels::default();
        assert_eq!(labels.locate("options.#").0, "option_hash");
        assert_eq!(labels.locate("options.*").0, "option_star");
        assert_eq!(labels.locate("options.0").0, "option_0");
        assert_eq!(labels.locate("greeting").0, "greeting_file");
        assert_eq!(labels.locate("name").0, "name");
    }

    #[test]
    fn number_fields_reject_words() {
        let parsed = object_input(
            ObjectKind::ConferenceBridge,
            &values(&[("max_participants", "ten")]),
        );
        assert_eq!(parsed.input.max_participants, None);
        assert_eq!(parsed.errors[0].field, "max_participants");
    }
}
