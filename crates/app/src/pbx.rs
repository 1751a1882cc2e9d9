//! The PBX of a customer account: creating, editing and deleting its objects, its outbound
//! policy and inbound routing, and compiling it all into the routing table.
//!
//! Every change runs in one transaction that first takes the account's lock (its PBX
//! revision), then loads the whole configuration, applies the change in memory and checks the
//! result as a whole (short-number namespace, references, loops) before anything is written.
//! An account's configuration is small enough (thousands of objects at most) that checking it
//! whole on every change is both simpler and safer than checking deltas.

use std::collections::BTreeMap;

use md5::{Digest as _, Md5};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tandem_domain::pbx::routing::{ConfigError, RoutingTable, Trace, Warning};
use tandem_domain::pbx::schedule::{CalendarDate, ClockTime, Day};
use tandem_domain::pbx::{
    AccountConfig, ConferenceSettings, DatedException, Destination, DestinationClass, DialRule,
    ExtensionSettings, Greeting, InboundNumber, IvrSettings, Member, ObjectKind, ObjectSettings,
    OutboundPolicy, PbxObject, Pin, RingGroupSettings, RingStrategy, Schedule, ShortNumber,
    TimeConditionSettings, VoicemailSettings, WeeklyHours,
};
use tandem_domain::{
    Country, CustomerId, EmailAddress, MediaId, Name, PbxObjectId, Permission, PhoneNumber,
    TimeZoneName, UserId, ValueError,
};
use tandem_store::customers::{self as store_customers, CustomerRow};
use tandem_store::pbx::{self as store_pbx, NewObject, PbxObjectRow, SipCredentialRow};
use tandem_store::{numbers as store_numbers, Conn};

use crate::access::AccountOperator;
use crate::audit::{record, Change};
use crate::charges::ChargePlan;
use crate::validate::{present, Fields};
use crate::{App, AppError, AppResult, FieldError};

/// The maximum number of PBX objects in one account.
pub const MAX_OBJECTS: usize = 20_000;

/// An object as entered in a form or an API request. One shape serves every kind; each kind
/// reads the fields it needs and ignores the rest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectInput {
    /// The short number; not used by time conditions.
    pub number: String,
    pub name: String,
    /// The version the edit was made from; required when editing.
    pub version: Option<i64>,
    // Extensions.
    pub user_id: Option<String>,
    pub caller_id: Option<String>,
    pub voicemail: Option<bool>,
    pub forward_always: Option<String>,
    pub forward_busy: Option<String>,
    pub forward_no_answer: Option<String>,
    pub no_answer_seconds: Option<u16>,
    pub forward_unreachable: Option<String>,
    /// A SIP password to keep (for extensions moved from another platform); one is generated
    /// when absent.
    pub sip_password: Option<String>,
    // Ring groups.
    pub members: Vec<String>,
    pub strategy: Option<String>,
    pub ring_seconds: Option<u16>,
    pub no_answer: Option<String>,
    // IVR menus.
    pub greeting_text: Option<String>,
    pub greeting_recording: Option<String>,
    pub options: BTreeMap<String, String>,
    pub timeout_seconds: Option<u16>,
    pub timeout: Option<String>,
    pub invalid: Option<String>,
    pub repeat: Option<u8>,
    // Voicemail boxes and conference bridges.
    pub pin: Option<String>,
    pub email: Option<String>,
    pub max_participants: Option<u16>,
    // Time conditions.
    pub weekly: Vec<WeeklyInput>,
    pub exceptions: Vec<ExceptionInput>,
    pub open: Option<String>,
    pub closed: Option<String>,
}

/// Weekly opening hours as entered.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeeklyInput {
    /// `mon` … `sun`.
    pub day: String,
    /// `HH:MM`.
    pub open: String,
    /// `HH:MM`.
    pub close: String,
}

/// A dated exception as entered: closed all day unless `hours` are given.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExceptionInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub name: String,
    /// Pairs of `HH:MM` opening and closing times.
    pub hours: Vec<[String; 2]>,
}

/// An object as shown to people and API clients.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectView {
    pub id: PbxObjectId,
    pub kind: ObjectKind,
    pub short_number: Option<String>,
    pub name: String,
    pub version: i64,
    pub settings: ObjectSettings,
    /// For extensions: the SIP user name and realm phones register with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipIdentity>,
    pub created_us: i64,
    pub updated_us: i64,
}

/// The identity an extension's phones register with.
#[derive(Debug, Clone, Serialize)]
pub struct SipIdentity {
    pub username: String,
    pub domain: String,
}

/// The outcome of a saved change.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    pub object: ObjectView,
    /// The extension's SIP password, when one was generated or changed: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_password: Option<String>,
    pub warnings: Vec<Warning>,
    /// The charges posted (or, on a dry run, that would be posted).
    pub charges: ChargePreview,
}

/// The charges an action costs, and who pays them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChargePreview {
    /// `customer` or `white_label`.
    pub payer: String,
    /// The name of the paying balance's holder.
    pub payer_name: String,
    pub currency: String,
    pub items: Vec<ChargeItem>,
    /// Sum of the items, tax included, in minor units.
    pub total_minor: i64,
    /// The payer's balance before the charges, in minor units.
    pub balance_minor: i64,
    /// Whether the balance and credit limit cover the total.
    pub covered: bool,
}

/// One charge of a [`ChargePreview`].
#[derive(Debug, Clone, Serialize)]
pub struct ChargeItem {
    pub description: String,
    pub amount_minor: i64,
    pub tax_minor: i64,
}

/// The account's PBX as loaded for a change: its row, configuration and stored objects.
pub(crate) struct Loaded {
    pub customer: CustomerRow,
    pub config: AccountConfig,
    pub rows: Vec<PbxObjectRow>,
}

pub(crate) fn stored(error: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("stored PBX data: {error}"))
}

fn object_of(row: &PbxObjectRow) -> AppResult<PbxObject> {
    Ok(PbxObject {
        id: row.id.clone(),
        short_number: row
            .short_number
            .as_deref()
            .map(ShortNumber::parse)
            .transpose()
            .map_err(stored)?,
        name: row.name.clone(),
        settings: serde_json::from_str(&row.settings).map_err(stored)?,
        version: row.version,
    })
}

/// Takes the lock of an account's PBX for the rest of the transaction by incrementing its
/// revision, so that changes to one account run one after the other.
pub(crate) async fn lock(conn: &mut Conn, op: &AccountOperator) -> AppResult<()> {
    store_pbx::lock_account(conn, op.white_label_id(), op.customer_id())
        .await?
        .ok_or(AppError::NotFound("customer account"))?;
    Ok(())
}

