//! The create and edit form of every kind of object: what the page shows around the form's
//! values, such as the destinations a select offers, the ring group member checkboxes and the
//! weekly hours rows.

use std::cmp::Ordering;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tandem_app::pbx::{ObjectView, MAX_RECORDING_BYTES};
use tandem_domain::pbx::schedule::Day;
use tandem_domain::pbx::{ObjectKind, RingStrategy};
use tandem_domain::PbxObjectId;

use super::{extensions, fields, AccountHead, PbxPortal, SECTIONS};
use crate::portal::{render, Chrome, Form};
use crate::AppState;

/// One option of a select.
pub(super) struct Choice {
    pub value: String,
    pub label: String,
}

/// The account's objects of one kind, as a group of a destination select.
pub(super) struct TargetGroup {
    pub label: &'static str,
    pub options: Vec<Choice>,
}

/// Names an object in selects and summaries, such as `101 Reception (extension)`.
pub(super) fn target_label(view: &ObjectView) -> String {
    match &view.short_number {
        Some(number) => format!("{number} {} ({})", view.name, view.kind.label()),
        None => format!("{} ({})", view.name, view.kind.label()),
    }
}

/// Orders objects by short number as a number (so that 99 comes before 100), then by name.
pub(super) fn by_number(a: &ObjectView, b: &ObjectView) -> Ordering {
    let key = |view: &ObjectView| {
        let number = view.short_number.as_deref().unwrap_or("");
        (number.len(), number.to_owned(), view.name.clone())
    };
    key(a).cmp(&key(b))
}

/// Groups the account's objects by kind, sorted by number then name. It leaves out `except`
/// because an object does not route to itself.
fn target_groups(objects: &[ObjectView], except: Option<&PbxObjectId>) -> Vec<TargetGroup> {
    SECTIONS
        .iter()
        .map(|section| {
            let mut views: Vec<&ObjectView> = objects
                .iter()
                .filter(|view| view.kind == section.kind && Some(&view.id) != except)
                .collect();
            views.sort_by(|a, b| by_number(a, b));
            TargetGroup {
                label: section.heading,
                options: views
                    .into_iter()
                    .map(|view| Choice {
                        value: view.id.to_string(),
                        label: target_label(view),
                    })
                    .collect(),
            }
        })
        .filter(|group| !group.options.is_empty())
        .collect()
}

/// A destination setting of a form: a select of the account's objects, Hang up and Outside
/// number, and the outside number's text field.
pub(super) struct DestinationField {
    pub name: String,
    pub number_name: String,
    pub label: String,
    pub hint: String,
    /// The label of the empty choice, such as `None` or `Hang up (the default)`.
    pub empty_label: &'static str,
    pub value: String,
    pub number: String,
    pub error: Option<String>,
}

impl DestinationField {
    fn new(form: &Form, name: &str, label: &str, hint: &str, empty_label: &'static str) -> Self {
        let number_name = fields::number_field(name);
        Self {
            value: form.v(name).to_owned(),
            number: form.v(&number_name).to_owned(),
            error: form.e(name).map(str::to_owned),
            name: name.to_owned(),
            number_name,
            label: label.to_owned(),
            hint: hint.to_owned(),
            empty_label,
        }
    }
}

/// The destination fields of a form, looked up by name from the templates.
pub(super) struct Destinations(Vec<DestinationField>);

impl Destinations {
    pub fn get(&self, name: &str) -> Option<&DestinationField> {
        self.0.iter().find(|field| field.name == name)
    }
}

/// A ring group member checkbox.
pub(super) struct MemberChoice {
    pub name: String,
    pub id: String,
    pub label: String,
    pub checked: bool,
}

/// One opening of a weekday: its two time fields.
pub(super) struct HoursPair {
    pub label: String,
    pub open_name: String,
    pub close_name: String,
    pub open: String,
    pub close: String,
    pub error: Option<String>,
}

/// A delete that was refused because other settings route calls to the object.
pub(super) struct Refusal {
    pub message: String,
    pub details: Vec<String>,
}

