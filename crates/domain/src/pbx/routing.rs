//! The routing compiler: checks the PBX configuration of one account as a whole and resolves it
//! into the [`RoutingTable`] that the SIP service executes and the API returns as JSON.
//!
//! A call moves from object to object along destinations. Some moves happen without any input
//! from the caller: the forwarding rules of an extension, the no-answer destination of a ring
//! group, the timeout and invalid-input destinations of an IVR menu and both branches of a time
//! condition. These are the automatic edges. A cycle over them would pass a call around
//! forever, so [`AccountConfig::check`] rejects it. IVR key options are not automatic edges
//! because the caller chooses them. Ring group members are not either, because only a member's
//! phones ring while its forwarding rules do not apply.
//!
//! Emergency numbers are never looked up in the table's entries, because they go to the
//! emergency route unchanged, before any short number or dial rule of the account.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use super::{
    AccountConfig, DatedException, Destination, DestinationClass, DialRule, ExtensionSettings,
    Greeting, IvrSettings, Member, ObjectKind, ObjectSettings, PbxObject, RingGroupSettings,
    RingStrategy, Schedule, TimeConditionSettings, EMERGENCY_NUMBERS,
};
use crate::ids::PbxObjectId;
use crate::time_zone::format_timestamp;
use crate::{Country, PhoneNumber};

/// The maximum number of steps in one [`Trace`]. A walk over a compiled table always ends,
/// because automatic edges are acyclic after [`AccountConfig::check`], but a chain of more hops
/// than this is cut short, and its last step reports the cut.
pub const MAX_TRACE_STEPS: usize = 64;

/// The setting name used for the destination of an inbound number in errors and references.
const NUMBER_SETTING: &str = "destination";

// ---------------------------------------------------------------------------------------------
// Errors, warnings and references
// ---------------------------------------------------------------------------------------------

/// A problem that stops an account's configuration from compiling. Objects are named with
/// [`PbxObject::describe`] and inbound numbers as `number +64 9 400 1234`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ConfigError {
    /// A destination or ring group member names an object id that is not in the account.
    MissingDestination {
        from: String,
        setting: String,
        target: String,
    },
    /// A ring group member names an object that exists but is not an extension.
    NotAnExtension { from: String, member: String },
    /// A cycle over automatic edges. `path` lists each object along it and repeats the first
    /// one at the end.
    #[serde(rename = "routing_loop")]
    Loop { path: Vec<String> },
    /// Two objects share a short number, and `first` comes earlier in the account's object list.
    DuplicateShortNumber {
        number: String,
        first: String,
        second: String,
    },
    /// An object other than a time condition has no short number.
    ShortNumberRequired { object: String },
    /// A time condition has a short number, but time conditions cannot be dialled.
    ShortNumberNotAllowed { object: String },
}

impl ConfigError {
    /// Returns the stable snake_case code, which is also the `code` field of the JSON form.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::MissingDestination { .. } => "missing_destination",
            ConfigError::NotAnExtension { .. } => "not_an_extension",
            ConfigError::Loop { .. } => "routing_loop",
            ConfigError::DuplicateShortNumber { .. } => "duplicate_short_number",
            ConfigError::ShortNumberRequired { .. } => "short_number_required",
            ConfigError::ShortNumberNotAllowed { .. } => "short_number_not_allowed",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingDestination {
                from,
                setting,
                target,
            } => write!(
                f,
                "The \"{setting}\" setting of {from} names {target}, which is not an object of \
                 this account. Choose an existing destination or create the object first."
            ),
            ConfigError::NotAnExtension { from, member } => write!(
                f,
                "{} lists {member} as a member, but only extensions can be ring group members. \
                 Remove it from the members, or make it the group's no-answer destination.",
                capitalize(from)
            ),
            ConfigError::Loop { path } => write!(
                f,
                "Calls would loop without end: {}. Change where one of these objects sends \
                 calls so that the path ends, for example at a voicemail box.",
                path.join(" → ")
            ),
            ConfigError::DuplicateShortNumber {
                number,
                first,
                second,
            } => write!(
                f,
                "Short number {number} is used by both {first} and {second}. Give one of them \
                 another short number."
            ),
            ConfigError::ShortNumberRequired { object } => write!(
                f,
                "{} has no short number. Give it 2 to 6 digits, such as 101.",
                capitalize(object)
            ),
            ConfigError::ShortNumberNotAllowed { object } => write!(
                f,
                "{} has a short number, but time conditions only route calls and cannot be \
                 dialled. Remove the short number.",
                capitalize(object)
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Something that compiles but probably does not do what the account owner expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable snake_case code, such as `number_not_routed`.
    pub code: &'static str,
    /// Explanation and fix for people.
    pub message: String,
}

/// A setting that names an object. `from` is the object or number that has the setting, such
/// as `IVR menu 500 "Main menu"` or `number +64 9 400 1234`, and `setting` is its name, such as
/// `option 1` or `member 2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub from: String,
    pub setting: String,
}

// ---------------------------------------------------------------------------------------------
// The routing table
// ---------------------------------------------------------------------------------------------

/// The resolved routing of one account. Nodes refer to each other by object id, so the table
/// grows linearly with the account however the objects are connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutingTable {
    /// IANA name of the zone in which time conditions are read.
    pub time_zone: String,
    /// Numbers that go to the emergency route before anything else is looked at.
    pub emergency: Vec<EmergencyRoute>,
    /// Inbound numbers sorted by E.164 form, then short numbers sorted by numeric value.
    pub entries: Vec<Entry>,
    /// Every object of the account, keyed by object id.
    pub nodes: BTreeMap<String, Node>,
    /// Warnings of [`AccountConfig::check`].
    pub warnings: Vec<Warning>,
    /// The outbound policy's dial rules, applied in order to digits dialled from phones.
    pub dial_rules: Vec<DialRule>,
    /// The outbound policy's allowed destination classes.
    pub allowed: Vec<DestinationClass>,
}

/// A number that always reaches the emergency services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmergencyRoute {
    pub dialled: String,
    /// Explanation for people of how the number is handled.
    pub note: String,
}

/// Whether an entry is an inbound number or a short number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Number,
    ShortNumber,
}

/// The starting point of calls to one dialled number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// E.164 form for inbound numbers, digits for short numbers.
    pub dialled: String,
    pub kind: EntryKind,
    /// False for an inbound number whose port-in is not complete, and always true for short
    /// numbers.
    pub live: bool,
    /// The first target, or `None` for an inbound number without a destination, whose callers
    /// hear that the number is not in service.
    pub start: Option<Target>,
}

/// One object of the account with its resolved action. In JSON the fields of `action` sit
/// beside the others, tagged by `"action"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub id: String,
    pub kind: ObjectKind,
    pub short_number: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
}

/// The action of a node, with every destination resolved to a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Rings the phones of an extension, unless `always` sends every call elsewhere first.
    ///
    /// When the extension has voicemail, a `busy`, `no_answer` or `unreachable` without a
    /// forwarding rule becomes [`Target::OwnVoicemail`], because unanswered calls go to the
    /// extension's own mailbox. An explicit forwarding rule takes precedence over voicemail.
    RingExtension {
        /// Seconds the phones ring before `no_answer` applies.
        seconds: u16,
        voicemail: bool,
        /// Target of every call, instead of ringing the phones.
        always: Option<Target>,
        /// Target while the extension is busy. `None` gives the caller a busy tone.
        busy: Option<Target>,
        /// Target when nobody answers within `seconds`. `None` ends the call.
        no_answer: Option<Target>,
        /// Target when no phone of the extension is registered. `None` ends the call.
        unreachable: Option<Target>,
    },
    /// Rings the members of a ring group.
    RingGroup {
        strategy: RingStrategy,
        /// Ring time of the whole group when simultaneous, of each member otherwise.
        seconds: u16,
        members: Vec<Target>,
        no_answer: Target,
    },
    /// Plays an IVR greeting and waits for a key.
    Menu {
        greeting: Greeting,
        timeout_seconds: u16,
        /// How many times the greeting plays before `timeout` or `invalid` applies.
        repeat: u8,
        /// Key (`0`–`9`, `*`, `#`) to target.
        options: BTreeMap<String, Target>,
        timeout: Target,
        invalid: Target,
    },
    /// Records a message in a voicemail box.
    Voicemail { email: Option<String> },
    /// Sends the call to `open` or `closed` by the time in the table's zone.
    Schedule {
        open: Target,
        closed: Target,
        /// Weekly hours for people, such as `mon 08:30–17:00`.
        weekly: Vec<String>,
        /// Dated exceptions for people, such as `2026-12-25 Christmas Day: closed`.
        exceptions: Vec<String>,
        /// The schedule itself, for evaluation with [`Schedule::is_open`].
        hours: Schedule,
    },
    /// Joins the caller to a conference bridge.
    Conference {
        max_participants: u16,
        pin_required: bool,
    },
}

/// The next hop of a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    /// Another node of the table, with the object's [`PbxObject::describe`] text as `label`.
    Node { id: String, label: String },
    /// A number outside the account, in E.164 form, dialled under the outbound policy.
    External { number: String },
    /// The call ends.
    Hangup,
    /// The own mailbox of an extension with voicemail, whose object id is `extension`.
    OwnVoicemail { extension: String, label: String },
}

/// The path of a call to one dialled number at one instant, hop by hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trace {
    pub dialled: String,
    /// The instant in the account's time zone, such as `4 Dec 2026, 3:58 pm NZDT`.
    pub at_local: String,
    pub steps: Vec<TraceStep>,
}

/// One hop of a [`Trace`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    /// Object id of the node this step is about, if it is about one.
    pub node: Option<String>,
    /// A plain-English sentence or two for people.
    pub text: String,
}

// ---------------------------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------------------------

/// Positions and descriptions of an account's objects, built once per check or compile so
/// that every lookup by id is a hash lookup. Ids are not checked for duplicates, because they
/// are the primary key of the store's `pbx_objects` table.
struct ObjectIndex<'a> {
    positions: HashMap<&'a PbxObjectId, usize>,
    labels: Vec<String>,
}

impl<'a> ObjectIndex<'a> {
    fn new(config: &'a AccountConfig) -> Self {
        let mut positions = HashMap::with_capacity(config.objects.len());
        for (position, object) in config.objects.iter().enumerate() {
            positions.entry(&object.id).or_insert(position);
        }
        let labels = config.objects.iter().map(PbxObject::describe).collect();
        Self { positions, labels }
    }

    fn position(&self, id: &PbxObjectId) -> Option<usize> {
        self.positions.get(id).copied()
    }

    /// Resolves a destination. An id missing from the account, which `check` rejects before
    /// `compile` gets here, keeps the id as its label.
    fn target(&self, destination: &Destination) -> Target {
        match destination {
            Destination::Object(id) => Target::Node {
                id: id.to_string(),
                label: match self.position(id) {
                    Some(position) => self.labels[position].clone(),
                    None => id.to_string(),
                },
            },
            Destination::External(number) => Target::External {
                number: number.clone(),
            },
            Destination::Hangup => Target::Hangup,
        }
    }
}