/// Loads an account's whole configuration. Inside a change, call [`lock`]
/// first.
pub(crate) async fn load(
    conn: &mut Conn,
    white_label_id: &tandem_domain::WhiteLabelId,
    customer_id: &CustomerId,
) -> AppResult<Loaded> {
    let customer = store_customers::get(conn, white_label_id, customer_id)
        .await?
        .ok_or(AppError::NotFound("customer account"))?;
    let rows = store_pbx::list(conn, white_label_id, customer_id).await?;
    let objects = rows.iter().map(object_of).collect::<AppResult<Vec<_>>>()?;
    let numbers = store_numbers::list_for_customer(conn, white_label_id, customer_id)
        .await?
        .into_iter()
        .map(|row| {
            Ok(InboundNumber {
                number: row.e164,
                live: row.live,
                destination: row
                    .destination
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(stored)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let policy = match store_pbx::policy(conn, customer_id).await? {
        Some((json, version)) => {
            let mut policy: OutboundPolicy = serde_json::from_str(&json).map_err(stored)?;
            policy.version = version;
            policy
        }
        None => OutboundPolicy::default(),
    };
    let config = AccountConfig {
        time_zone: TimeZoneName::parse(&customer.time_zone).map_err(stored)?,
        country: Country::parse(&customer.service_address.country).map_err(stored)?,
        objects,
        numbers,
        policy,
    };
    Ok(Loaded {
        customer,
        config,
        rows,
    })
}

/// Resolves a destination as entered: `hangup`, an object id, a short number of the account,
/// or a phone number (national numbers in the account's country).
pub(crate) fn resolve_destination(
    config: &AccountConfig,
    input: &str,
) -> Result<Destination, ValueError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ValueError::required());
    }
    if trimmed.eq_ignore_ascii_case("hangup") {
        return Ok(Destination::Hangup);
    }
    if trimmed.starts_with("pbx_") {
        let id = PbxObjectId::parse(trimmed)?;
        return match config.object(&id) {
            Some(_) => Ok(Destination::Object(id)),
            None => Err(ValueError::new(
                "unknown_destination",
                format!("There is no object {trimmed} in this account: pick one of its objects."),
            )),
        };
    }
    if (2..=6).contains(&trimmed.len()) && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return match config.by_short_number(trimmed) {
            Some(object) => Ok(Destination::Object(object.id.clone())),
            None => Err(ValueError::new(
                "unknown_destination",
                format!(
                    "Nothing in this account has the short number {trimmed}: create it first or \
                     pick another destination."
                ),
            )),
        };
    }
    let number = PhoneNumber::parse(trimmed, config.country)?;
    if config.numbers.iter().any(|n| n.number == number.as_str()) {
        // Dialling out to one of the account's own numbers comes straight back in, which the
        // loop check cannot follow through the phone network.
        return Err(ValueError::new(
            "own_number",
            format!(
                "{} is one of this account's own numbers: pick what it routes to instead.",
                number.format_international()
            ),
        ));
    }
    Ok(Destination::External(number.as_str().to_owned()))
}

fn optional_destination(
    fields: &mut Fields,
    config: &AccountConfig,
    field: &str,
    input: &Option<String>,
) -> Option<Destination> {
    present(input).and_then(|text| fields.check(field, resolve_destination(config, text)))
}

fn required_destination(
    fields: &mut Fields,
    config: &AccountConfig,
    field: &str,
    input: &Option<String>,
) -> Option<Destination> {
    match present(input) {
        Some(text) => fields.check(field, resolve_destination(config, text)),
        None => {
            fields.push(FieldError::new(field, ValueError::required()));
            None
        }
    }
}

fn seconds(
    fields: &mut Fields,
    field: &str,
    value: Option<u16>,
    default: u16,
    range: std::ops::RangeInclusive<u16>,
) -> u16 {
    let value = value.unwrap_or(default);
    if !range.contains(&value) {
        fields.push(FieldError::custom(
            field,
            "out_of_range",
            format!(
                "{value} is outside the allowed range: give {} to {}",
                range.start(),
                range.end()
            ),
        ));
    }
    value
}

/// Reads the weekly hours and dated exceptions of a time condition as entered.
fn parse_schedule(fields: &mut Fields, input: &ObjectInput) -> Schedule {
    let mut weekly = Vec::new();
    for (index, hours) in input.weekly.iter().enumerate() {
        let day = fields.check(&format!("weekly[{index}].day"), Day::parse(&hours.day));
        let open = fields.check(
            &format!("weekly[{index}].open"),
            ClockTime::parse(&hours.open),
        );
        let close = fields.check(
            &format!("weekly[{index}].close"),
            ClockTime::parse(&hours.close),
        );
        if let (Some(day), Some(open), Some(close)) = (day, open, close) {
            weekly.push(WeeklyHours { day, open, close });
        }
    }
    let mut exceptions = Vec::new();
    for (index, exception) in input.exceptions.iter().enumerate() {
        let date = fields.check(
            &format!("exceptions[{index}].date"),
            CalendarDate::parse(&exception.date),
        );
        let name = fields.check(
            &format!("exceptions[{index}].name"),
            Name::parse(&exception.name, 80),
        );
        let mut hours = Vec::new();
        for (slot, [open, close]) in exception.hours.iter().enumerate() {
            let field = format!("exceptions[{index}].hours[{slot}]");
            let open = fields.check(&field, ClockTime::parse(open));
            let close = fields.check(&field, ClockTime::parse(close));
            if let (Some(open), Some(close)) = (open, close) {
                hours.push((open, close));
            }
        }
        if let (Some(date), Some(name)) = (date, name) {
            exceptions.push(DatedException {
                date,
                name: name.as_str().to_owned(),
                hours,
            });
        }
    }
    let schedule = Schedule { weekly, exceptions };
    if fields.is_empty() {
        if let Err(error) = schedule.check() {
            fields.push(FieldError::new("weekly", error));
        }
    }
    schedule
}