const DAY_LABELS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn strategy_label(strategy: RingStrategy) -> &'static str {
    match strategy {
        RingStrategy::Simultaneous => "Ring every member at once",
        RingStrategy::Sequential => "Ring members one after another, in the order shown",
        RingStrategy::RoundRobin => "Take turns, starting after whoever answered last",
    }
}

/// Lists the ring group member checkboxes: the ticked extensions first, in their order, then the
/// others by number. Each checkbox is named after its position, so that the posted form keeps
/// the order.
fn member_choices(form: &Form, objects: &[ObjectView]) -> Vec<MemberChoice> {
    let ticked = fields::ticked_members(&form.values);
    let label_of = |id: &str| {
        objects
            .iter()
            .find(|view| view.id.as_str() == id)
            .map(target_label)
            .unwrap_or_else(|| id.to_owned())
    };
    let mut extensions: Vec<&ObjectView> = objects
        .iter()
        .filter(|view| view.kind == ObjectKind::Extension)
        .filter(|view| !ticked.iter().any(|id| id == view.id.as_str()))
        .collect();
    extensions.sort_by(|a, b| by_number(a, b));
    let rows = ticked
        .iter()
        .map(|id| (id.clone(), label_of(id), true))
        .chain(
            extensions
                .into_iter()
                .map(|view| (view.id.to_string(), target_label(view), false)),
        );
    rows.enumerate()
        .map(|(position, (id, label, checked))| MemberChoice {
            name: format!("member_{position}"),
            id,
            label,
            checked,
        })
        .collect()
}

/// Lists the weekly hours rows of the time condition form.
fn hours_rows(form: &Form) -> Vec<HoursPair> {
    let mut rows = Vec::new();
    for (day, day_label) in Day::ALL.into_iter().zip(DAY_LABELS) {
        for slot in 0..fields::day_slots(&form.values, day) {
            let open_name = fields::hours_field(day, slot, "open");
            let close_name = fields::hours_field(day, slot, "close");
            let label = match slot {
                0 => day_label.to_owned(),
                _ => format!("{day_label}, opening {}", slot + 1),
            };
            rows.push(HoursPair {
                label,
                open: form.v(&open_name).to_owned(),
                close: form.v(&close_name).to_owned(),
                error: form
                    .e(&open_name)
                    .or_else(|| form.e(&close_name))
                    .map(str::to_owned),
                open_name,
                close_name,
            });
        }
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "pbx_form.html")]
struct FormPage {
    chrome: Chrome,
    account: AccountHead,
    active: &'static str,
    /// The kind's snake_case name, which picks the fields of the form.
    kind: &'static str,
    heading: String,
    action: String,
    list_href: String,
    /// The edited object's page, which the delete and password forms post under.
    object_href: Option<String>,
    multipart: bool,
    form: Form,
    targets: Vec<TargetGroup>,
    dests: Destinations,
    ivr_keys: Vec<DestinationField>,
    members: Vec<MemberChoice>,
    strategies: Vec<Choice>,
    /// The account's users, when the caller may list them; a text field is shown otherwise.
    users: Option<Vec<Choice>>,
    caller_ids: Vec<Choice>,
    hours: Vec<HoursPair>,
    /// The extension's SIP user name and domain, on its edit page.
    sip: Option<(String, String)>,
    refusal: Option<Refusal>,
    max_recording_mb: usize,
}

