//! The PBX of one customer account: its callable objects (extensions, ring groups, IVR menus,
//! voicemail boxes, time conditions and conference bridges), the destinations they route to,
//! the inbound numbers, and the outbound policy.
//!
//! The settings types here are what the store keeps as JSON and what the routing compiler in
//! [`routing`] reads. Each is built from checked values ([`ShortNumber`], [`Pin`], E.164 numbers
//! parsed by [`crate::PhoneNumber`]). The whole account is checked as one [`AccountConfig`],
//! because references, loops and the short-number namespace span objects.

pub mod routing;
pub mod schedule;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enum_name::parse_name;
use crate::error::ValueError;
use crate::ids::{MediaId, PbxObjectId, UserId};
use crate::serde_string::string_serde;
use crate::time_zone::TimeZoneName;

pub use schedule::{DatedException, Schedule, WeeklyHours};

/// Numbers that always reach the emergency services, in every account, whatever its settings.
pub const EMERGENCY_NUMBERS: [&str; 5] = ["111", "000", "911", "112", "999"];

/// The short number of a callable object inside one account: 2 to 6 digits, not an emergency
/// number and not a feature code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortNumber(String);

impl ShortNumber {
    /// Parses a short number such as `101`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        if trimmed.starts_with('*') || trimmed.starts_with('#') {
            return Err(ValueError::new(
                "feature_code",
                format!(
                    "'{trimmed}' is a feature code: codes starting with * or # are kept for \
                     phone features, so give 2 to 6 digits."
                ),
            ));
        }
        if !trimmed.chars().all(|c| c.is_ascii_digit()) || !(2..=6).contains(&trimmed.len()) {
            return Err(ValueError::new(
                "invalid_short_number",
                format!("'{trimmed}' is not a short number: give 2 to 6 digits, such as 101."),
            ));
        }
        if EMERGENCY_NUMBERS.contains(&trimmed) {
            return Err(ValueError::new(
                "emergency_number",
                format!(
                    "'{trimmed}' is an emergency number, which always reaches the emergency \
                     services: choose another number."
                ),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Returns the digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShortNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(ShortNumber);

/// A PIN for a voicemail box or a conference bridge: 4 to 8 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// Parses a PIN such as `4821`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        if !trimmed.chars().all(|c| c.is_ascii_digit()) || !(4..=8).contains(&trimmed.len()) {
            return Err(ValueError::new(
                "invalid_pin",
                "A PIN is 4 to 8 digits: enter digits only.",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Returns the digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_serde!(Pin);

/// The kinds of callable object in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Extension,
    RingGroup,
    IvrMenu,
    VoicemailBox,
    TimeCondition,
    ConferenceBridge,
}

impl ObjectKind {
    /// Every kind, in the order the portal lists them.
    pub const ALL: [ObjectKind; 6] = [
        ObjectKind::Extension,
        ObjectKind::RingGroup,
        ObjectKind::IvrMenu,
        ObjectKind::VoicemailBox,
        ObjectKind::TimeCondition,
        ObjectKind::ConferenceBridge,
    ];

    /// Parses a snake_case kind such as `ring_group`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(
            input,
            &Self::ALL,
            Self::as_str,
            "invalid_kind",
            "PBX object kind",
        )
    }

    /// Returns the snake_case name, such as `ring_group`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ObjectKind::Extension => "extension",
            ObjectKind::RingGroup => "ring_group",
            ObjectKind::IvrMenu => "ivr_menu",
            ObjectKind::VoicemailBox => "voicemail_box",
            ObjectKind::TimeCondition => "time_condition",
            ObjectKind::ConferenceBridge => "conference_bridge",
        }
    }

    /// Returns the name shown to people, such as `ring group`.
    pub fn label(&self) -> &'static str {
        match self {
            ObjectKind::Extension => "extension",
            ObjectKind::RingGroup => "ring group",
            ObjectKind::IvrMenu => "IVR menu",
            ObjectKind::VoicemailBox => "voicemail box",
            ObjectKind::TimeCondition => "time condition",
            ObjectKind::ConferenceBridge => "conference bridge",
        }
    }

    /// Returns whether objects of this kind are dialled by a short number. Time conditions only
    /// route calls.
    pub fn has_short_number(&self) -> bool {
        !matches!(self, ObjectKind::TimeCondition)
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The next step of a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// An object of the same account.
    Object(PbxObjectId),
    /// A number outside the account, in E.164 form, dialled under the outbound policy.
    External(String),
    /// The call ends.
    Hangup,
}