/// Checks an object as entered against the account's configuration; returns its short
/// number, name and settings.
pub(crate) fn build(
    kind: ObjectKind,
    input: &ObjectInput,
    config: &AccountConfig,
    members: &[UserId],
) -> AppResult<(Option<ShortNumber>, String, ObjectSettings)> {
    let mut fields = Fields::default();
    let short_number = if kind.has_short_number() {
        fields.check("number", ShortNumber::parse(&input.number))
    } else {
        None
    };
    let name = fields.check("name", Name::parse(&input.name, 80));
    let settings = match kind {
        ObjectKind::Extension => {
            let user_id = present(&input.user_id).and_then(|text| {
                let id = fields.check("user_id", UserId::parse(text))?;
                if members.contains(&id) {
                    Some(id)
                } else {
                    fields.push(FieldError::custom(
                        "user_id",
                        "unknown_user",
                        "this user is not a member of the account: pick one of its users",
                    ));
                    None
                }
            });
            let caller_id = present(&input.caller_id).and_then(|text| {
                let number = fields.check("caller_id", PhoneNumber::parse(text, config.country))?;
                if config
                    .numbers
                    .iter()
                    .any(|n| n.number == number.as_str() && n.live)
                {
                    Some(number.as_str().to_owned())
                } else {
                    fields.push(FieldError::custom(
                        "caller_id",
                        "not_an_account_number",
                        format!(
                            "{} is not a live number of this account: pick one it holds \
                             (a number being ported in becomes usable when the port completes)",
                            number.format_international()
                        ),
                    ));
                    None
                }
            });
            ObjectSettings::Extension(ExtensionSettings {
                user_id,
                caller_id,
                voicemail: input.voicemail.unwrap_or(true),
                forward_always: optional_destination(
                    &mut fields,
                    config,
                    "forward_always",
                    &input.forward_always,
                ),
                forward_busy: optional_destination(
                    &mut fields,
                    config,
                    "forward_busy",
                    &input.forward_busy,
                ),
                forward_no_answer: optional_destination(
                    &mut fields,
                    config,
                    "forward_no_answer",
                    &input.forward_no_answer,
                ),
                no_answer_seconds: seconds(
                    &mut fields,
                    "no_answer_seconds",
                    input.no_answer_seconds,
                    20,
                    5..=300,
                ),
                forward_unreachable: optional_destination(
                    &mut fields,
                    config,
                    "forward_unreachable",
                    &input.forward_unreachable,
                ),
            })
        }
        ObjectKind::RingGroup => {
            let mut list = Vec::new();
            if input.members.is_empty() {
                fields.push(FieldError::custom(
                    "members",
                    "required",
                    "a ring group needs at least one member: add extensions or numbers",
                ));
            }
            for (index, member) in input.members.iter().enumerate() {
                let field = format!("members[{index}]");
                match fields.check(&field, resolve_destination(config, member)) {
                    Some(Destination::Object(id)) => {
                        let is_extension = config
                            .object(&id)
                            .is_some_and(|o| o.settings.kind() == ObjectKind::Extension);
                        if is_extension {
                            list.push(Member::Extension(id));
                        } else {
                            fields.push(FieldError::custom(
                                &field,
                                "not_an_extension",
                                format!("'{member}' is not an extension: members are extensions or phone numbers"),
                            ));
                        }
                    }
                    Some(Destination::External(number)) => list.push(Member::External(number)),
                    Some(Destination::Hangup) => fields.push(FieldError::custom(
                        &field,
                        "not_an_extension",
                        "a member is an extension or a phone number",
                    )),
                    None => {}
                }
            }
            let strategy = match present(&input.strategy) {
                Some(text) => fields
                    .check("strategy", RingStrategy::parse(text))
                    .unwrap_or(RingStrategy::Simultaneous),
                None => RingStrategy::Simultaneous,
            };
            ObjectSettings::RingGroup(RingGroupSettings {
                members: list,
                strategy,
                ring_seconds: seconds(&mut fields, "ring_seconds", input.ring_seconds, 20, 5..=300),
                no_answer: optional_destination(&mut fields, config, "no_answer", &input.no_answer)
                    .unwrap_or(Destination::Hangup),
            })
        }
        ObjectKind::IvrMenu => {
            let greeting = match (
                present(&input.greeting_recording),
                present(&input.greeting_text),
            ) {
                (Some(id), _) => match fields.check("greeting_recording", MediaId::parse(id)) {
                    Some(id) => Greeting::Recording(id),
                    None => Greeting::Text(String::new()),
                },
                (None, Some(text)) => {
                    let text = fields
                        .check(
                            "greeting_text",
                            tandem_domain::Description::parse(text, 1000),
                        )
                        .map(|d| d.as_str().to_owned())
                        .unwrap_or_default();
                    Greeting::Text(text)
                }
                (None, None) => {
                    fields.push(FieldError::custom(
                        "greeting_text",
                        "required",
                        "give the greeting as text, or upload a recording",
                    ));
                    Greeting::Text(String::new())
                }
            };
            let mut options = BTreeMap::new();
            for (key, destination) in &input.options {
                let field = format!("options.{key}");
                let mut chars = key.trim().chars();
                let digit = match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => c,
                    _ => {
                        fields.push(FieldError::custom(
                            &field,
                            "invalid_key",
                            format!("'{key}' is not a key: use one of 0–9, * or #"),
                        ));
                        continue;
                    }
                };
                if destination.trim().is_empty() {
                    continue;
                }
                if let Some(destination) =
                    fields.check(&field, resolve_destination(config, destination))
                {
                    options.insert(digit, destination);
                }
            }
            if options.is_empty() && fields.is_empty() {
                fields.push(FieldError::custom(
                    "options",
                    "required",
                    "an IVR menu needs at least one key option",
                ));
            }
            ObjectSettings::IvrMenu(IvrSettings {
                greeting,
                options,
                timeout_seconds: seconds(
                    &mut fields,
                    "timeout_seconds",
                    input.timeout_seconds,
                    5,
                    1..=60,
                ),
                timeout: optional_destination(&mut fields, config, "timeout", &input.timeout)
                    .unwrap_or(Destination::Hangup),
                invalid: optional_destination(&mut fields, config, "invalid", &input.invalid)
                    .unwrap_or(Destination::Hangup),
                repeat: {
                    let repeat = input.repeat.unwrap_or(3);
                    if !(1..=10).contains(&repeat) {
                        fields.push(FieldError::custom(
                            "repeat",
                            "out_of_range",
                            "give 1 to 10 repeats",
                        ));
                    }
                    repeat
                },
            })
        }
        ObjectKind::VoicemailBox => {
            let pin = match present(&input.pin) {
                Some(text) => fields.check("pin", Pin::parse(text)),
                None => {
                    fields.push(FieldError::new("pin", ValueError::required()));
                    None
                }
            };
            let email = present(&input.email)
                .and_then(|text| fields.check("email", EmailAddress::parse(text)))
                .map(|email| email.as_str().to_owned());
            ObjectSettings::VoicemailBox(VoicemailSettings {
                pin: pin.unwrap_or_else(|| Pin::parse("0000").expect("valid PIN")),
                email,
            })
        }
        ObjectKind::TimeCondition => {
            let schedule = parse_schedule(&mut fields, input);
            ObjectSettings::TimeCondition(TimeConditionSettings {
                schedule,
                open: required_destination(&mut fields, config, "open", &input.open)
                    .unwrap_or(Destination::Hangup),
                closed: required_destination(&mut fields, config, "closed", &input.closed)
                    .unwrap_or(Destination::Hangup),
            })
        }
        ObjectKind::ConferenceBridge => ObjectSettings::ConferenceBridge(ConferenceSettings {
            pin: present(&input.pin).and_then(|text| fields.check("pin", Pin::parse(text))),
            max_participants: seconds(
                &mut fields,
                "max_participants",
                input.max_participants,
                10,
                2..=500,
            ),
        }),
    };
    fields.finish()?;
    Ok((
        short_number,
        name.expect("checked").as_str().to_owned(),
        settings,
    ))
}