/// Renders the form of a new object (`object` is `None`) or of an existing one.
pub(super) async fn form_page(
    state: &AppState,
    portal: &PbxPortal,
    object: Option<&ObjectView>,
    form: Form,
    refusal: Option<Refusal>,
    status: StatusCode,
) -> Response {
    let section = match portal.section(state) {
        Ok(section) => section,
        Err(response) => return response,
    };
    let kind = section.kind;
    let objects = match kind {
        ObjectKind::VoicemailBox | ObjectKind::ConferenceBridge => Vec::new(),
        _ => match state.app.pbx_objects(&portal.op, None).await {
            Ok(objects) => objects,
            Err(error) => return portal.error(state, error),
        },
    };
    let (users, caller_ids) = if kind == ObjectKind::Extension {
        let caller_ids = match extensions::caller_id_choices(state, portal).await {
            Ok(choices) => choices,
            Err(error) => return portal.error(state, error),
        };
        (extensions::user_choices(state, portal).await, caller_ids)
    } else {
        (None, Vec::new())
    };
    let list_href = portal.list_href(section);
    let (heading, action, object_href) = match object {
        Some(view) => {
            let href = format!("{list_href}/{}", view.id);
            let heading = match &view.short_number {
                Some(number) => format!("{} {number} {}", capitalised(kind.label()), view.name),
                None => format!("{} {}", capitalised(kind.label()), view.name),
            };
            (heading, href.clone(), Some(href))
        }
        None => (format!("New {}", kind.label()), list_href.clone(), None),
    };
    let page = FormPage {
        chrome: portal.chrome(state, &heading),
        account: portal.head(),
        active: section.slug,
        kind: kind.as_str(),
        heading,
        action,
        list_href,
        object_href,
        multipart: kind == ObjectKind::IvrMenu,
        targets: target_groups(&objects, object.map(|view| &view.id)),
        dests: destination_fields(kind, &form),
        ivr_keys: ivr_key_fields(kind, &form),
        members: match kind {
            ObjectKind::RingGroup => member_choices(&form, &objects),
            _ => Vec::new(),
        },
        strategies: RingStrategy::ALL
            .into_iter()
            .map(|strategy| Choice {
                value: strategy.as_str().to_owned(),
                label: strategy_label(strategy).to_owned(),
            })
            .collect(),
        users,
        caller_ids,
        hours: match kind {
            ObjectKind::TimeCondition => hours_rows(&form),
            _ => Vec::new(),
        },
        sip: object
            .and_then(|view| view.sip.as_ref())
            .map(|sip| (sip.username.clone(), sip.domain.clone())),
        refusal,
        max_recording_mb: MAX_RECORDING_BYTES / (1024 * 1024),
        form,
    };
    (status, render(&page)).into_response()
}

/// Builds the destination settings of a kind's form.
fn destination_fields(kind: ObjectKind, form: &Form) -> Destinations {
    const NONE: &str = "None";
    const HANG_UP: &str = "Hang up (the default)";
    const CHOOSE: &str = "Choose a destination";
    let field = |name, label, hint, empty| DestinationField::new(form, name, label, hint, empty);
    Destinations(match kind {
        ObjectKind::Extension => vec![
            field(
                "forward_always",
                "Forward every call to",
                "The extension's phones do not ring while this is set.",
                NONE,
            ),
            field("forward_busy", "When busy, forward to", "", NONE),
            field(
                "forward_no_answer",
                "When nobody answers, forward to",
                "",
                NONE,
            ),
            field(
                "forward_unreachable",
                "When no phone is registered, forward to",
                "",
                NONE,
            ),
        ],
        ObjectKind::RingGroup => vec![field("no_answer", "When nobody answers", "", HANG_UP)],
        ObjectKind::IvrMenu => vec![
            field(
                "timeout",
                "When no key is pressed",
                "After the last repeat of the greeting.",
                HANG_UP,
            ),
            field(
                "invalid",
                "When a key without an option is pressed",
                "After the last repeat of the greeting.",
                HANG_UP,
            ),
        ],
        ObjectKind::TimeCondition => vec![
            field("open", "While open, send calls to", "", CHOOSE),
            field("closed", "While closed, send calls to", "", CHOOSE),
        ],
        ObjectKind::VoicemailBox | ObjectKind::ConferenceBridge => Vec::new(),
    })
}

/// Builds the key options of an IVR menu form, one per key.
fn ivr_key_fields(kind: ObjectKind, form: &Form) -> Vec<DestinationField> {
    if kind != ObjectKind::IvrMenu {
        return Vec::new();
    }
    fields::IVR_KEYS
        .iter()
        .map(|(key, suffix)| {
            let name = fields::option_field(suffix);
            DestinationField::new(form, &name, &format!("Key {key}"), "", "No option")
        })
        .collect()
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