impl AccountConfig {
    /// Returns the object with id `id`.
    pub fn object(&self, id: &PbxObjectId) -> Option<&PbxObject> {
        self.objects.iter().find(|object| &object.id == id)
    }

    /// Returns the object dialled by the short number `number`, such as `101`.
    pub fn by_short_number(&self, number: &str) -> Option<&PbxObject> {
        let number = number.trim();
        self.objects.iter().find(|object| {
            object
                .short_number
                .as_ref()
                .is_some_and(|short| short.as_str() == number)
        })
    }

    /// Lists every setting that names `id`: object destinations, IVR options and ring group
    /// memberships in object order, then inbound numbers.
    pub fn references_to(&self, id: &PbxObjectId) -> Vec<Reference> {
        let target = Destination::Object(id.clone());
        let mut references = Vec::new();
        for object in &self.objects {
            for (setting, destination) in object.settings.destinations() {
                if destination == target {
                    references.push(Reference {
                        from: object.describe(),
                        setting,
                    });
                }
            }
        }
        for number in &self.numbers {
            if number.destination.as_ref() == Some(&target) {
                references.push(Reference {
                    from: number_label(&number.number),
                    setting: NUMBER_SETTING.to_owned(),
                });
            }
        }
        references
    }
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

impl AccountConfig {
    /// Checks the whole account and returns its warnings, or every error found.
    ///
    /// Errors come in this order: missing destinations, ring group members that are not
    /// extensions, duplicate short numbers, short numbers present or missing by kind, and
    /// finally routing loops. Loops are searched only when every reference is valid.
    ///
    /// Warning codes:
    /// - `dial_rule_captures_emergency`: a dial rule's prefix overlaps an emergency number.
    /// - `number_not_routed`: an inbound number has no destination.
    /// - `international_blocked`: an external number is abroad, and the outbound policy blocks
    ///   international calls.
    /// - `premium_blocked`: an external number is premium rate, and the outbound policy blocks
    ///   premium calls.
    /// - `invalid_external_number`: an external number does not parse as E.164.
    pub fn check(&self) -> Result<Vec<Warning>, Vec<ConfigError>> {
        self.check_with(&ObjectIndex::new(self))
    }

    fn check_with(&self, index: &ObjectIndex<'_>) -> Result<Vec<Warning>, Vec<ConfigError>> {
        let mut errors = Vec::new();
        self.find_missing_destinations(index, &mut errors);
        self.find_members_that_are_not_extensions(index, &mut errors);
        let references_valid = errors.is_empty();
        self.find_duplicate_short_numbers(index, &mut errors);
        self.find_short_number_presence(index, &mut errors);
        if references_valid {
            errors.extend(find_loops(self, index));
        }
        if errors.is_empty() {
            Ok(self.warnings(index))
        } else {
            Err(errors)
        }
    }

    fn find_missing_destinations(&self, index: &ObjectIndex<'_>, errors: &mut Vec<ConfigError>) {
        for (position, object) in self.objects.iter().enumerate() {
            for (setting, destination) in object.settings.destinations() {
                let Destination::Object(target) = &destination else {
                    continue;
                };
                if index.position(target).is_none() {
                    errors.push(ConfigError::MissingDestination {
                        from: index.labels[position].clone(),
                        setting,
                        target: target.to_string(),
                    });
                }
            }
        }
        for number in &self.numbers {
            let Some(Destination::Object(target)) = &number.destination else {
                continue;
            };
            if index.position(target).is_none() {
                errors.push(ConfigError::MissingDestination {
                    from: number_label(&number.number),
                    setting: NUMBER_SETTING.to_owned(),
                    target: target.to_string(),
                });
            }
        }
    }

    fn find_members_that_are_not_extensions(
        &self,
        index: &ObjectIndex<'_>,
        errors: &mut Vec<ConfigError>,
    ) {
        for (position, object) in self.objects.iter().enumerate() {
            let ObjectSettings::RingGroup(group) = &object.settings else {
                continue;
            };
            for member in &group.members {
                let Member::Extension(id) = member else {
                    continue;
                };
                // A missing member is already reported as a missing destination.
                let Some(member_position) = index.position(id) else {
                    continue;
                };
                let kind = self.objects[member_position].settings.kind();
                if kind != ObjectKind::Extension {
                    errors.push(ConfigError::NotAnExtension {
                        from: index.labels[position].clone(),
                        member: index.labels[member_position].clone(),
                    });
                }
            }
        }
    }

    fn find_duplicate_short_numbers(&self, index: &ObjectIndex<'_>, errors: &mut Vec<ConfigError>) {
        let mut first_by_number: HashMap<&str, usize> = HashMap::new();
        for (position, object) in self.objects.iter().enumerate() {
            let Some(number) = &object.short_number else {
                continue;
            };
            match first_by_number.get(number.as_str()) {
                Some(&first) => errors.push(ConfigError::DuplicateShortNumber {
                    number: number.to_string(),
                    first: index.labels[first].clone(),
                    second: index.labels[position].clone(),
                }),
                None => {
                    first_by_number.insert(number.as_str(), position);
                }
            }
        }
    }

    fn find_short_number_presence(&self, index: &ObjectIndex<'_>, errors: &mut Vec<ConfigError>) {
        for (position, object) in self.objects.iter().enumerate() {
            let dialled = object.settings.kind().has_short_number();
            match (dialled, &object.short_number) {
                (true, None) => errors.push(ConfigError::ShortNumberRequired {
                    object: index.labels[position].clone(),
                }),
                (false, Some(_)) => errors.push(ConfigError::ShortNumberNotAllowed {
                    object: index.labels[position].clone(),
                }),
                _ => {}
            }
        }
    }

    fn warnings(&self, index: &ObjectIndex<'_>) -> Vec<Warning> {
        let mut warnings = self.emergency_dial_rule_warnings();
        for number in &self.numbers {
            if number.destination.is_none() {
                warnings.push(Warning {
                    code: "number_not_routed",
                    message: format!(
                        "Calls to {} hear that the number is not in service. Route it to an \
                         extension, ring group, IVR menu or time condition.",
                        display_number(&number.number)
                    ),
                });
            }
        }
        warnings.extend(self.external_number_warnings(index));
        warnings
    }

    /// Warns about dial rules whose prefix overlaps an emergency number, because such a rule
    /// looks as if it rewrites the emergency number, which it never does.
    fn emergency_dial_rule_warnings(&self) -> Vec<Warning> {
        let emergency = emergency_numbers(self.country);
        let mut warnings = Vec::new();
        for (position, rule) in self.policy.dial_rules.iter().enumerate() {
            let overlapping: Vec<&str> = emergency
                .iter()
                .copied()
                .filter(|number| {
                    number.starts_with(rule.prefix.as_str()) || rule.prefix.starts_with(number)
                })
                .collect();
            if overlapping.is_empty() {
                continue;
            }
            let (noun, list) = match overlapping.as_slice() {
                [single] => ("number", (*single).to_owned()),
                several => ("numbers", join_names(several)),
            };
            warnings.push(Warning {
                code: "dial_rule_captures_emergency",
                message: format!(
                    "Dial rule {} (prefix \"{}\") overlaps the emergency {noun} {list}. Emergency \
                     numbers are always sent unchanged before any dial rule, so this rule never \
                     rewrites them. Check that the rule does what you meant.",
                    position + 1,
                    rule.prefix
                ),
            });
        }
        warnings
    }