/// Refuses a short number already held by another object, naming the holder.
fn check_namespace(
    config: &AccountConfig,
    id: &PbxObjectId,
    short_number: Option<&ShortNumber>,
) -> AppResult<()> {
    let Some(number) = short_number else {
        return Ok(());
    };
    if let Some(holder) = config
        .objects
        .iter()
        .find(|o| &o.id != id && o.short_number.as_ref() == Some(number))
    {
        return Err(AppError::Conflict {
            code: "short_number_taken",
            message: format!(
                "{number} is already the number of {}: choose another number",
                holder.describe()
            ),
            field: Some("number".into()),
        });
    }
    Ok(())
}

/// Maps the configuration check's errors to the error returned to the caller.
pub(crate) fn config_rejected(errors: Vec<ConfigError>) -> AppError {
    if let Some(ConfigError::Loop { path }) = errors
        .iter()
        .find(|e| matches!(e, ConfigError::Loop { .. }))
    {
        return AppError::Refused {
            code: "routing_loop",
            message: format!(
                "this change would make calls go round in a loop: {}; route one of them elsewhere",
                path.join(" → ")
            ),
            details: path.clone(),
        };
    }
    let details: Vec<String> = errors.iter().map(ToString::to_string).collect();
    AppError::Refused {
        code: errors
            .first()
            .map(ConfigError::code)
            .unwrap_or("invalid_configuration"),
        message: details.join("; "),
        details,
    }
}

pub(crate) fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20)
}

pub(crate) fn check_password(input: &str, username: &str) -> Result<String, ValueError> {
    let password = input.trim();
    let has_letter = password.chars().any(|c| c.is_ascii_alphabetic());
    let has_digit = password.chars().any(|c| c.is_ascii_digit());
    if password.len() < 10 || !has_letter || !has_digit || password.contains(username) {
        return Err(ValueError::new(
            "weak_password",
            "A SIP password needs at least 10 characters with letters and digits, and must not \
             contain the extension number: leave it blank to have one generated.",
        ));
    }
    if password.len() > 128 || password.chars().any(|c| c.is_control() || c == ':') {
        return Err(ValueError::new(
            "invalid_password",
            "A SIP password is at most 128 characters without control characters or colons.",
        ));
    }
    Ok(password.to_owned())
}

/// HA1 of RFC 7616: the hash of `username:realm:password`, in hex.
fn ha1<D: sha2::Digest>(username: &str, realm: &str, password: &str) -> String {
    let mut hasher = D::new();
    hasher.update(format!("{username}:{realm}:{password}").as_bytes());
    hex::encode(hasher.finalize())
}

pub(crate) fn credential(
    extension_id: &PbxObjectId,
    username: &str,
    realm: &str,
    password: &str,
    now_us: i64,
) -> SipCredentialRow {
    SipCredentialRow {
        extension_id: extension_id.clone(),
        username: username.to_owned(),
        realm: realm.to_owned(),
        ha1_md5: {
            let mut hasher = Md5::new();
            hasher.update(format!("{username}:{realm}:{password}").as_bytes());
            hex::encode(hasher.finalize())
        },
        ha1_sha256: ha1::<Sha256>(username, realm, password),
        updated_us: now_us,
    }
}

fn view(
    row_id: &PbxObjectId,
    object: &PbxObject,
    created_us: i64,
    updated_us: i64,
    domain: &str,
) -> ObjectView {
    let kind = object.settings.kind();
    ObjectView {
        id: row_id.clone(),
        kind,
        short_number: object.short_number.as_ref().map(|n| n.as_str().to_owned()),
        name: object.name.clone(),
        version: object.version,
        settings: object.settings.clone(),
        sip: (kind == ObjectKind::Extension).then(|| SipIdentity {
            username: object
                .short_number
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            domain: domain.to_owned(),
        }),
        created_us,
        updated_us,
    }
}

/// A PBX change to apply.
enum Edit<'a> {
    Create(ObjectKind, &'a ObjectInput),
    Update(&'a PbxObjectId, &'a ObjectInput),
}

impl App {
    async fn account_domain(&self, conn: &mut Conn, customer: &CustomerRow) -> AppResult<String> {
        Ok(self.account_sip_view(conn, customer).await?.domain)
    }

    /// Lists the objects of an account, optionally of one kind.
    pub async fn pbx_objects(
        &self,
        op: &AccountOperator,
        kind: Option<ObjectKind>,
    ) -> AppResult<Vec<ObjectView>> {
        require_kind(op, kind)?;
        let mut conn = self.store.conn().await?;
        let loaded = load(&mut conn, op.white_label_id(), op.customer_id()).await?;
        let domain = self.account_domain(&mut conn, &loaded.customer).await?;
        let mut views = Vec::new();
        for (row, object) in loaded.rows.iter().zip(&loaded.config.objects) {
            if kind.is_none_or(|k| k == object.settings.kind()) {
                views.push(view(
                    &row.id,
                    object,
                    row.created_us,
                    row.updated_us,
                    &domain,
                ));
            }
        }
        Ok(views)
    }