/// The order in which a ring group rings its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingStrategy {
    /// Every member at once.
    Simultaneous,
    /// One member after the other, in the listed order, each for the ring time.
    Sequential,
    /// One member at a time, starting after the member who answered last.
    RoundRobin,
}

impl RingStrategy {
    /// Every strategy.
    pub const ALL: [RingStrategy; 3] = [
        RingStrategy::Simultaneous,
        RingStrategy::Sequential,
        RingStrategy::RoundRobin,
    ];

    /// Parses a snake_case strategy such as `round_robin`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(
            input,
            &Self::ALL,
            Self::as_str,
            "invalid_strategy",
            "ring strategy",
        )
    }

    /// Returns the snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RingStrategy::Simultaneous => "simultaneous",
            RingStrategy::Sequential => "sequential",
            RingStrategy::RoundRobin => "round_robin",
        }
    }
}

/// One member of a ring group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Member {
    /// An extension of the account; its phones ring, its forwarding rules do not apply.
    Extension(PbxObjectId),
    /// A number outside the account, in E.164 form.
    External(String),
}

/// Settings of an extension: a phone (or several) registered with its SIP credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionSettings {
    /// The user of the account this extension belongs to, if any.
    pub user_id: Option<UserId>,
    /// One of the account's numbers, in E.164 form, shown to people this extension calls.
    pub caller_id: Option<String>,
    /// Whether unanswered calls go to this extension's own mailbox.
    pub voicemail: bool,
    /// Every call goes here instead of ringing the extension.
    pub forward_always: Option<Destination>,
    /// The destination of calls while the extension is busy.
    pub forward_busy: Option<Destination>,
    /// The destination of calls not answered within `no_answer_seconds`.
    pub forward_no_answer: Option<Destination>,
    /// How long the extension rings before the no-answer rule applies.
    pub no_answer_seconds: u16,
    /// The destination of calls when no phone of the extension is registered.
    pub forward_unreachable: Option<Destination>,
}

/// Settings of a ring group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingGroupSettings {
    pub members: Vec<Member>,
    pub strategy: RingStrategy,
    /// Seconds the group rings (per member, for sequential and round robin).
    pub ring_seconds: u16,
    /// The destination of calls that no member answers.
    pub no_answer: Destination,
}

/// The greeting an IVR menu plays before it waits for a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Greeting {
    /// Text read out by speech synthesis.
    Text(String),
    /// An uploaded recording.
    Recording(MediaId),
}

/// Settings of an IVR menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IvrSettings {
    pub greeting: Greeting,
    /// Key pressed (`0`–`9`, `*`, `#`) → destination.
    pub options: BTreeMap<char, Destination>,
    /// Seconds to wait for a key after the greeting.
    pub timeout_seconds: u16,
    /// The destination when no key is pressed after the last repeat.
    pub timeout: Destination,
    /// The destination when a key with no option is pressed after the last repeat.
    pub invalid: Destination,
    /// How many times the greeting plays before the timeout or invalid destination applies.
    pub repeat: u8,
}

/// Settings of a voicemail box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoicemailSettings {
    pub pin: Pin,
    /// Where new messages are sent, with the recording attached.
    pub email: Option<String>,
}

/// Settings of a time condition: where calls go while open and while closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeConditionSettings {
    pub schedule: Schedule,
    pub open: Destination,
    pub closed: Destination,
}

/// Settings of a conference bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceSettings {
    pub pin: Option<Pin>,
    pub max_participants: u16,
}

/// The settings of one object, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjectSettings {
    Extension(ExtensionSettings),
    RingGroup(RingGroupSettings),
    IvrMenu(IvrSettings),
    VoicemailBox(VoicemailSettings),
    TimeCondition(TimeConditionSettings),
    ConferenceBridge(ConferenceSettings),
}