    /// Warns about external numbers that do not parse, about international ones while the
    /// outbound policy blocks international calls, and about premium-rate ones while it blocks
    /// premium calls.
    fn external_number_warnings(&self, index: &ObjectIndex<'_>) -> Vec<Warning> {
        let international_allowed = self
            .policy
            .allowed
            .contains(&DestinationClass::International);
        let mut uses: Vec<(ExternalSource, String, String)> = Vec::new();
        for (position, object) in self.objects.iter().enumerate() {
            for (setting, destination) in object.settings.destinations() {
                if let Destination::External(number) = destination {
                    uses.push((ExternalSource::Object(position), setting, number));
                }
            }
        }
        for (position, inbound) in self.numbers.iter().enumerate() {
            if let Some(Destination::External(number)) = &inbound.destination {
                let setting = NUMBER_SETTING.to_owned();
                uses.push((ExternalSource::Number(position), setting, number.clone()));
            }
        }

        // Parsing a number runs the libphonenumber patterns. Each distinct number is parsed
        // once, because large accounts often forward many extensions to the same few numbers.
        let premium_allowed = self.policy.allowed.contains(&DestinationClass::Premium);
        let mut countries: HashMap<String, Option<(Country, &'static str)>> = HashMap::new();
        let mut warnings = Vec::new();
        for (source, setting, number) in uses {
            let parsed = *countries.entry(number.clone()).or_insert_with(|| {
                PhoneNumber::parse_e164(&number)
                    .ok()
                    .map(|p| (p.country(), p.number_type()))
            });
            let country = parsed.map(|(country, _)| country);
            let premium = parsed.is_some_and(|(_, kind)| kind == "premium_rate");
            let from = match source {
                ExternalSource::Object(position) => index.labels[position].clone(),
                ExternalSource::Number(position) => number_label(&self.numbers[position].number),
            };
            match country {
                None => warnings.push(Warning {
                    code: "invalid_external_number",
                    message: format!(
                        "The \"{setting}\" setting of {from} sends calls to '{number}', which is \
                         not a valid number in international form. Enter it with + and the \
                         country code, such as +64 9 300 1234."
                    ),
                }),
                // NOTE: a number of another country that shares the calling code, such as
                // Canada from the United States (+1), counts as international here.
                Some(country) if country != self.country && !international_allowed => {
                    warnings.push(Warning {
                        code: "international_blocked",
                        message: format!(
                            "The \"{setting}\" setting of {from} sends calls to {}, which is an \
                             international number. The outbound policy does not allow \
                             international calls, so these calls would be blocked. Allow \
                             International in the outbound policy, or choose a number in {}.",
                            display_number(&number),
                            self.country.name()
                        ),
                    });
                }
                Some(_) if premium && !premium_allowed => {
                    warnings.push(Warning {
                        code: "premium_blocked",
                        message: format!(
                            "The \"{setting}\" setting of {from} sends calls to {}, which is a \
                             premium-rate number. The outbound policy does not allow premium \
                             calls, so these calls would be blocked. Allow Premium rate in the \
                             outbound policy, or choose another number.",
                            display_number(&number)
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        warnings
    }
}

/// The object or inbound number, by position, whose setting names an external number.
#[derive(Clone, Copy)]
enum ExternalSource {
    Object(usize),
    Number(usize),
}

/// Returns the destinations a call follows without input from the caller.
fn automatic_destinations(settings: &ObjectSettings) -> Vec<&Destination> {
    match settings {
        ObjectSettings::Extension(extension) => [
            &extension.forward_always,
            &extension.forward_busy,
            &extension.forward_no_answer,
            &extension.forward_unreachable,
        ]
        .into_iter()
        .flatten()
        .collect(),
        ObjectSettings::RingGroup(group) => vec![&group.no_answer],
        ObjectSettings::IvrMenu(menu) => vec![&menu.timeout, &menu.invalid],
        ObjectSettings::TimeCondition(condition) => vec![&condition.open, &condition.closed],
        ObjectSettings::VoicemailBox(_) | ObjectSettings::ConferenceBridge(_) => Vec::new(),
    }
}

/// Finds cycles over automatic edges with an iterative depth-first search that starts from
/// each object in object order and follows edges in setting order.
///
/// Every edge that leads back to an object on the current path closes one cycle, reported
/// from that object to the end of the path. Each edge is examined once, so the search is
/// linear in objects plus edges and reports each such cycle once.
fn find_loops(config: &AccountConfig, index: &ObjectIndex<'_>) -> Vec<ConfigError> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        Unvisited,
        OnPath,
        Finished,
    }

    let edges: Vec<Vec<usize>> = config
        .objects
        .iter()
        .map(|object| {
            let mut targets = Vec::new();
            for destination in automatic_destinations(&object.settings) {
                let Destination::Object(id) = destination else {
                    continue;
                };
                // Two settings naming the same object would report the same cycle twice.
                if let Some(target) = index.position(id) {
                    if !targets.contains(&target) {
                        targets.push(target);
                    }
                }
            }
            targets
        })
        .collect();

    let count = config.objects.len();
    let mut state = vec![State::Unvisited; count];
    let mut depth = vec![0usize; count];
    // Objects on the current path, each with the index of its next edge to follow.
    let mut path: Vec<(usize, usize)> = Vec::new();
    let mut errors = Vec::new();
    for root in 0..count {
        if state[root] != State::Unvisited {
            continue;
        }
        state[root] = State::OnPath;
        depth[root] = 0;
        path.push((root, 0));
        while let Some(top) = path.last_mut() {
            let (node, next_edge) = *top;
            let Some(&target) = edges[node].get(next_edge) else {
                state[node] = State::Finished;
                path.pop();
                continue;
            };
            top.1 += 1;
            match state[target] {
                State::Unvisited => {
                    state[target] = State::OnPath;
                    depth[target] = path.len();
                    path.push((target, 0));
                }
                State::OnPath => {
                    let mut cycle: Vec<String> = path[depth[target]..]
                        .iter()
                        .map(|&(position, _)| index.labels[position].clone())
                        .collect();
                    cycle.push(index.labels[target].clone());
                    errors.push(ConfigError::Loop { path: cycle });
                }
                State::Finished => {}
            }
        }
    }
    errors
}

// ---------------------------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------------------------

impl AccountConfig {
    /// Checks the account and resolves it into a [`RoutingTable`], or returns every error
    /// that [`AccountConfig::check`] finds. Time and memory are linear in the number of
    /// objects, settings and numbers, apart from sorting the entries and the node map.
    pub fn compile(&self) -> Result<RoutingTable, Vec<ConfigError>> {
        let index = ObjectIndex::new(self);
        let warnings = self.check_with(&index)?;
        let nodes = self
            .objects
            .iter()
            .enumerate()
            .map(|(position, object)| {
                let node = build_node(object, &index.labels[position], &index);
                (node.id.clone(), node)
            })
            .collect();
        Ok(RoutingTable {
            time_zone: self.time_zone.as_str().to_owned(),
            emergency: emergency_routes(self.country),
            entries: self.entries(&index),
            nodes,
            warnings,
            dial_rules: self.policy.dial_rules.clone(),
            allowed: self.policy.allowed.clone(),
        })
    }

    fn entries(&self, index: &ObjectIndex<'_>) -> Vec<Entry> {
        let mut numbers: Vec<Entry> = self
            .numbers
            .iter()
            .map(|number| Entry {
                dialled: number.number.clone(),
                kind: EntryKind::Number,
                live: number.live,
                start: number.destination.as_ref().map(|d| index.target(d)),
            })
            .collect();
        numbers.sort_by(|a, b| a.dialled.cmp(&b.dialled));

        let mut short_numbers: Vec<(u32, Entry)> = self
            .objects
            .iter()
            .filter_map(|object| {
                let number = object.short_number.as_ref()?;
                let entry = Entry {
                    dialled: number.to_string(),
                    kind: EntryKind::ShortNumber,
                    live: true,
                    start: Some(index.target(&Destination::Object(object.id.clone()))),
                };
                // Short numbers are 2 to 6 digits, so the value always fits.
                Some((number.as_str().parse().unwrap_or(u32::MAX), entry))
            })
            .collect();
        short_numbers.sort_by(|(a_value, a), (b_value, b)| {
            a_value.cmp(b_value).then_with(|| a.dialled.cmp(&b.dialled))
        });

        numbers.extend(short_numbers.into_iter().map(|(_, entry)| entry));
        numbers
    }
}

fn build_node(object: &PbxObject, label: &str, index: &ObjectIndex<'_>) -> Node {
    let action = match &object.settings {
        ObjectSettings::Extension(extension) => {
            extension_action(extension, &object.id, label, index)
        }
        ObjectSettings::RingGroup(group) => ring_group_action(group, index),
        ObjectSettings::IvrMenu(menu) => menu_action(menu, index),
        ObjectSettings::VoicemailBox(voicemail) => Action::Voicemail {
            email: voicemail.email.clone(),
        },
        ObjectSettings::TimeCondition(condition) => schedule_action(condition, index),
        ObjectSettings::ConferenceBridge(conference) => Action::Conference {
            max_participants: conference.max_participants,
            pin_required: conference.pin.is_some(),
        },
    };
    Node {
        id: object.id.to_string(),
        kind: object.settings.kind(),
        short_number: object.short_number.as_ref().map(ToString::to_string),
        name: object.name.clone(),
        action,
    }
}

fn extension_action(
    extension: &ExtensionSettings,
    id: &PbxObjectId,
    label: &str,
    index: &ObjectIndex<'_>,
) -> Action {
    let resolve = |destination: &Option<Destination>| -> Option<Target> {
        match destination {
            Some(destination) => Some(index.target(destination)),
            None if extension.voicemail => Some(Target::OwnVoicemail {
                extension: id.to_string(),
                label: label.to_owned(),
            }),
            None => None,
        }
    };
    Action::RingExtension {
        seconds: extension.no_answer_seconds,
        voicemail: extension.voicemail,
        always: extension.forward_always.as_ref().map(|d| index.target(d)),
        busy: resolve(&extension.forward_busy),
        no_answer: resolve(&extension.forward_no_answer),
        unreachable: resolve(&extension.forward_unreachable),
    }
}

fn ring_group_action(group: &RingGroupSettings, index: &ObjectIndex<'_>) -> Action {
    let members = group
        .members
        .iter()
        .map(|member| match member {
            Member::Extension(id) => index.target(&Destination::Object(id.clone())),
            Member::External(number) => Target::External {
                number: number.clone(),
            },
        })
        .collect();
    Action::RingGroup {
        strategy: group.strategy,
        seconds: group.ring_seconds,
        members,
        no_answer: index.target(&group.no_answer),
    }
}

fn menu_action(menu: &IvrSettings, index: &ObjectIndex<'_>) -> Action {
    Action::Menu {
        greeting: menu.greeting.clone(),
        timeout_seconds: menu.timeout_seconds,
        repeat: menu.repeat,
        options: menu
            .options
            .iter()
            .map(|(key, destination)| (key.to_string(), index.target(destination)))
            .collect(),
        timeout: index.target(&menu.timeout),
        invalid: index.target(&menu.invalid),
    }
}

fn schedule_action(condition: &TimeConditionSettings, index: &ObjectIndex<'_>) -> Action {
    let weekly = condition
        .schedule
        .weekly
        .iter()
        .map(|hours| format!("{} {}–{}", hours.day.as_str(), hours.open, hours.close))
        .collect();
    let exceptions = condition
        .schedule
        .exceptions
        .iter()
        .map(describe_exception)
        .collect();
    Action::Schedule {
        open: index.target(&condition.open),
        closed: index.target(&condition.closed),
        weekly,
        exceptions,
        hours: condition.schedule.clone(),
    }
}

/// Formats an exception as `2026-12-25 Christmas Day: closed` or
/// `2026-12-24 Christmas Eve: 08:30–12:00`.
fn describe_exception(exception: &DatedException) -> String {
    let hours = if exception.hours.is_empty() {
        "closed".to_owned()
    } else {
        exception
            .hours
            .iter()
            .map(|(open, close)| format!("{open}–{close}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{} {}: {hours}", exception.date.as_string(), exception.name)
}

/// Returns the numbers that reach the emergency services: [`EMERGENCY_NUMBERS`], plus the
/// country's own number when the list lacks it.
fn emergency_numbers(country: Country) -> Vec<&'static str> {
    let mut numbers = EMERGENCY_NUMBERS.to_vec();
    let own = country.emergency_number();
    if !numbers.contains(&own) {
        numbers.push(own);
    }
    numbers
}

fn emergency_routes(country: Country) -> Vec<EmergencyRoute> {
    let own = country.emergency_number();
    emergency_numbers(country)
        .into_iter()
        .map(|number| {
            let mut note = format!(
                "{number} is an emergency number and goes to the emergency route unchanged, \
                 before any short number or dial rule of the account."
            );
            if number == own {
                note.push_str(&format!(
                    " It is the emergency number of {}.",
                    country.name()
                ));
            }
            EmergencyRoute {
                dialled: number.to_owned(),
                note,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tracing
// ---------------------------------------------------------------------------------------------

impl RoutingTable {
    /// Describes, hop by hop, what happens to a call to `dialled` at `at`.
    ///
    /// `dialled` is an emergency number, an inbound number in E.164 or international form, or
    /// a short number. Emergency numbers are matched first. `config` must be the account this
    /// table was compiled from, because its time zone and country are used to read the time
    /// and to classify external numbers. The walk follows the no-answer path of extensions
    /// and ring groups, stops at an IVR menu, and ends within [`MAX_TRACE_STEPS`] steps.
    pub fn trace(&self, dialled: &str, at: Timestamp, config: &AccountConfig) -> Trace {
        let dialled = dialled.trim();
        let mut trace = Trace {
            dialled: dialled.to_owned(),
            at_local: format_timestamp(at, &config.time_zone),
            steps: Vec::new(),
        };
        if let Some(route) = self.emergency.iter().find(|route| route.dialled == dialled) {
            trace.steps.push(TraceStep {
                node: None,
                text: route.note.clone(),
            });
            return trace;
        }

        // Inbound numbers may be typed in international form, such as +64 9 400 1234.
        let key = match PhoneNumber::parse_e164(dialled) {
            Ok(number) => number.as_str().to_owned(),
            Err(_) => dialled.to_owned(),
        };
        let Some(entry) = self.entries.iter().find(|entry| entry.dialled == key) else {
            trace.steps.push(TraceStep {
                node: None,
                text: format!(
                    "{dialled} is not a number of this account. It is neither one of its \
                     inbound numbers nor a short number of one of its objects."
                ),
            });
            return trace;
        };

        let shown = match entry.kind {
            EntryKind::Number => format!("Number {}", display_number(&entry.dialled)),
            EntryKind::ShortNumber => format!("Short number {}", entry.dialled),
        };
        if !entry.live {
            trace.steps.push(TraceStep {
                node: None,
                text: format!(
                    "{shown} is not live yet because its port-in is not complete, so calls to \
                     it do not arrive yet. Once it is live, calls follow the path below."
                ),
            });
        }
        let Some(start) = &entry.start else {
            // Only inbound numbers lack a start: every short number starts at its object.
            trace.steps.push(TraceStep {
                node: None,
                text: format!(
                    "Callers hear that the number is not in service, because {} has no \
                     destination.",
                    uncapitalize(&shown)
                ),
            });
            return trace;
        };
        trace.steps.push(TraceStep {
            node: None,
            text: format!("{shown} routes to {}.", target_phrase(start)),
        });
        self.walk(start.clone(), at, config, &mut trace.steps);
        trace
    }

    /// Appends one step per hop from `target` until the call ends, reaches an IVR menu, or
    /// the trace contains [`MAX_TRACE_STEPS`] steps.
    fn walk(
        &self,
        mut target: Target,
        at: Timestamp,
        config: &AccountConfig,
        steps: &mut Vec<TraceStep>,
    ) {
        let mut visited = HashSet::new();
        loop {
            if steps.len() + 1 >= MAX_TRACE_STEPS {
                steps.push(TraceStep {
                    node: None,
                    text: format!(
                        "The trace stops here, after {MAX_TRACE_STEPS} steps, although the call \
                         would go on to {}.",
                        target_phrase(&target)
                    ),
                });
                return;
            }
            let id = match target {
                Target::Hangup => return,
                Target::External { number } => {
                    steps.push(external_step(&number, &self.allowed, config.country));
                    return;
                }
                Target::OwnVoicemail { extension, label } => {
                    steps.push(TraceStep {
                        node: Some(extension),
                        text: format!(
                            "{} records a message in its own voicemail.",
                            capitalize(&label)
                        ),
                    });
                    return;
                }
                Target::Node { id, .. } => id,
            };
            if !visited.insert(id.clone()) {
                steps.push(TraceStep {
                    node: Some(id.clone()),
                    text: format!(
                        "The call comes back to {}, which it has already passed, so the trace \
                         stops here.",
                        self.label_of(&id)
                    ),
                });
                return;
            }
            let Some(node) = self.nodes.get(&id) else {
                steps.push(TraceStep {
                    node: Some(id.clone()),
                    text: format!("Object {id} is not in this routing table, so the trace stops."),
                });
                return;
            };
            let (text, next) = self.node_step(node, at, config);
            steps.push(TraceStep {
                node: Some(id),
                text,
            });
            match next {
                Some(next) => target = next,
                None => return,
            }
        }
    }

    /// Describes what `node` does and returns where the call goes next, if it goes on without
    /// input from the caller.
    fn node_step(
        &self,
        node: &Node,
        at: Timestamp,
        config: &AccountConfig,
    ) -> (String, Option<Target>) {
        let label = capitalize(&self.label_of(&node.id));
        match &node.action {
            Action::RingExtension {
                seconds,
                always,
                busy,
                no_answer,
                unreachable,
                ..
            } => {
                if let Some(always) = always {
                    let text = format!("{label} forwards every call to {}.", target_phrase(always));
                    return (text, Some(always.clone()));
                }
                let busy = match busy {
                    Some(busy) => format!("If it is busy, {}.", call_goes(busy)),
                    None => "If it is busy, the caller hears a busy tone.".to_owned(),
                };
                let unreachable = match unreachable {
                    Some(unreachable) => {
                        format!(
                            "If none of its phones is registered, {}.",
                            call_goes(unreachable)
                        )
                    }
                    None => "If none of its phones is registered, the call ends.".to_owned(),
                };
                let no_answer_text = match no_answer {
                    Some(target) => format!("If nobody answers, {}.", call_goes(target)),
                    None => "If nobody answers, the call ends.".to_owned(),
                };
                let text =
                    format!("{label} rings for {seconds} s. {busy} {unreachable} {no_answer_text}");
                (text, no_answer.clone())
            }
            Action::RingGroup {
                strategy,
                seconds,
                members,
                no_answer,
            } => {
                let rings = if members.is_empty() {
                    "has no members, so no phone rings".to_owned()
                } else {
                    let names: Vec<String> = members
                        .iter()
                        .map(|member| self.member_name(member))
                        .collect();
                    let names = join_names(&names);
                    match strategy {
                        RingStrategy::Simultaneous => {
                            format!("rings {names} at once for {seconds} s")
                        }
                        RingStrategy::Sequential => {
                            format!("rings {names} one after another, {seconds} s each")
                        }
                        RingStrategy::RoundRobin => format!(
                            "rings {names} in turn, starting after the member who answered \
                             last, {seconds} s each"
                        ),
                    }
                };
                let text = format!(
                    "{label} {rings}. If nobody answers, {}.",
                    call_goes(no_answer)
                );
                (text, Some(no_answer.clone()))
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
                    Greeting::Text(text) => format!("its greeting \"{text}\""),
                    Greeting::Recording(media) => format!("the recording {media}"),
                };
                let mut text = format!(
                    "{label} plays {greeting} and waits {timeout_seconds} s for a key, {}.",
                    times(*repeat)
                );
                if options.is_empty() {
                    text.push_str(" It has no key options.");
                }
                for (key, option) in options {
                    text.push_str(&format!(" Key {key}: {}.", target_phrase(option)));
                }
                text.push_str(&format!(
                    " No key: {}. A key without an option: {}. The caller's key decides the rest \
                     of the call.",
                    target_phrase(timeout),
                    target_phrase(invalid)
                ));
                (text, None)
            }
            Action::Voicemail { email } => {
                let text = match email {
                    Some(email) => {
                        format!("{label} records a message and emails it to {email}.")
                    }
                    None => format!("{label} records a message."),
                };
                (text, None)
            }
            Action::Schedule {
                open,
                closed,
                hours,
                ..
            } => {
                let (is_open, exception) = hours.is_open(at, &config.time_zone);
                let local = at
                    .to_zoned(config.time_zone.to_tz())
                    .strftime("%A %-d %b %Y at %-I:%M %P %Z")
                    .to_string();
                let reason = match exception {
                    Some(exception) => format!("the exception \"{}\"", exception.name),
                    None => "weekly hours".to_owned(),
                };
                let (state, next) = if is_open {
                    ("open", open)
                } else {
                    ("closed", closed)
                };
                let text = format!(
                    "{label} is {state} on {local} ({reason}), so {}.",
                    call_goes(next)
                );
                (text, Some(next.clone()))
            }
            Action::Conference {
                max_participants,
                pin_required,
            } => {
                let pin = if *pin_required {
                    " after the caller enters the PIN"
                } else {
                    ""
                };
                let text = format!(
                    "{label} joins the caller to the conference{pin}, with room for \
                     {max_participants} participants."
                );
                (text, None)
            }
        }
    }

    fn label_of(&self, id: &str) -> String {
        match self.nodes.get(id) {
            Some(node) => describe_node(node),
            None => id.to_owned(),
        }
    }

    /// Names a ring group member as `101 "Ann"`, or an external member by its number.
    fn member_name(&self, member: &Target) -> String {
        match member {
            Target::Node { id, label } => match self.nodes.get(id) {
                Some(Node {
                    short_number: Some(number),
                    name,
                    ..
                }) => format!("{number} \"{name}\""),
                _ => label.clone(),
            },
            other => target_phrase(other),
        }
    }
}

fn external_step(number: &str, allowed: &[DestinationClass], home: Country) -> TraceStep {
    let mut text = format!(
        "The call goes out to {}, dialled under the outbound policy.",
        display_number(number)
    );
    let international = PhoneNumber::parse_e164(number).is_ok_and(|p| p.country() != home);
    if international && !allowed.contains(&DestinationClass::International) {
        text.push_str(
            " It is an international number and the outbound policy does not allow \
             international calls, so the call is blocked.",
        );
    }
    TraceStep { node: None, text }
}

/// Describes a node as [`PbxObject::describe`] does.
fn describe_node(node: &Node) -> String {
    let kind = node.kind.label();
    match &node.short_number {
        Some(number) => format!("{kind} {number} \"{}\"", node.name),
        None => format!("{kind} \"{}\"", node.name),
    }
}

/// Names a target inside a sentence, such as `ring group 600 "Sales"`.
fn target_phrase(target: &Target) -> String {
    match target {
        Target::Node { label, .. } => label.clone(),
        Target::External { number } => format!("the external number {}", display_number(number)),
        Target::Hangup => "hang-up, which ends the call".to_owned(),
        Target::OwnVoicemail { label, .. } => format!("the own voicemail of {label}"),
    }
}

/// Says where the call goes, such as `the call goes to ring group 600 "Sales"`.
fn call_goes(target: &Target) -> String {
    match target {
        Target::Hangup => "the call ends".to_owned(),
        Target::External { number } => {
            format!("the call goes out to {}", display_number(number))
        }
        Target::OwnVoicemail { .. } => "the call goes to its own voicemail".to_owned(),
        Target::Node { label, .. } => format!("the call goes to {label}"),
    }
}

/// Says how often an IVR greeting plays: `once`, `twice` or `3 times`.
fn times(repeat: u8) -> String {
    match repeat {
        1 => "once".to_owned(),
        2 => "up to twice".to_owned(),
        n => format!("up to {n} times"),
    }
}

/// Names an inbound number in errors and references, such as `number +64 9 400 1234`.
fn number_label(e164: &str) -> String {
    format!("number {}", display_number(e164))
}

/// Formats an E.164 number for people, such as `+64 9 400 1234`, or returns it unchanged
/// when it does not parse.
fn display_number(e164: &str) -> String {
    match PhoneNumber::parse_e164(e164) {
        Ok(number) => number.format_international(),
        Err(_) => e164.to_owned(),
    }
}

/// Joins names as `A`, `A and B` or `A, B and C`.
fn join_names<S: AsRef<str>>(names: &[S]) -> String {
    match names {
        [] => String::new(),
        [single] => single.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// Lower-cases the first letter, for a sentence start used inside a sentence.
fn uncapitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// Upper-cases the first letter, for a description that starts a sentence.
fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbx::{
        ConferenceSettings, InboundNumber, OutboundPolicy, Pin, ShortNumber, VoicemailSettings,
    };
    use crate::TimeZoneName;

    fn id(n: u32) -> PbxObjectId {
        PbxObjectId::parse(&format!("pbx_{n:026}")).unwrap()
    }

    fn to(n: u32) -> Destination {
        Destination::Object(id(n))
    }

    fn object(n: u32, short: Option<&str>, name: &str, settings: ObjectSettings) -> PbxObject {
        PbxObject {
            id: id(n),
            short_number: short.map(|digits| ShortNumber::parse(digits).unwrap()),
            name: name.to_owned(),
            settings,
            version: 1,
        }
    }

    fn extension_settings() -> ExtensionSettings {
        ExtensionSettings {
            user_id: None,
            caller_id: None,
            voicemail: false,
            forward_always: None,
            forward_busy: None,
            forward_no_answer: None,
            no_answer_seconds: 20,
            forward_unreachable: None,
        }
    }

    fn extension(n: u32, short: &str, name: &str, settings: ExtensionSettings) -> PbxObject {
        object(n, Some(short), name, ObjectSettings::Extension(settings))
    }

    fn voicemail_box(n: u32, short: &str, name: &str) -> PbxObject {
        let settings = VoicemailSettings {
            pin: Pin::parse("4821").unwrap(),
            email: Some("sales@example.com".into()),
        };
        object(n, Some(short), name, ObjectSettings::VoicemailBox(settings))
    }

    fn number(e164: &str, live: bool, destination: Option<Destination>) -> InboundNumber {
        InboundNumber {
            number: e164.to_owned(),
            live,
            destination,
        }
    }

    fn account(objects: Vec<PbxObject>, numbers: Vec<InboundNumber>) -> AccountConfig {
        AccountConfig {
            time_zone: TimeZoneName::parse("Pacific/Auckland").unwrap(),
            country: Country::NZ,
            objects,
            numbers,
            policy: OutboundPolicy::default(),
        }
    }

    use crate::pbx::schedule::tests::{at, office_hours};

    const ANN: u32 = 1;
    const BOB: u32 = 2;
    const SALES: u32 = 3;
    const MENU: u32 = 4;
    const MESSAGES: u32 = 5;
    const OFFICE_HOURS: u32 = 6;
    const BOARD: u32 = 7;

    /// Builds a small valid account: a number to office hours, which opens to an IVR menu whose
    /// option 1 rings the Sales group, a number being ported in to Sales, and one unrouted
    /// number.
    fn acme() -> AccountConfig {
        let ann = ExtensionSettings {
            voicemail: true,
            ..extension_settings()
        };
        let bob = ExtensionSettings {
            forward_no_answer: Some(Destination::External("+6421555123".into())),
            ..extension_settings()
        };
        let sales = RingGroupSettings {
            members: vec![Member::Extension(id(ANN)), Member::Extension(id(BOB))],
            strategy: RingStrategy::Simultaneous,
            ring_seconds: 20,
            no_answer: to(MESSAGES),
        };
        let menu = IvrSettings {
            greeting: Greeting::Text("Welcome to Acme. For sales, press 1.".into()),
            options: BTreeMap::from([('1', to(SALES)), ('2', to(ANN)), ('0', Destination::Hangup)]),
            timeout_seconds: 5,
            timeout: to(SALES),
            invalid: Destination::Hangup,
            repeat: 3,
        };
        let office_hours = TimeConditionSettings {
            schedule: office_hours(),
            open: to(MENU),
            closed: to(MESSAGES),
        };
        let board = ConferenceSettings {
            pin: Some(Pin::parse("1234").unwrap()),
            max_participants: 10,
        };
        account(
            vec![
                extension(ANN, "101", "Ann", ann),
                extension(BOB, "102", "Bob", bob),
                object(
                    SALES,
                    Some("600"),
                    "Sales",
                    ObjectSettings::RingGroup(sales),
                ),
                object(
                    MENU,
                    Some("500"),
                    "Main menu",
                    ObjectSettings::IvrMenu(menu),
                ),
                voicemail_box(MESSAGES, "800", "Sales messages"),
                object(
                    OFFICE_HOURS,
                    None,
                    "Office hours",
                    ObjectSettings::TimeCondition(office_hours),
                ),
                object(
                    BOARD,
                    Some("700"),
                    "Board",
                    ObjectSettings::ConferenceBridge(board),
                ),
            ],
            vec![
                number("+6494001236", true, None),
                number("+6494001234", true, Some(to(OFFICE_HOURS))),
                number("+6494001235", false, Some(to(SALES))),
            ],
        )
    }

    fn node_target(n: u32, label: &str) -> Target {
        Target::Node {
            id: id(n).to_string(),
            label: label.to_owned(),
        }
    }

    fn settings_mut(config: &mut AccountConfig, n: u32) -> &mut ObjectSettings {
        let object = config.objects.iter_mut().find(|o| o.id == id(n)).unwrap();
        &mut object.settings
    }

    fn step_texts(trace: &Trace) -> Vec<&str> {
        trace.steps.iter().map(|step| step.text.as_str()).collect()
    }

    #[test]
    fn compile_valid_account_entries() {
        let table = acme().compile().unwrap();
        let dialled: Vec<&str> = table.entries.iter().map(|e| e.dialled.as_str()).collect();
        assert_eq!(
            dialled,
            [
                "+6494001234",
                "+6494001235",
                "+6494001236",
                "101",
                "102",
                "500",
                "600",
                "700",
                "800"
            ]
        );

        let first = &table.entries[0];
        assert_eq!(first.kind, EntryKind::Number);
        assert!(first.live);
        assert_eq!(
            first.start,
            Some(node_target(OFFICE_HOURS, "time condition \"Office hours\""))
        );
        assert!(!table.entries[1].live);
        assert_eq!(table.entries[2].start, None);

        let ann = &table.entries[3];
        assert_eq!(ann.kind, EntryKind::ShortNumber);
        assert!(ann.live);
        assert_eq!(ann.start, Some(node_target(ANN, "extension 101 \"Ann\"")));

        let codes: Vec<&str> = table.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, ["number_not_routed"]);
        assert!(
            table.warnings[0].message.contains("+64 9 400 1236"),
            "{}",
            table.warnings[0].message
        );
        assert_eq!(table.time_zone, "Pacific/Auckland");

        let emergency: Vec<&str> = table.emergency.iter().map(|e| e.dialled.as_str()).collect();
        assert_eq!(emergency, EMERGENCY_NUMBERS);
    }

    #[test]
    fn compile_valid_account_nodes() {
        let table = acme().compile().unwrap();
        assert_eq!(table.nodes.len(), 7);

        let ann = &table.nodes[&id(ANN).to_string()];
        assert_eq!(ann.kind, ObjectKind::Extension);
        assert_eq!(ann.short_number.as_deref(), Some("101"));
        let own_voicemail = Target::OwnVoicemail {
            extension: id(ANN).to_string(),
            label: "extension 101 \"Ann\"".into(),
        };
        assert_eq!(
            ann.action,
            Action::RingExtension {
                seconds: 20,
                voicemail: true,
                always: None,
                busy: Some(own_voicemail.clone()),
                no_answer: Some(own_voicemail.clone()),
                unreachable: Some(own_voicemail),
            }
        );

        let sales = &table.nodes[&id(SALES).to_string()];
        assert_eq!(
            sales.action,
            Action::RingGroup {
                strategy: RingStrategy::Simultaneous,
                seconds: 20,
                members: vec![
                    node_target(ANN, "extension 101 \"Ann\""),
                    node_target(BOB, "extension 102 \"Bob\""),
                ],
                no_answer: node_target(MESSAGES, "voicemail box 800 \"Sales messages\""),
            }
        );

        let Action::Menu {
            options, invalid, ..
        } = &table.nodes[&id(MENU).to_string()].action
        else {
            panic!("the main menu is not a menu node");
        };
        let keys: Vec<&str> = options.keys().map(String::as_str).collect();
        assert_eq!(keys, ["0", "1", "2"]);
        assert_eq!(options["1"], node_target(SALES, "ring group 600 \"Sales\""));
        assert_eq!(*invalid, Target::Hangup);

        let Action::Schedule {
            weekly, exceptions, ..
        } = &table.nodes[&id(OFFICE_HOURS).to_string()].action
        else {
            panic!("office hours is not a schedule node");
        };
        assert_eq!(weekly[0], "mon 08:30–17:00");
        assert_eq!(exceptions, &["2026-12-25 Christmas Day: closed"]);

        let board = &table.nodes[&id(BOARD).to_string()];
        assert_eq!(
            board.action,
            Action::Conference {
                max_participants: 10,
                pin_required: true
            }
        );
    }

    #[test]
    fn routing_table_json_shape() {
        let table = acme().compile().unwrap();
        let json = serde_json::to_value(&table).unwrap();
        let sales = &json["nodes"][id(SALES).to_string()];
        assert_eq!(sales["action"], "ring_group");
        assert_eq!(sales["kind"], "ring_group");
        assert_eq!(sales["members"][0]["target"], "node");
        assert_eq!(sales["strategy"], "simultaneous");
        assert_eq!(json["entries"][0]["kind"], "number");
        assert_eq!(json["entries"][3]["kind"], "short_number");
        assert_eq!(
            json["entries"][0]["start"]["label"],
            "time condition \"Office hours\""
        );
        assert_eq!(json["entries"][2]["start"], serde_json::Value::Null);
        let menu = &json["nodes"][id(MENU).to_string()];
        assert_eq!(menu["action"], "menu");
        assert_eq!(menu["invalid"]["target"], "hangup");
        assert_eq!(json["warnings"][0]["code"], "number_not_routed");
    }

    #[test]
    fn forwarding_loop_rejected_with_path() {
        let a = ExtensionSettings {
            forward_busy: Some(to(2)),
            ..extension_settings()
        };
        let b = ExtensionSettings {
            forward_no_answer: Some(to(1)),
            ..extension_settings()
        };
        let config = account(
            vec![extension(1, "101", "A", a), extension(2, "102", "B", b)],
            Vec::new(),
        );
        let errors = config.compile().unwrap_err();
        assert_eq!(
            errors,
            [ConfigError::Loop {
                path: vec![
                    "extension 101 \"A\"".into(),
                    "extension 102 \"B\"".into(),
                    "extension 101 \"A\"".into(),
                ]
            }]
        );
        assert_eq!(errors[0].code(), "routing_loop");
        assert_eq!(
            errors[0].to_string(),
            "Calls would loop without end: extension 101 \"A\" → extension 102 \"B\" → \
             extension 101 \"A\". Change where one of these objects sends calls so that the \
             path ends, for example at a voicemail box."
        );
    }

    #[test]
    fn self_forward_rejected() {
        let a = ExtensionSettings {
            forward_always: Some(to(1)),
            ..extension_settings()
        };
        let errors = account(vec![extension(1, "101", "A", a)], Vec::new())
            .check()
            .unwrap_err();
        assert_eq!(
            errors,
            [ConfigError::Loop {
                path: vec!["extension 101 \"A\"".into(), "extension 101 \"A\"".into()]
            }]
        );
    }

    #[test]
    fn loop_through_time_condition_and_menu() {
        let mut config = acme();
        // Office hours opens to the menu, and the menu's timeout now goes back to office hours.
        let ObjectSettings::IvrMenu(menu) = settings_mut(&mut config, MENU) else {
            panic!("the main menu is not a menu");
        };
        menu.timeout = to(OFFICE_HOURS);
        let errors = config.compile().unwrap_err();
        assert_eq!(
            errors,
            [ConfigError::Loop {
                path: vec![
                    "IVR menu 500 \"Main menu\"".into(),
                    "time condition \"Office hours\"".into(),
                    "IVR menu 500 \"Main menu\"".into(),
                ]
            }]
        );
    }

    #[test]
    fn ivr_option_to_own_menu_allowed() {
        let mut config = acme();
        let ObjectSettings::IvrMenu(menu) = settings_mut(&mut config, MENU) else {
            panic!("the main menu is not a menu");
        };
        menu.options.insert('9', to(MENU));
        let table = config.compile().unwrap();
        let Action::Menu { options, .. } = &table.nodes[&id(MENU).to_string()].action else {
            panic!("the main menu is not a menu node");
        };
        assert_eq!(
            options["9"],
            node_target(MENU, "IVR menu 500 \"Main menu\"")
        );
    }

    #[test]
    fn ring_group_member_forwarding_not_a_loop() {
        let mut config = acme();
        // Ann forwards to Sales, and Sales rings Ann. Only Ann's phones ring, so this is no loop.
        let ObjectSettings::Extension(ann) = settings_mut(&mut config, ANN) else {
            panic!("Ann is not an extension");
        };
        ann.forward_always = Some(to(SALES));
        assert!(config.compile().is_ok());
    }

    #[test]
    fn missing_destination_named() {
        let mut config = acme();
        let ObjectSettings::TimeCondition(condition) = settings_mut(&mut config, OFFICE_HOURS)
        else {
            panic!("office hours is not a time condition");
        };
        condition.open = to(99);
        config.numbers[0].destination = Some(to(98));
        let errors = config.compile().unwrap_err();
        assert_eq!(
            errors,
            [
                ConfigError::MissingDestination {
                    from: "time condition \"Office hours\"".into(),
                    setting: "open".into(),
                    target: id(99).to_string(),
                },
                ConfigError::MissingDestination {
                    from: "number +64 9 400 1236".into(),
                    setting: "destination".into(),
                    target: id(98).to_string(),
                },
            ]
        );
        assert_eq!(errors[0].code(), "missing_destination");
        assert_eq!(
            errors[0].to_string(),
            format!(
                "The \"open\" setting of time condition \"Office hours\" names {}, which is not \
                 an object of this account. Choose an existing destination or create the \
                 object first.",
                id(99)
            )
        );
    }

    #[test]
    fn missing_destination_skips_loop_search() {
        let a = ExtensionSettings {
            forward_always: Some(to(1)),
            forward_busy: Some(to(50)),
            ..extension_settings()
        };
        let errors = account(vec![extension(1, "101", "A", a)], Vec::new())
            .check()
            .unwrap_err();
        let codes: Vec<&str> = errors.iter().map(ConfigError::code).collect();
        assert_eq!(codes, ["missing_destination"]);
    }

    #[test]
    fn voicemail_box_member_rejected() {
        let mut config = acme();
        let ObjectSettings::RingGroup(group) = settings_mut(&mut config, SALES) else {
            panic!("Sales is not a ring group");
        };
        group.members.push(Member::Extension(id(MESSAGES)));
        let errors = config.compile().unwrap_err();
        assert_eq!(
            errors,
            [ConfigError::NotAnExtension {
                from: "ring group 600 \"Sales\"".into(),
                member: "voicemail box 800 \"Sales messages\"".into(),
            }]
        );
        assert_eq!(errors[0].code(), "not_an_extension");
        assert!(
            errors[0].to_string().starts_with(
                "Ring group 600 \"Sales\" lists voicemail box 800 \"Sales messages\" as a member"
            ),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn missing_member_reported_once() {
        let mut config = acme();
        let ObjectSettings::RingGroup(group) = settings_mut(&mut config, SALES) else {
            panic!("Sales is not a ring group");
        };
        group.members.push(Member::Extension(id(77)));
        let errors = config.check().unwrap_err();
        assert_eq!(
            errors,
            [ConfigError::MissingDestination {
                from: "ring group 600 \"Sales\"".into(),
                setting: "member 3".into(),
                target: id(77).to_string(),
            }]
        );
    }

    #[test]
    fn short_number_errors() {
        let config = account(
            vec![
                extension(1, "101", "A", extension_settings()),
                voicemail_box(2, "101", "B"),
                object(
                    3,
                    None,
                    "C",
                    ObjectSettings::Extension(extension_settings()),
                ),
                object(
                    4,
                    Some("300"),
                    "Hours",
                    ObjectSettings::TimeCondition(TimeConditionSettings {
                        schedule: Schedule::default(),
                        open: Destination::Hangup,
                        closed: Destination::Hangup,
                    }),
                ),
            ],
            Vec::new(),
        );
        let errors = config.check().unwrap_err();
        assert_eq!(
            errors,
            [
                ConfigError::DuplicateShortNumber {
                    number: "101".into(),
                    first: "extension 101 \"A\"".into(),
                    second: "voicemail box 101 \"B\"".into(),
                },
                ConfigError::ShortNumberRequired {
                    object: "extension \"C\"".into()
                },
                ConfigError::ShortNumberNotAllowed {
                    object: "time condition 300 \"Hours\"".into()
                },
            ]
        );
        let codes: Vec<&str> = errors.iter().map(ConfigError::code).collect();
        assert_eq!(
            codes,
            [
                "duplicate_short_number",
                "short_number_required",
                "short_number_not_allowed"
            ]
        );
        assert_eq!(
            errors[1].to_string(),
            "Extension \"C\" has no short number. Give it 2 to 6 digits, such as 101."
        );
    }

    #[test]
    fn config_error_json_carries_code() {
        let errors = [
            ConfigError::MissingDestination {
                from: "a".into(),
                setting: "b".into(),
                target: "c".into(),
            },
            ConfigError::NotAnExtension {
                from: "a".into(),
                member: "b".into(),
            },
            ConfigError::Loop {
                path: vec!["a".into(), "a".into()],
            },
            ConfigError::DuplicateShortNumber {
                number: "101".into(),
                first: "a".into(),
                second: "b".into(),
            },
            ConfigError::ShortNumberRequired { object: "a".into() },
            ConfigError::ShortNumberNotAllowed { object: "a".into() },
        ];
        for error in errors {
            let json = serde_json::to_value(&error).unwrap();
            assert_eq!(json["code"], error.code(), "{json}");
        }
    }

    #[test]
    fn references_to_lists_option_and_number() {
        let config = acme();
        let references = config.references_to(&id(SALES));
        assert_eq!(
            references,
            [
                Reference {
                    from: "IVR menu 500 \"Main menu\"".into(),
                    setting: "option 1".into(),
                },
                Reference {
                    from: "IVR menu 500 \"Main menu\"".into(),
                    setting: "timeout".into(),
                },
                Reference {
                    from: "number +64 9 400 1235".into(),
                    setting: "destination".into(),
                },
            ]
        );
        let to_ann = config.references_to(&id(ANN));
        let settings: Vec<&str> = to_ann.iter().map(|r| r.setting.as_str()).collect();
        assert_eq!(settings, ["member 1", "option 2"]);
        assert!(config.references_to(&id(BOARD)).is_empty());
    }

    #[test]
    fn object_lookups() {
        let config = acme();
        assert_eq!(config.object(&id(BOB)).unwrap().name, "Bob");
        assert!(config.object(&id(42)).is_none());
        assert_eq!(config.by_short_number(" 600 ").unwrap().id, id(SALES));
        assert!(config.by_short_number("601").is_none());
    }

    #[test]
    fn emergency_beats_short_number_and_dial_rule() {
        let mut config = acme();
        config.objects[0].short_number = Some(ShortNumber::parse("11").unwrap());
        config.policy.dial_rules.push(DialRule {
            prefix: "1".into(),
            strip: 1,
            prepend: String::new(),
        });
        let table = config.compile().unwrap();

        let warning = table
            .warnings
            .iter()
            .find(|w| w.code == "dial_rule_captures_emergency")
            .expect("no warning for the dial rule");
        assert!(warning.message.contains("111"), "{}", warning.message);
        assert!(
            warning.message.contains("Dial rule 1"),
            "{}",
            warning.message
        );
        assert!(
            warning
                .message
                .contains("sent unchanged before any dial rule"),
            "{}",
            warning.message
        );

        for dialled in ["111", " 111 ", "112", "999"] {
            let trace = table.trace(dialled, at("2026-12-03T10:00"), &config);
            assert_eq!(trace.steps.len(), 1, "{dialled}");
            assert_eq!(trace.steps[0].node, None, "{dialled}");
            assert!(
                trace.steps[0].text.contains("emergency route unchanged"),
                "{}",
                trace.steps[0].text
            );
        }
        let own = table.trace("111", at("2026-12-03T10:00"), &config);
        assert!(
            own.steps[0].text.contains("New Zealand"),
            "{}",
            own.steps[0].text
        );
    }

    #[test]
    fn dial_rule_prefix_starting_with_emergency_number_warns() {
        let mut config = acme();
        config.policy.dial_rules = vec![
            DialRule {
                prefix: "9".into(),
                strip: 1,
                prepend: String::new(),
            },
            DialRule {
                prefix: "0001".into(),
                strip: 0,
                prepend: String::new(),
            },
            DialRule {
                prefix: "021".into(),
                strip: 0,
                prepend: "+6421".into(),
            },
        ];
        let warnings = config.check().unwrap();
        let messages: Vec<&str> = warnings
            .iter()
            .filter(|w| w.code == "dial_rule_captures_emergency")
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].contains("numbers 911 and 999"),
            "{}",
            messages[0]
        );
        assert!(messages[1].contains("Dial rule 2"), "{}", messages[1]);
        assert!(messages[1].contains("number 000."), "{}", messages[1]);
    }

    #[test]
    fn international_forward_warns_when_blocked() {
        let mut config = acme();
        let ObjectSettings::Extension(bob) = settings_mut(&mut config, BOB) else {
            panic!("Bob is not an extension");
        };
        bob.forward_no_answer = Some(Destination::External("+442079460000".into()));
        let warnings = config.check().unwrap();
        let blocked: Vec<&Warning> = warnings
            .iter()
            .filter(|w| w.code == "international_blocked")
            .collect();
        assert_eq!(blocked.len(), 1, "{warnings:?}");
        assert!(
            blocked[0]
                .message
                .contains("\"forward on no answer\" setting of extension 102 \"Bob\""),
            "{}",
            blocked[0].message
        );
        assert!(
            blocked[0].message.contains("+44 20 7946 0000"),
            "{}",
            blocked[0].message
        );

        let table = config.compile().unwrap();
        let trace = table.trace("102", at("2026-12-03T10:00"), &config);
        let last = trace.steps.last().unwrap();
        assert!(last.text.contains("the call is blocked"), "{}", last.text);

        config.policy.allowed.push(DestinationClass::International);
        let warnings = config.check().unwrap();
        assert!(warnings.iter().all(|w| w.code != "international_blocked"));
    }

    #[test]
    fn premium_forward_warns_when_blocked() {
        let mut config = acme();
        let ObjectSettings::Extension(bob) = settings_mut(&mut config, BOB) else {
            panic!("Bob is not an extension");
        };
        // 0900 numbers are premium rate in New Zealand.
        bob.forward_busy = Some(Destination::External("+6490012345".into()));
        let warnings = config.check().unwrap();
        let blocked: Vec<&Warning> = warnings
            .iter()
            .filter(|w| w.code == "premium_blocked")
            .collect();
        assert_eq!(blocked.len(), 1, "{warnings:?}");
        assert!(
            blocked[0].message.contains("extension 102"),
            "{}",
            blocked[0].message
        );

        config.policy.allowed.push(DestinationClass::Premium);
        let warnings = config.check().unwrap();
        assert!(warnings.iter().all(|w| w.code != "premium_blocked"));
    }

    #[test]
    fn invalid_external_number_warns() {
        let mut config = acme();
        config.numbers[0].destination = Some(Destination::External("0800 FLOWERS".into()));
        let warnings = config.check().unwrap();
        let invalid: Vec<&Warning> = warnings
            .iter()
            .filter(|w| w.code == "invalid_external_number")
            .collect();
        assert_eq!(invalid.len(), 1, "{warnings:?}");
        assert!(
            invalid[0]
                .message
                .contains("setting of number +64 9 400 1236"),
            "{}",
            invalid[0].message
        );
    }

    #[test]
    fn trace_time_condition_open_and_closed() {
        let config = acme();
        let table = config.compile().unwrap();

        // Thursday 3 December 2026, 10:00 in Auckland is open, so the call reaches the menu.
        let open = table.trace("+6494001234", at("2026-12-03T10:00"), &config);
        assert_eq!(open.at_local, "3 Dec 2026, 10:00 am NZDT");
        let texts = step_texts(&open);
        assert_eq!(texts.len(), 3, "{texts:#?}");
        assert_eq!(
            texts[0],
            "Number +64 9 400 1234 routes to time condition \"Office hours\"."
        );
        assert_eq!(
            texts[1],
            "Time condition \"Office hours\" is open on Thursday 3 Dec 2026 at 10:00 am NZDT \
             (weekly hours), so the call goes to IVR menu 500 \"Main menu\"."
        );
        assert!(texts[2].starts_with("IVR menu 500 \"Main menu\" plays its greeting"));
        assert!(
            texts[2].contains("Key 1: ring group 600 \"Sales\"."),
            "{}",
            texts[2]
        );
        assert!(
            texts[2].contains("No key: ring group 600 \"Sales\"."),
            "{}",
            texts[2]
        );
        assert!(
            texts[2].contains("A key without an option: hang-up"),
            "{}",
            texts[2]
        );
        assert_eq!(open.steps[1].node, Some(id(OFFICE_HOURS).to_string()));
        assert_eq!(open.steps[2].node, Some(id(MENU).to_string()));

        // Saturday 5 December 2026, 10:00 is closed by the weekly hours.
        let closed = table.trace("+6494001234", at("2026-12-05T10:00"), &config);
        let texts = step_texts(&closed);
        assert_eq!(
            texts[1],
            "Time condition \"Office hours\" is closed on Saturday 5 Dec 2026 at 10:00 am NZDT \
             (weekly hours), so the call goes to voicemail box 800 \"Sales messages\"."
        );
        assert_eq!(
            texts[2],
            "Voicemail box 800 \"Sales messages\" records a message and emails it to \
             sales@example.com."
        );
        assert_eq!(texts.len(), 3);
    }

    #[test]
    fn trace_names_dated_exception() {
        let config = acme();
        let table = config.compile().unwrap();
        // Friday 25 December 2026 is a weekday, but the exception closes it.
        let trace = table.trace("+6494001234", at("2026-12-25T10:00"), &config);
        let texts = step_texts(&trace);
        assert!(texts[1].contains("is closed"), "{}", texts[1]);
        assert!(
            texts[1].contains("(the exception \"Christmas Day\")"),
            "{}",
            texts[1]
        );
    }

    #[test]
    fn trace_not_live_number_shows_path() {
        let config = acme();
        let table = config.compile().unwrap();
        let trace = table.trace("+64 9 400 1235", at("2026-12-03T10:00"), &config);
        assert_eq!(trace.dialled, "+64 9 400 1235");
        let texts = step_texts(&trace);
        assert_eq!(texts.len(), 4, "{texts:#?}");
        assert!(texts[0].contains("is not live yet"), "{}", texts[0]);
        assert!(texts[0].contains("port-in is not complete"), "{}", texts[0]);
        assert_eq!(
            texts[1],
            "Number +64 9 400 1235 routes to ring group 600 \"Sales\"."
        );
        assert_eq!(
            texts[2],
            "Ring group 600 \"Sales\" rings 101 \"Ann\" and 102 \"Bob\" at once for 20 s. If \
             nobody answers, the call goes to voicemail box 800 \"Sales messages\"."
        );
        assert!(texts[3].starts_with("Voicemail box 800"), "{}", texts[3]);
    }

    #[test]
    fn trace_unrouted_and_unknown_numbers() {
        let config = acme();
        let table = config.compile().unwrap();
        let unrouted = table.trace("+6494001236", at("2026-12-03T10:00"), &config);
        assert_eq!(
            step_texts(&unrouted),
            [
                "Callers hear that the number is not in service, because number +64 9 400 1236 \
                 has no destination."
            ]
        );
        for unknown in ["555", "+6494009999", ""] {
            let trace = table.trace(unknown, at("2026-12-03T10:00"), &config);
            assert_eq!(trace.steps.len(), 1, "{unknown}");
            assert!(
                trace.steps[0]
                    .text
                    .contains("is not a number of this account"),
                "{}",
                trace.steps[0].text
            );
        }
    }

    #[test]
    fn trace_extension_forwarding() {
        let mut config = acme();
        let table = config.compile().unwrap();
        let ann = table.trace("101", at("2026-12-03T10:00"), &config);
        assert_eq!(
            step_texts(&ann),
            [
                "Short number 101 routes to extension 101 \"Ann\".",
                "Extension 101 \"Ann\" rings for 20 s. If it is busy, the call goes to its own \
                 voicemail. If none of its phones is registered, the call goes to its own \
                 voicemail. If nobody answers, the call goes to its own voicemail.",
                "Extension 101 \"Ann\" records a message in its own voicemail.",
            ]
        );

        let ObjectSettings::Extension(bob) = settings_mut(&mut config, BOB) else {
            panic!("Bob is not an extension");
        };
        bob.forward_always = Some(to(ANN));
        bob.forward_busy = Some(Destination::Hangup);
        let table = config.compile().unwrap();
        let bob = table.trace("102", at("2026-12-03T10:00"), &config);
        let texts = step_texts(&bob);
        assert_eq!(
            texts[1],
            "Extension 102 \"Bob\" forwards every call to extension 101 \"Ann\"."
        );
        assert!(
            texts[2].starts_with("Extension 101 \"Ann\" rings"),
            "{}",
            texts[2]
        );
        assert_eq!(texts.len(), 4);
    }

    #[test]
    fn trace_conference_and_hangup() {
        let mut config = acme();
        let table = config.compile().unwrap();
        let board = table.trace("700", at("2026-12-03T10:00"), &config);
        assert_eq!(
            step_texts(&board)[1],
            "Conference bridge 700 \"Board\" joins the caller to the conference after the \
             caller enters the PIN, with room for 10 participants."
        );

        config.numbers[1].destination = Some(Destination::Hangup);
        let table = config.compile().unwrap();
        let trace = table.trace("+6494001234", at("2026-12-03T10:00"), &config);
        assert_eq!(
            step_texts(&trace),
            ["Number +64 9 400 1234 routes to hang-up, which ends the call."]
        );
    }

    /// Builds an account with 1,000 extensions, 100 ring groups, 50 IVR menus, 10 time
    /// conditions, 10 voicemail boxes and 500 numbers, connected in long forwarding chains.
    fn large_account() -> AccountConfig {
        let mut objects = Vec::new();
        let boxes: Vec<u32> = (0..10).map(|i| 20_000 + i).collect();
        for (i, &n) in boxes.iter().enumerate() {
            objects.push(voicemail_box(n, &format!("{}", 8000 + i), "Box"));
        }
        for i in 0..1000u32 {
            // Each extension forwards to the next one when busy, so the busy chain is 1,000 long.
            let settings = ExtensionSettings {
                voicemail: i % 2 == 0,
                forward_busy: (i + 1 < 1000).then(|| to(i + 1)),
                forward_no_answer: Some(to(boxes[(i % 10) as usize])),
                forward_unreachable: Some(Destination::External(format!("+64215550{:03}", i % 50))),
                ..extension_settings()
            };
            objects.push(extension(i, &format!("{}", 1000 + i), "Person", settings));
        }
        for g in 0..100u32 {
            let settings = RingGroupSettings {
                members: (0..10).map(|m| Member::Extension(id(g * 10 + m))).collect(),
                strategy: RingStrategy::Sequential,
                ring_seconds: 15,
                no_answer: to(g * 10),
            };
            objects.push(object(
                10_000 + g,
                Some(&format!("{}", 3000 + g)),
                "Group",
                ObjectSettings::RingGroup(settings),
            ));
        }
        for m in 0..50u32 {
            let options = (0..9u32)
                .map(|key| {
                    let digit = char::from_digit(key + 1, 10).unwrap();
                    (digit, to(10_000 + (m * 2 + key) % 100))
                })
                .collect();
            let settings = IvrSettings {
                greeting: Greeting::Text("Welcome.".into()),
                options,
                timeout_seconds: 5,
                timeout: to(10_000 + m),
                invalid: to(10_000 + m + 50),
                repeat: 2,
            };
            objects.push(object(
                11_000 + m,
                Some(&format!("{}", 5000 + m)),
                "Menu",
                ObjectSettings::IvrMenu(settings),
            ));
        }
        for t in 0..10u32 {
            let settings = TimeConditionSettings {
                schedule: office_hours(),
                open: to(11_000 + t),
                closed: to(boxes[t as usize]),
            };
            objects.push(object(
                12_000 + t,
                None,
                "Hours",
                ObjectSettings::TimeCondition(settings),
            ));
        }
        let numbers = (0..500u32)
            .map(|i| {
                let destination = if i % 2 == 0 {
                    to(12_000 + i % 10)
                } else {
                    to(11_000 + i % 50)
                };
                number(&format!("+649400{:04}", i), i % 7 != 0, Some(destination))
            })
            .collect();
        account(objects, numbers)
    }

    #[test]
    fn large_account_compiles() {
        let config = large_account();
        let table = config.compile().unwrap();
        assert_eq!(table.nodes.len(), 1170);
        assert_eq!(table.entries.len(), 500 + 1160);
        assert!(table.warnings.is_empty(), "{:?}", table.warnings.first());
        // The busy chain from extension 0 to 999 is an acyclic path of 1,000 objects.
        let trace = table.trace("+6494000001", at("2026-12-03T10:00"), &config);
        assert!(trace.steps.len() <= MAX_TRACE_STEPS);
    }

    /// Random accounts for the property test below, from a seeded generator so that a failing
    /// seed can be replayed.
    mod random {
        use super::*;
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};

        /// Ids 900 to 902 are never objects, so destinations naming them are missing.
        const MISSING: u32 = 900;

        /// Generator of destinations and members. In a broken account, some of them name
        /// missing objects or objects of the wrong kind. In the other accounts, only loops can
        /// make `compile` fail.
        struct Draw {
            rng: StdRng,
            count: u32,
            extensions: Vec<u32>,
            broken: bool,
        }

        impl Draw {
            fn destination(&mut self) -> Destination {
                if self.broken && self.rng.gen_bool(0.1) {
                    return to(MISSING + self.rng.gen_range(0..3));
                }
                match self.rng.gen_range(0..10) {
                    0..=2 => Destination::Hangup,
                    3 => Destination::External("+6494001299".into()),
                    _ => to(self.rng.gen_range(0..self.count)),
                }
            }

            fn maybe(&mut self) -> Option<Destination> {
                self.rng.gen_bool(0.5).then(|| self.destination())
            }

            fn member(&mut self) -> Member {
                if self.broken && self.rng.gen_bool(0.2) {
                    // A missing object or an object of any kind.
                    let n = if self.rng.gen_bool(0.5) {
                        MISSING
                    } else {
                        self.rng.gen_range(0..self.count)
                    };
                    return Member::Extension(id(n));
                }
                if self.extensions.is_empty() || self.rng.gen_bool(0.2) {
                    return Member::External("+6421555123".into());
                }
                let pick = self.rng.gen_range(0..self.extensions.len());
                Member::Extension(id(self.extensions[pick]))
            }

            fn settings(&mut self, kind: ObjectKind) -> ObjectSettings {
                match kind {
                    ObjectKind::Extension => ObjectSettings::Extension(ExtensionSettings {
                        voicemail: self.rng.gen_bool(0.5),
                        forward_always: self.rng.gen_bool(0.2).then(|| self.destination()),
                        forward_busy: self.maybe(),
                        forward_no_answer: self.maybe(),
                        forward_unreachable: self.maybe(),
                        ..extension_settings()
                    }),
                    ObjectKind::RingGroup => ObjectSettings::RingGroup(RingGroupSettings {
                        members: (0..self.rng.gen_range(0..4))
                            .map(|_| self.member())
                            .collect(),
                        strategy: RingStrategy::ALL[self.rng.gen_range(0..3)],
                        ring_seconds: 20,
                        no_answer: self.destination(),
                    }),
                    ObjectKind::IvrMenu => ObjectSettings::IvrMenu(IvrSettings {
                        greeting: Greeting::Text("Hello.".into()),
                        options: (0..self.rng.gen_range(0..4))
                            .map(|key| {
                                let digit = char::from_digit(key, 10).unwrap();
                                (digit, self.destination())
                            })
                            .collect(),
                        timeout_seconds: 5,
                        timeout: self.destination(),
                        invalid: self.destination(),
                        repeat: 2,
                    }),
                    ObjectKind::TimeCondition => {
                        ObjectSettings::TimeCondition(TimeConditionSettings {
                            schedule: office_hours(),
                            open: self.destination(),
                            closed: self.destination(),
                        })
                    }
                    ObjectKind::VoicemailBox => ObjectSettings::VoicemailBox(VoicemailSettings {
                        pin: Pin::parse("4821").unwrap(),
                        email: None,
                    }),
                    ObjectKind::ConferenceBridge => {
                        ObjectSettings::ConferenceBridge(ConferenceSettings {
                            pin: None,
                            max_participants: 5,
                        })
                    }
                }
            }
        }

        /// Generates up to 12 objects of random kinds with unique short numbers, and up to 4
        /// inbound numbers. A broken account may also share a short number, lack one or have
        /// one on a time condition.
        pub(super) fn account_from_seed(seed: u64) -> AccountConfig {
            let mut rng = StdRng::seed_from_u64(seed);
            let count = rng.gen_range(1..=12u32);
            let kinds: Vec<ObjectKind> = (0..count)
                .map(|_| ObjectKind::ALL[rng.gen_range(0..ObjectKind::ALL.len())])
                .collect();
            let extensions = (0..count)
                .filter(|&n| kinds[n as usize] == ObjectKind::Extension)
                .collect();
            let broken = rng.gen_bool(0.25);
            let mut draw = Draw {
                rng,
                count,
                extensions,
                broken,
            };
            let mut objects = Vec::new();
            for (n, &kind) in (0..count).zip(&kinds) {
                let settings = draw.settings(kind);
                let mut short = kind.has_short_number().then(|| format!("{}", 200 + n));
                if broken {
                    match draw.rng.gen_range(0..10) {
                        0 => short = Some("200".into()),
                        1 => short = short.xor(Some("299".into())),
                        _ => {}
                    }
                }
                objects.push(object(
                    n,
                    short.as_deref(),
                    &format!("Object {n}"),
                    settings,
                ));
            }
            let numbers = (0..draw.rng.gen_range(0..4u32))
                .map(|i| {
                    let destination = draw.maybe();
                    number(
                        &format!("+649400{:04}", i),
                        draw.rng.gen_bool(0.8),
                        destination,
                    )
                })
                .collect();
            account(objects, numbers)
        }
    }

    /// Lists the targets a node passes a call to without input from the caller.
    fn automatic_targets(action: &Action) -> Vec<&Target> {
        match action {
            Action::RingExtension {
                always,
                busy,
                no_answer,
                unreachable,
                ..
            } => [always, busy, no_answer, unreachable]
                .into_iter()
                .flatten()
                .collect(),
            Action::RingGroup { no_answer, .. } => vec![no_answer],
            Action::Menu {
                timeout, invalid, ..
            } => vec![timeout, invalid],
            Action::Schedule { open, closed, .. } => vec![open, closed],
            Action::Voicemail { .. } | Action::Conference { .. } => Vec::new(),
        }
    }

    /// Lists every target a node names, including ring group members and IVR options.
    fn all_targets(action: &Action) -> Vec<&Target> {
        let mut targets = automatic_targets(action);
        match action {
            Action::RingGroup { members, .. } => targets.extend(members),
            Action::Menu { options, .. } => targets.extend(options.values()),
            _ => {}
        }
        targets
    }

    /// Returns whether a directed graph has a cycle, using Kahn's algorithm. It repeatedly
    /// removes nodes without incoming edges, and a cycle is whatever cannot be removed. This
    /// differs on purpose from the depth-first search under test.
    fn has_cycle(edges: &BTreeMap<String, Vec<String>>) -> bool {
        let mut incoming: BTreeMap<&str, usize> = edges.keys().map(|k| (k.as_str(), 0)).collect();
        for targets in edges.values() {
            for target in targets {
                *incoming.get_mut(target.as_str()).unwrap() += 1;
            }
        }
        let mut ready: Vec<&str> = incoming
            .iter()
            .filter(|(_, &count)| count == 0)
            .map(|(&node, _)| node)
            .collect();
        let mut removed = 0;
        while let Some(node) = ready.pop() {
            removed += 1;
            for target in &edges[node] {
                let count = incoming.get_mut(target.as_str()).unwrap();
                *count -= 1;
                if *count == 0 {
                    ready.push(target);
                }
            }
        }
        removed < edges.len()
    }

    /// Builds the automatic-edge graph of a config from its settings, without the code under
    /// test. Destinations naming missing objects are left out.
    fn config_graph(config: &AccountConfig) -> BTreeMap<String, Vec<String>> {
        let object_ids: HashSet<String> = config.objects.iter().map(|o| o.id.to_string()).collect();
        config
            .objects
            .iter()
            .map(|object| {
                let destinations: Vec<&Destination> = match &object.settings {
                    ObjectSettings::Extension(e) => [
                        &e.forward_always,
                        &e.forward_busy,
                        &e.forward_no_answer,
                        &e.forward_unreachable,
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    ObjectSettings::RingGroup(g) => vec![&g.no_answer],
                    ObjectSettings::IvrMenu(m) => vec![&m.timeout, &m.invalid],
                    ObjectSettings::TimeCondition(t) => vec![&t.open, &t.closed],
                    _ => Vec::new(),
                };
                let targets = destinations
                    .into_iter()
                    .filter_map(|d| match d {
                        Destination::Object(id) => Some(id.to_string()),
                        _ => None,
                    })
                    .filter(|id| object_ids.contains(id))
                    .collect();
                (object.id.to_string(), targets)
            })
            .collect()
    }

    #[test]
    fn random_accounts_compile_to_acyclic_tables() {
        let instants = [at("2026-12-03T10:00"), at("2026-12-05T10:00")];
        let mut compiled = 0;
        let mut rejected_loops = 0;
        for seed in 0..2000u64 {
            let config = random::account_from_seed(seed);
            let config_has_cycle = has_cycle(&config_graph(&config));
            match config.compile() {
                Ok(table) => {
                    compiled += 1;
                    assert!(!config_has_cycle, "seed {seed}: a cyclic account compiled");
                    let mut graph = BTreeMap::new();
                    for (id, node) in &table.nodes {
                        assert_eq!(&node.id, id, "seed {seed}");
                        for target in all_targets(&node.action) {
                            if let Target::Node { id: target, .. } = target {
                                assert!(
                                    table.nodes.contains_key(target),
                                    "seed {seed}: {id} names {target}, which is not a node"
                                );
                            }
                        }
                        let automatic = automatic_targets(&node.action)
                            .into_iter()
                            .filter_map(|target| match target {
                                Target::Node { id, .. } => Some(id.clone()),
                                _ => None,
                            })
                            .collect();
                        graph.insert(id.clone(), automatic);
                    }
                    assert!(!has_cycle(&graph), "seed {seed}: the table has a cycle");
                    for entry in &table.entries {
                        if let Some(Target::Node { id, .. }) = &entry.start {
                            assert!(table.nodes.contains_key(id), "seed {seed}: {id}");
                        }
                        for instant in instants {
                            let trace = table.trace(&entry.dialled, instant, &config);
                            assert!(!trace.steps.is_empty(), "seed {seed}: {}", entry.dialled);
                            assert!(
                                trace.steps.len() <= MAX_TRACE_STEPS,
                                "seed {seed}: {} has {} steps",
                                entry.dialled,
                                trace.steps.len()
                            );
                        }
                    }
                }
                Err(errors) => {
                    assert!(!errors.is_empty(), "seed {seed}");
                    let loops: Vec<&Vec<String>> = errors
                        .iter()
                        .filter_map(|error| match error {
                            ConfigError::Loop { path } => Some(path),
                            _ => None,
                        })
                        .collect();
                    if errors.iter().all(|e| matches!(e, ConfigError::Loop { .. })) {
                        rejected_loops += 1;
                        assert!(config_has_cycle, "seed {seed}: a loop without a cycle");
                    }
                    // Names are unique, so each description identifies one object.
                    let ids_by_label: HashMap<String, String> = config
                        .objects
                        .iter()
                        .map(|o| (o.describe(), o.id.to_string()))
                        .collect();
                    let graph = config_graph(&config);
                    for path in loops {
                        assert!(path.len() >= 2, "seed {seed}");
                        assert_eq!(path.first(), path.last(), "seed {seed}");
                        for pair in path.windows(2) {
                            let from = &ids_by_label[&pair[0]];
                            let to = &ids_by_label[&pair[1]];
                            assert!(
                                graph[from].contains(to),
                                "seed {seed}: no automatic edge {} → {}",
                                pair[0],
                                pair[1]
                            );
                        }
                    }
                }
            }
        }
        // The generator must produce both outcomes, or the checks above test little.
        assert!(compiled > 200, "only {compiled} of 2000 accounts compiled");
        assert!(
            rejected_loops > 200,
            "only {rejected_loops} accounts had only loops"
        );
    }
}