    /// Reads one object of an account.
    pub async fn pbx_object(
        &self,
        op: &AccountOperator,
        id: &PbxObjectId,
    ) -> AppResult<ObjectView> {
        let mut conn = self.store.conn().await?;
        let row = store_pbx::get(&mut conn, op.white_label_id(), op.customer_id(), id)
            .await?
            .ok_or(AppError::NotFound("PBX object"))?;
        let object = object_of(&row)?;
        require_kind(op, Some(object.settings.kind()))?;
        let customer = store_customers::get(&mut conn, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        let domain = self.account_domain(&mut conn, &customer).await?;
        Ok(view(
            &row.id,
            &object,
            row.created_us,
            row.updated_us,
            &domain,
        ))
    }

    /// Creates an object. On a dry run nothing is written and the result shows what would be
    /// saved and charged.
    pub async fn create_pbx_object(
        &self,
        op: &AccountOperator,
        kind: ObjectKind,
        input: &ObjectInput,
        dry_run: bool,
    ) -> AppResult<Saved> {
        self.save_object(op, Edit::Create(kind, input), dry_run)
            .await
    }

    /// Saves an edit of an object made from `input.version`.
    pub async fn update_pbx_object(
        &self,
        op: &AccountOperator,
        id: &PbxObjectId,
        input: &ObjectInput,
    ) -> AppResult<Saved> {
        self.save_object(op, Edit::Update(id, input), false).await
    }

    async fn save_object(
        &self,
        op: &AccountOperator,
        edit: Edit<'_>,
        dry_run: bool,
    ) -> AppResult<Saved> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        lock(&mut tx, op).await?;
        let Loaded {
            customer,
            mut config,
            rows,
        } = load(&mut tx, op.white_label_id(), op.customer_id()).await?;
        require_open(&customer)?;
        let members =
            crate::team::account_user_ids(&mut tx, op.white_label_id(), op.customer_id()).await?;
        let domain = self.account_domain(&mut tx, &customer).await?;

        let (id, kind, input, before) = match edit {
            Edit::Create(kind, input) => {
                if config.objects.len() >= MAX_OBJECTS {
                    return Err(AppError::Conflict {
                        code: "too_many_objects",
                        message: format!("an account can have at most {MAX_OBJECTS} PBX objects: delete unused ones first"),
                        field: None,
                    });
                }
                (PbxObjectId::new(), kind, input, None)
            }
            Edit::Update(id, input) => {
                let index = config
                    .objects
                    .iter()
                    .position(|o| &o.id == id)
                    .ok_or(AppError::NotFound("PBX object"))?;
                let existing = config.objects[index].clone();
                let Some(version) = input.version else {
                    return Err(AppError::field(
                        "version",
                        ValueError::new(
                            "required",
                            "Send the version you edited (from the object you read), so that \
                             nobody's change is overwritten.",
                        ),
                    ));
                };
                if version != existing.version {
                    return Err(AppError::EditConflict {
                        current: existing.version,
                    });
                }
                (
                    id.clone(),
                    existing.settings.kind(),
                    input,
                    Some((index, existing)),
                )
            }
        };
        require_kind(op, Some(kind))?;
        let (short_number, name, settings) = build(kind, input, &config, &members)?;
        if let ObjectSettings::IvrMenu(IvrSettings {
            greeting: Greeting::Recording(media),
            ..
        }) = &settings
        {
            if !store_pbx::media_exists(&mut tx, op.customer_id(), media).await? {
                return Err(AppError::field(
                    "greeting_recording",
                    ValueError::new(
                        "unknown_recording",
                        format!("There is no recording {media} in this account: upload it first."),
                    ),
                ));
            }
        }
        check_namespace(&config, &id, short_number.as_ref())?;

        let object = PbxObject {
            id: id.clone(),
            short_number: short_number.clone(),
            name,
            settings,
            version: before.as_ref().map_or(1, |(_, o)| o.version + 1),
        };
        match &before {
            Some((index, _)) => config.objects[*index] = object.clone(),
            None => config.objects.push(object.clone()),
        }
        let warnings = config.check().map_err(config_rejected)?;

        // Credentials: a new extension, a given password, or a new user name.
        let mut sip_password = None;
        if kind == ObjectKind::Extension {
            let username = short_number
                .as_ref()
                .map(ShortNumber::as_str)
                .unwrap_or_default();
            let renumbered = before
                .as_ref()
                .is_some_and(|(_, o)| o.short_number != object.short_number);
            let given = present(&input.sip_password)
                .map(|text| {
                    check_password(text, username).map_err(|e| AppError::field("sip_password", e))
                })
                .transpose()?;
            sip_password = match given {
                Some(password) => Some(password),
                None if before.is_none() || renumbered => Some(generate_password()),
                None => None,
            };
        }

        // Charges: an extension beyond the plan's included count.
        // NOTE: the fee is charged on every creation past the included count, so deleting and
        // re-creating an extension in one month charges it again; deletes refund nothing.
        let extensions = config
            .objects
            .iter()
            .filter(|o| o.settings.kind() == ObjectKind::Extension)
            .count() as i64;
        let mut plan = ChargePlan::new(&mut tx, &customer).await?;
        if before.is_none()
            && kind == ObjectKind::Extension
            && extensions > plan.included_extensions()
        {
            let fee = plan.extra_extension_fee();
            let description = format!(
                "Extra extension {} ({} of {} included), {} plan, {}",
                object
                    .short_number
                    .as_ref()
                    .map(ShortNumber::as_str)
                    .unwrap_or_default(),
                extensions,
                plan.included_extensions(),
                plan.plan_name(),
                plan.month(now),
            );
            plan.add(fee, description);
        }
        if !dry_run {
            may_charge(op, &customer, &plan)?;
        }
        if dry_run {
            let charges = plan.preview();
            return Ok(Saved {
                object: view(&id, &object, now, now, &domain),
                sip_password: None,
                warnings,
                charges,
            });
        }
        let settings_json = serde_json::to_string(&object.settings).map_err(stored)?;
        match &before {
            None => {
                let inserted = store_pbx::insert(
                    &mut tx,
                    &NewObject {
                        id: &id,
                        white_label_id: op.white_label_id(),
                        customer_id: op.customer_id(),
                        kind: kind.as_str(),
                        short_number: object.short_number.as_ref().map(ShortNumber::as_str),
                        name: &object.name,
                        settings: &settings_json,
                    },
                    now,
                )
                .await?;
                if !inserted {
                    return Err(AppError::Internal(
                        "short number taken under the account lock".into(),
                    ));
                }
            }
            Some((_, existing)) => {
                store_pbx::update(
                    &mut tx,
                    op.customer_id(),
                    &id,
                    existing.version,
                    store_pbx::ObjectFields {
                        short_number: object.short_number.as_ref().map(ShortNumber::as_str),
                        name: &object.name,
                        settings: &settings_json,
                    },
                    now,
                )
                .await?
                .ok_or(AppError::EditConflict {
                    current: existing.version,
                })?;
            }
        }
        if let Some(password) = &sip_password {
            let username = object
                .short_number
                .as_ref()
                .map(ShortNumber::as_str)
                .unwrap_or_default();
            store_pbx::set_credentials(
                &mut tx,
                op.customer_id(),
                &credential(&id, username, &domain, password, now),
            )
            .await?;
        }
        let charges = plan
            .post(&mut tx, op.customer_id(), op.actor().label(), now)
            .await?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                on_behalf_of: None,
                action: if before.is_some() {
                    "pbx.updated"
                } else {
                    "pbx.created"
                },
                object_kind: kind.as_str(),
                object_id: id.as_str(),
                before: before.as_ref().map(|(_, o)| audit_json(o)),
                after: Some(audit_json(&object)),
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Saved {
            object: view(
                &id,
                &object,
                rows.iter()
                    .find(|r| r.id == id)
                    .map_or(now, |r| r.created_us),
                now,
                &domain,
            ),
            sip_password,
            warnings,
            charges,
        })
    }

    /// Deletes an object that nothing routes to; otherwise refuses, listing what refers to it.
    pub async fn delete_pbx_object(&self, op: &AccountOperator, id: &PbxObjectId) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        lock(&mut tx, op).await?;
        let loaded = load(&mut tx, op.white_label_id(), op.customer_id()).await?;
        let object = loaded
            .config
            .object(id)
            .cloned()
            .ok_or(AppError::NotFound("PBX object"))?;
        require_kind(op, Some(object.settings.kind()))?;
        let references = loaded.config.references_to(id);
        if !references.is_empty() {
            let details: Vec<String> = references
                .iter()
                .map(|r| format!("{} ({})", r.from, r.setting))
                .collect();
            return Err(AppError::Refused {
                code: "in_use",
                message: format!(
                    "{} cannot be deleted while calls are routed to it by {}; route them \
                     elsewhere first",
                    object.describe(),
                    details.join(", ")
                ),
                details,
            });
        }
        store_pbx::delete(&mut tx, op.customer_id(), id, now).await?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                on_behalf_of: None,
                action: "pbx.deleted",
                object_kind: object.settings.kind().as_str(),
                object_id: id.as_str(),
                before: Some(audit_json(&object)),
                after: None,
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new SIP password for an extension and returns it, shown this once.
    pub async fn reset_sip_password(
        &self,
        op: &AccountOperator,
        id: &PbxObjectId,
    ) -> AppResult<String> {
        op.require(Permission::ManagePbx)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let row = store_pbx::get(&mut tx, op.white_label_id(), op.customer_id(), id)
            .await?
            .ok_or(AppError::NotFound("PBX object"))?;
        let object = object_of(&row)?;
        if object.settings.kind() != ObjectKind::Extension {
            return Err(AppError::NotFound("extension"));
        }
        let customer = store_customers::get(&mut tx, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        let domain = self.account_domain(&mut tx, &customer).await?;
        let password = generate_password();
        let username = object
            .short_number
            .as_ref()
            .map(ShortNumber::as_str)
            .unwrap_or_default();
        store_pbx::set_credentials(
            &mut tx,
            op.customer_id(),
            &credential(id, username, &domain, &password, now),
        )
        .await?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                action: "pbx.sip_password_reset",
                object_kind: "extension",
                object_id: id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(password)
    }

    /// Returns the account's outbound policy, which is the default one until someone saves it.
    pub async fn outbound_policy(&self, op: &AccountOperator) -> AppResult<OutboundPolicy> {
        op.require(Permission::ManagePbx)?;
        let mut conn = self.store.conn().await?;
        store_customers::get(&mut conn, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        Ok(
            match store_pbx::policy(&mut conn, op.customer_id()).await? {
                Some((json, version)) => {
                    let mut policy: OutboundPolicy = serde_json::from_str(&json).map_err(stored)?;
                    policy.version = version;
                    policy
                }
                None => OutboundPolicy::default(),
            },
        )
    }

    /// Saves the account's outbound policy edited from `input.version`, and returns it with the
    /// warnings of the whole configuration. A dial rule that would capture an emergency number
    /// is saved with a warning, because emergency numbers bypass every rule.
    pub async fn save_outbound_policy(
        &self,
        op: &AccountOperator,
        input: &PolicyInput,
    ) -> AppResult<(OutboundPolicy, Vec<Warning>)> {
        op.require(Permission::ManagePbx)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        lock(&mut tx, op).await?;
        let mut loaded = load(&mut tx, op.white_label_id(), op.customer_id()).await?;
        let current = loaded.config.policy.version;
        let Some(version) = input.version else {
            return Err(AppError::field(
                "version",
                ValueError::new(
                    "required",
                    "Send the version you edited (0 for the default policy).",
                ),
            ));
        };
        if version != current {
            return Err(AppError::EditConflict { current });
        }
        let mut policy = input.validate()?;
        policy.version = current + 1;
        let before = loaded.config.policy.clone();
        loaded.config.policy = policy.clone();
        let warnings = loaded.config.check().map_err(config_rejected)?;
        let json = serde_json::to_string(&policy).map_err(stored)?;
        store_pbx::save_policy(&mut tx, op.customer_id(), &json, current, now)
            .await?
            .ok_or(AppError::EditConflict { current })?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                action: "pbx.outbound_policy_saved",
                object_kind: "outbound_policy",
                object_id: op.customer_id().as_str(),
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(&policy).ok(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok((policy, warnings))
    }

    /// Compiles the account's routing table.
    pub async fn routing_table(
        &self,
        op: &AccountOperator,
    ) -> AppResult<(RoutingTable, AccountConfig)> {
        op.require(Permission::ManagePbx)?;
        let mut conn = self.store.conn().await?;
        let loaded = load(&mut conn, op.white_label_id(), op.customer_id()).await?;
        let table = loaded.config.compile().map_err(config_rejected)?;
        Ok((table, loaded.config))
    }

    /// Traces a call to `dialled` at `at`.
    pub async fn trace_call(
        &self,
        op: &AccountOperator,
        dialled: &str,
        at: jiff::Timestamp,
    ) -> AppResult<Trace> {
        let (table, config) = self.routing_table(op).await?;
        let dialled = normalise_dialled(dialled, config.country);
        Ok(table.trace(&dialled, at, &config))
    }

    /// Traces a call to `dialled` at a local date and time of the account's time zone. A time
    /// that the clock skips when daylight saving starts is read as the moment after the change.
    /// A time that occurs twice is read as its first occurrence.
    pub async fn trace_call_local(
        &self,
        op: &AccountOperator,
        dialled: &str,
        at: jiff::civil::DateTime,
    ) -> AppResult<Trace> {
        let (table, config) = self.routing_table(op).await?;
        let instant = config
            .time_zone
            .to_tz()
            .to_ambiguous_zoned(at)
            .compatible()
            .map_err(|e| AppError::field("at", ValueError::new("invalid_time", e.to_string())))?
            .timestamp();
        let dialled = normalise_dialled(dialled, config.country);
        Ok(table.trace(&dialled, instant, &config))
    }

    /// Stores an uploaded greeting after checking that it is audio within the size limit.
    pub async fn upload_recording(
        &self,
        op: &AccountOperator,
        file_name: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> AppResult<MediaId> {
        op.require(Permission::ManagePbx)?;
        let content_type =
            check_recording(content_type, &body).map_err(|e| AppError::field("greeting", e))?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        store_customers::get(&mut tx, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        if store_pbx::count_media(&mut tx, op.customer_id()).await? >= MAX_RECORDINGS {
            return Err(AppError::Conflict {
                code: "too_many_recordings",
                message: format!("an account keeps at most {MAX_RECORDINGS} recordings"),
                field: Some("greeting".into()),
            });
        }
        let id = MediaId::new();
        let name: String = file_name
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        store_pbx::insert_media(
            &mut tx,
            op.customer_id(),
            &store_pbx::MediaRow {
                id: id.clone(),
                content_type: content_type.to_owned(),
                file_name: name,
                size_bytes: body.len() as i64,
                body,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}

/// The number of recordings one account may keep.
pub const MAX_RECORDINGS: i64 = 200;

/// The largest greeting recording accepted.
pub const MAX_RECORDING_BYTES: usize = 5 * 1024 * 1024;

/// Checks that `body` is a WAV, MP3 or Ogg recording by its leading bytes (whatever the
/// client claimed) and at most [`MAX_RECORDING_BYTES`]; returns its media type.
pub fn check_recording(_claimed: &str, body: &[u8]) -> Result<&'static str, ValueError> {
    if body.len() > MAX_RECORDING_BYTES {
        return Err(ValueError::new(
            "too_large",
            format!(
                "The recording is {:.1} MB; the limit is {} MB: shorten it or save it at a lower \
                 bit rate.",
                body.len() as f64 / 1_048_576.0,
                MAX_RECORDING_BYTES / 1_048_576
            ),
        ));
    }
    let kind = if body.len() > 12 && &body[0..4] == b"RIFF" && &body[8..12] == b"WAVE" {
        Some("audio/wav")
    } else if body.starts_with(b"ID3")
        || (body.len() > 2 && body[0] == 0xff && body[1] & 0xe0 == 0xe0)
    {
        Some("audio/mpeg")
    } else if body.starts_with(b"OggS") {
        Some("audio/ogg")
    } else {
        None
    };
    kind.ok_or_else(|| {
        ValueError::new(
            "not_audio",
            "This file is not a recording the phone system can play: upload a WAV, MP3 or Ogg file of at \
             most 5 MB.",
        )
    })
}

/// A dialled number as typed on the routing page: short numbers and emergency numbers stay
/// as they are; phone numbers become E.164 where they parse.
fn normalise_dialled(input: &str, country: Country) -> String {
    let trimmed = input.trim();
    if trimmed.len() <= 6
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return trimmed.to_owned();
    }
    PhoneNumber::parse(trimmed, country)
        .map(|n| n.as_str().to_owned())
        .unwrap_or_else(|_| trimmed.to_owned())
}

/// Refuses changes to an account that is cancelled or closed.
pub(crate) fn require_open(customer: &CustomerRow) -> AppResult<()> {
    if matches!(customer.status.as_str(), "cancelled" | "closed") {
        return Err(AppError::Conflict {
            code: "account_closed",
            message: format!(
                "this account is {}: its numbers and phone system can no longer change",
                customer.status
            ),
            field: None,
        });
    }
    Ok(())
}

/// Refuses an action that posts charges unless the caller may spend the paying balance: a
/// white label's administrators for any account, and for an account that pays its own
/// charges, its members whose role covers billing. Members of an account whose white label
/// pays cannot spend the white label's balance.
pub(crate) fn may_charge(
    op: &AccountOperator,
    customer: &CustomerRow,
    plan: &ChargePlan,
) -> AppResult<()> {
    if plan.preview().total_minor == 0 || op.is_white_label() {
        return Ok(());
    }
    if customer.payer == tandem_domain::Payer::WhiteLabel.as_str() {
        return Err(AppError::Forbidden(
            "this costs money, and your provider pays for this account: ask them to do it".into(),
        ));
    }
    op.require(Permission::ViewBilling).map_err(|_| {
        AppError::Forbidden(format!(
            "this costs money, and the {} role does not cover billing: ask an Account \
             Administrator",
            op.role().label()
        ))
    })
}

/// Conference bridges need the Conference permission; everything else needs PBX permission.
fn require_kind(op: &AccountOperator, kind: Option<ObjectKind>) -> AppResult<()> {
    match kind {
        Some(ObjectKind::ConferenceBridge) => op.require(Permission::ManageConferences),
        _ => op.require(Permission::ManagePbx),
    }
}

/// An object as the audit log keeps it: PINs left out.
pub(crate) fn audit_json(object: &PbxObject) -> serde_json::Value {
    let mut value = serde_json::to_value(object).unwrap_or_default();
    if let Some(settings) = value.get_mut("settings").and_then(|s| s.as_object_mut()) {
        if settings.contains_key("pin") {
            settings.insert("pin".into(), serde_json::Value::String("(hidden)".into()));
        }
    }
    value
}

/// An outbound policy as entered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyInput {
    /// Destination classes, such as `national` or `international`.
    pub allowed: Vec<String>,
    pub concurrent_calls: Option<u16>,
    pub dial_rules: Vec<DialRuleInput>,
    /// The version edited: 0 for the default policy.
    pub version: Option<i64>,
}

/// A dial rule as entered.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialRuleInput {
    pub prefix: String,
    pub strip: u8,
    pub prepend: String,
}

impl PolicyInput {
    fn validate(&self) -> AppResult<OutboundPolicy> {
        let mut fields = Fields::default();
        let mut allowed = Vec::new();
        for (index, class) in self.allowed.iter().enumerate() {
            if let Some(class) =
                fields.check(&format!("allowed[{index}]"), DestinationClass::parse(class))
            {
                if !allowed.contains(&class) {
                    allowed.push(class);
                }
            }
        }
        allowed.sort();
        let concurrent_calls = self.concurrent_calls.unwrap_or(10);
        if !(1..=1000).contains(&concurrent_calls) {
            fields.push(FieldError::custom(
                "concurrent_calls",
                "out_of_range",
                "give 1 to 1000 calls",
            ));
        }
        let mut dial_rules = Vec::new();
        for (index, rule) in self.dial_rules.iter().enumerate() {
            let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '+');
            let prefix = rule.prefix.trim();
            if prefix.is_empty() || prefix.len() > 10 || !digits(prefix) {
                fields.push(FieldError::custom(
                    format!("dial_rules[{index}].prefix"),
                    "invalid_prefix",
                    "a prefix is 1 to 10 digits",
                ));
                continue;
            }
            let prepend = rule.prepend.trim();
            if prepend.len() > 10 || !digits(prepend) {
                fields.push(FieldError::custom(
                    format!("dial_rules[{index}].prepend"),
                    "invalid_prepend",
                    "digits to put in front are at most 10 digits (and +)",
                ));
                continue;
            }
            if usize::from(rule.strip) > 10 {
                fields.push(FieldError::custom(
                    format!("dial_rules[{index}].strip"),
                    "out_of_range",
                    "strip at most 10 digits",
                ));
                continue;
            }
            dial_rules.push(DialRule {
                prefix: prefix.to_owned(),
                strip: rule.strip,
                prepend: prepend.to_owned(),
            });
        }
        fields.finish()?;
        Ok(OutboundPolicy {
            allowed,
            concurrent_calls,
            dial_rules,
            version: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_checked_by_content() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend_from_slice(&[0; 32]);
        assert_eq!(check_recording("text/plain", &wav).unwrap(), "audio/wav");
        assert_eq!(
            check_recording("audio/wav", b"<html>not audio</html>")
                .unwrap_err()
                .code,
            "not_audio"
        );
        let big = vec![0u8; MAX_RECORDING_BYTES + 1];
        let error = check_recording("audio/wav", &big).unwrap_err();
        assert_eq!(error.code, "too_large");
        assert!(error.message.contains("5 MB"), "{}", error.message);
    }

    #[test]
    fn sip_passwords_must_be_strong() {
        assert!(check_password("Harbour2026x", "101").is_ok());
        assert_eq!(
            check_password("short1", "101").unwrap_err().code,
            "weak_password"
        );
        assert_eq!(
            check_password("abcdefghijkl", "101").unwrap_err().code,
            "weak_password"
        );
        assert_eq!(
            check_password("xx101yyyyzz9", "101").unwrap_err().code,
            "weak_password"
        );
    }

    #[test]
    fn ha1_matches_rfc_2617_example() {
        // RFC 2617 section 3.5: Mufasa, testrealm@host.com, Circle Of Life.
        let row = credential(
            &PbxObjectId::new(),
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            0,
        );
        assert_eq!(row.ha1_md5, "939e7578ed9e3c518a452acee763bce9");
        assert_eq!(row.ha1_sha256.len(), 64);
    }
}

/// One row of an extension import as read: its line number and the extension it describes.
pub(crate) struct ExtensionRow {
    pub line: usize,
    pub input: ObjectInput,
}

/// Reads CSV text with the columns `number`, `name` and optionally `sip_password`. A header
/// row may name them (also as `extension` and `password`), and without one they are read in
/// that order.
pub(crate) fn extension_rows(text: &str) -> Vec<ExtensionRow> {
    let rows = crate::numbers::csv_rows(text);
    let mut columns = (0, 1, Some(2));
    let mut body = &rows[..];
    if let Some((_, first)) = rows.first() {
        let lower: Vec<String> = first
            .iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        if let Some(number) = lower.iter().position(|c| c == "number" || c == "extension") {
            columns = (
                number,
                lower.iter().position(|c| c == "name").unwrap_or(usize::MAX),
                lower
                    .iter()
                    .position(|c| c == "sip_password" || c == "password"),
            );
            body = &rows[1..];
        }
    }
    body.iter()
        .map(|(line, cells)| {
            let cell = |index: usize| {
                cells
                    .get(index)
                    .map(|c| c.trim().to_owned())
                    .unwrap_or_default()
            };
            ExtensionRow {
                line: *line,
                input: ObjectInput {
                    number: cell(columns.0),
                    name: cell(columns.1),
                    sip_password: columns.2.map(cell).filter(|p| !p.is_empty()),
                    ..ObjectInput::default()
                },
            }
        })
        .collect()
}

/// A row of an extension import that was saved.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedExtension {
    pub line: usize,
    pub number: String,
    pub id: PbxObjectId,
    /// The generated password, when the row gave none: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_password: Option<String>,
    /// What the row cost, tax included, in minor units: the plan's fee for an extension
    /// beyond those it includes, or 0.
    pub charged_minor: i64,
}

/// The outcome of an extension import, row by row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExtensionImport {
    pub created: Vec<ImportedExtension>,
    pub rejected: Vec<crate::numbers::RejectedLine>,
}

/// The maximum number of rows in one extension import.
// NOTE: rows commit one by one, so an import that outlasts the server's 60 s request timeout
// keeps (and charges) the rows saved so far but loses their generated passwords; this limit
// keeps imports well inside it on accounts of a few thousand objects.
pub const MAX_IMPORT_ROWS: usize = 500;

impl App {
    /// Imports extensions from CSV text with the columns `number`, `name` and optionally
    /// `sip_password` (a header row names them; without one they are read in that order).
    /// Each row is created as by [`App::create_pbx_object`], in its own transaction, so one bad
    /// row does not stop the others; the report says what happened to each.
    pub async fn import_extensions(
        &self,
        op: &AccountOperator,
        text: &str,
    ) -> AppResult<ExtensionImport> {
        op.require(Permission::ManagePbx)?;
        let body = extension_rows(text);
        if body.len() > MAX_IMPORT_ROWS {
            return Err(AppError::field(
                "file",
                ValueError::new(
                    "too_many_rows",
                    format!(
                        "The file has {} rows; import at most {MAX_IMPORT_ROWS} at once.",
                        body.len()
                    ),
                ),
            ));
        }
        let mut report = ExtensionImport::default();
        for ExtensionRow { line, input } in &body {
            match self
                .create_pbx_object(op, ObjectKind::Extension, input, false)
                .await
            {
                Ok(saved) => report.created.push(ImportedExtension {
                    line: *line,
                    number: input.number.clone(),
                    id: saved.object.id,
                    charged_minor: saved.charges.total_minor,
                    sip_password: if input.sip_password.is_some() {
                        None
                    } else {
                        saved.sip_password
                    },
                }),
                Err(AppError::Invalid(errors)) => {
                    report.rejected.push(crate::numbers::RejectedLine {
                        line: *line,
                        input: input.number.clone(),
                        reason: errors
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                    })
                }
                Err(
                    error @ (AppError::Conflict { .. }
                    | AppError::Refused { .. }
                    | AppError::Forbidden(_)
                    | AppError::InsufficientFunds { .. }),
                ) => report.rejected.push(crate::numbers::RejectedLine {
                    line: *line,
                    input: input.number.clone(),
                    reason: error.to_string(),
                }),
                Err(other) => return Err(other),
            }
        }
        Ok(report)
    }
}