impl ObjectSettings {
    /// The kind of object these settings belong to.
    pub fn kind(&self) -> ObjectKind {
        match self {
            ObjectSettings::Extension(_) => ObjectKind::Extension,
            ObjectSettings::RingGroup(_) => ObjectKind::RingGroup,
            ObjectSettings::IvrMenu(_) => ObjectKind::IvrMenu,
            ObjectSettings::VoicemailBox(_) => ObjectKind::VoicemailBox,
            ObjectSettings::TimeCondition(_) => ObjectKind::TimeCondition,
            ObjectSettings::ConferenceBridge(_) => ObjectKind::ConferenceBridge,
        }
    }

    /// Every destination these settings name, with the setting that names it, such as
    /// `forward_busy` or `option 1`. Ring group members are listed as `member N`.
    pub fn destinations(&self) -> Vec<(String, Destination)> {
        let mut out = Vec::new();
        let mut push = |label: &str, destination: &Option<Destination>| {
            if let Some(destination) = destination {
                out.push((label.to_owned(), destination.clone()));
            }
        };
        match self {
            ObjectSettings::Extension(ext) => {
                push("forward always", &ext.forward_always);
                push("forward when busy", &ext.forward_busy);
                push("forward on no answer", &ext.forward_no_answer);
                push("forward when unreachable", &ext.forward_unreachable);
            }
            ObjectSettings::RingGroup(group) => {
                for (index, member) in group.members.iter().enumerate() {
                    let destination = match member {
                        Member::Extension(id) => Destination::Object(id.clone()),
                        Member::External(number) => Destination::External(number.clone()),
                    };
                    push(&format!("member {}", index + 1), &Some(destination));
                }
                push("no answer", &Some(group.no_answer.clone()));
            }
            ObjectSettings::IvrMenu(menu) => {
                for (key, destination) in &menu.options {
                    push(&format!("option {key}"), &Some(destination.clone()));
                }
                push("timeout", &Some(menu.timeout.clone()));
                push("invalid input", &Some(menu.invalid.clone()));
            }
            ObjectSettings::TimeCondition(condition) => {
                push("open", &Some(condition.open.clone()));
                push("closed", &Some(condition.closed.clone()));
            }
            ObjectSettings::VoicemailBox(_) | ObjectSettings::ConferenceBridge(_) => {}
        }
        out
    }
}

/// One callable object of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxObject {
    pub id: PbxObjectId,
    /// `None` only for time conditions.
    pub short_number: Option<ShortNumber>,
    pub name: String,
    pub settings: ObjectSettings,
    /// Starts at 1 and grows by one with every saved edit.
    pub version: i64,
}

impl PbxObject {
    /// How the object is named in messages: `extension 101 "Reception"` or
    /// `time condition "Office hours"`.
    pub fn describe(&self) -> String {
        match &self.short_number {
            Some(number) => format!(
                "{} {} \"{}\"",
                self.settings.kind().label(),
                number,
                self.name
            ),
            None => format!("{} \"{}\"", self.settings.kind().label(), self.name),
        }
    }
}

/// An inbound number of the account and where its calls go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundNumber {
    /// E.164 form.
    pub number: String,
    /// False while a port-in is not complete: configured, but calls do not arrive yet.
    pub live: bool,
    /// `None` until someone routes it; calls hear that the number is not in service.
    pub destination: Option<Destination>,
}

/// A class of outbound destination that the outbound policy allows or blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationClass {
    National,
    Mobile,
    TollFree,
    International,
    Premium,
}

impl DestinationClass {
    /// Every class.
    pub const ALL: [DestinationClass; 5] = [
        DestinationClass::National,
        DestinationClass::Mobile,
        DestinationClass::TollFree,
        DestinationClass::International,
        DestinationClass::Premium,
    ];

    /// Parses a snake_case class such as `toll_free`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(
            input,
            &Self::ALL,
            Self::as_str,
            "invalid_destination_class",
            "destination class",
        )
    }

    /// Returns the snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DestinationClass::National => "national",
            DestinationClass::Mobile => "mobile",
            DestinationClass::TollFree => "toll_free",
            DestinationClass::International => "international",
            DestinationClass::Premium => "premium",
        }
    }

    /// Returns the name shown to people.
    pub fn label(&self) -> &'static str {
        match self {
            DestinationClass::National => "National",
            DestinationClass::Mobile => "Mobile",
            DestinationClass::TollFree => "Toll-free",
            DestinationClass::International => "International",
            DestinationClass::Premium => "Premium rate",
        }
    }
}

/// A rewrite of dialled digits before an outbound call is placed: when the digits start with
/// `prefix`, the first `strip` digits are removed and `prepend` is put in front. "Strip a
/// leading 1 for an outside line" is `prefix: "1", strip: 1, prepend: ""`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialRule {
    pub prefix: String,
    pub strip: u8,
    pub prepend: String,
}

impl DialRule {
    /// The digits after this rule, or `None` when `dialled` does not start with the prefix.
    pub fn apply(&self, dialled: &str) -> Option<String> {
        if !dialled.starts_with(self.prefix.as_str()) {
            return None;
        }
        let stripped: String = dialled.chars().skip(usize::from(self.strip)).collect();
        Some(format!("{}{}", self.prepend, stripped))
    }
}

/// What outbound calls an account may make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundPolicy {
    /// Classes callers may dial; international and premium are off until someone turns them
    /// on, as protection against toll fraud.
    pub allowed: Vec<DestinationClass>,
    /// The most outbound calls at once across the account.
    pub concurrent_calls: u16,
    /// Rewrites applied in order; the first whose prefix matches wins.
    pub dial_rules: Vec<DialRule>,
    /// Starts at 1 and grows by one with every saved edit.
    pub version: i64,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allowed: vec![
                DestinationClass::National,
                DestinationClass::Mobile,
                DestinationClass::TollFree,
            ],
            concurrent_calls: 10,
            dial_rules: Vec::new(),
            version: 0,
        }
    }
}

/// The whole PBX configuration of one account, as the routing compiler reads it.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// The account's time zone, in which time conditions are read.
    pub time_zone: TimeZoneName,
    /// The country whose emergency number and dialling plan apply.
    pub country: crate::Country,
    pub objects: Vec<PbxObject>,
    pub numbers: Vec<InboundNumber>,
    pub policy: OutboundPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_number_rules() {
        assert_eq!(ShortNumber::parse(" 101 ").unwrap().as_str(), "101");
        assert_eq!(ShortNumber::parse("10").unwrap().as_str(), "10");
        assert_eq!(ShortNumber::parse("123456").unwrap().as_str(), "123456");
        for emergency in EMERGENCY_NUMBERS {
            assert_eq!(
                ShortNumber::parse(emergency).unwrap_err().code,
                "emergency_number"
            );
        }
        assert_eq!(ShortNumber::parse("*97").unwrap_err().code, "feature_code");
        assert_eq!(
            ShortNumber::parse("1").unwrap_err().code,
            "invalid_short_number"
        );
        assert_eq!(
            ShortNumber::parse("1234567").unwrap_err().code,
            "invalid_short_number"
        );
        assert_eq!(
            ShortNumber::parse("10a").unwrap_err().code,
            "invalid_short_number"
        );
        assert_eq!(ShortNumber::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn pin_rules() {
        assert!(Pin::parse("4821").is_ok());
        assert!(Pin::parse("12345678").is_ok());
        assert_eq!(Pin::parse("123").unwrap_err().code, "invalid_pin");
        assert_eq!(Pin::parse("12a4").unwrap_err().code, "invalid_pin");
    }

    #[test]
    fn dial_rule_strips_outside_line_digit() {
        let rule = DialRule {
            prefix: "1".into(),
            strip: 1,
            prepend: String::new(),
        };
        assert_eq!(rule.apply("1094001234").as_deref(), Some("094001234"));
        assert_eq!(rule.apply("094001234"), None);
    }

    #[test]
    fn settings_round_trip_as_tagged_json() {
        let settings = ObjectSettings::RingGroup(RingGroupSettings {
            members: vec![Member::External("+6421555123".into())],
            strategy: RingStrategy::Sequential,
            ring_seconds: 20,
            no_answer: Destination::Hangup,
        });
        let json = serde_json::to_string(&settings).unwrap();
        assert!(json.contains("\"kind\":\"ring_group\""), "{json}");
        let back: ObjectSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, settings);
    }
}
