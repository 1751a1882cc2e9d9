//! Typed, prefixed identifiers such as `cus_01j9z3k8m2x4v6b8n0p2r4t6w8`. Each id is a prefix, an
//! underscore and 26 characters of lowercase Crockford base32 encoding 128 bits in the ULID
//! layout: 48 bits of Unix milliseconds, then 80 random bits. Because the time comes first and
//! base32 keeps bit order, ids of one kind sort by creation time when compared as strings. Ids
//! created in the same millisecond sort in random order.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

use crate::error::ValueError;
use crate::serde_string::string_serde;

/// Crockford base32 digits in lowercase; the letters i, l, o and u are left out.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Number of base32 characters after the prefix and underscore.
pub const ID_BODY_LEN: usize = 26;

/// Encodes 48 bits of milliseconds and 80 random bits as 26 base32 characters.
fn encode_body(millis: u64, random: u128) -> String {
    let mask_80 = (1u128 << 80) - 1;
    let value = (u128::from(millis & 0xffff_ffff_ffff) << 80) | (random & mask_80);
    let mut body = String::with_capacity(ID_BODY_LEN);
    // 26 characters carry 130 bits, so the first character holds only the top 2 bits.
    for index in (0..ID_BODY_LEN).rev() {
        let digit = (value >> (index * 5)) & 0x1f;
        body.push(char::from(ALPHABET[digit as usize]));
    }
    body
}

/// Creates a new id body from the current time and `rand::thread_rng`. Within one process
/// ids are strictly increasing: an id made in the same millisecond as the previous one (or
/// after the clock stepped back) takes the previous one's random part plus one, so rows
/// written together keep the order they were written in.
fn new_body() -> String {
    static LAST: std::sync::Mutex<(u64, u128)> = std::sync::Mutex::new((0, 0));
    // A clock before 1970 is a broken host; an id at time zero still stays unique by its
    // random bits.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0);
    let mask_80 = (1u128 << 80) - 1;
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (millis, random) = if now > last.0 {
        (now, rand::thread_rng().gen::<u128>() & (mask_80 >> 1))
    } else if last.1 < mask_80 {
        (last.0, last.1 + 1)
    } else {
        (last.0 + 1, 0)
    };
    *last = (millis, random);
    encode_body(millis, random)
}

/// Checks that `body` is 26 lowercase Crockford base32 characters that fit in 128 bits.
fn is_valid_body(body: &str) -> bool {
    let bytes = body.as_bytes();
    bytes.len() == ID_BODY_LEN
        && bytes.iter().all(|byte| ALPHABET.contains(byte))
        // The first character carries the top 2 of 130 bits, so above '7' it would overflow.
        && bytes[0] <= b'7'
}

/// Parses `input` as `{prefix}_{body}`, returning the trimmed id on success.
fn parse_prefixed(input: &str, prefix: &str, noun: &str) -> Result<String, ValueError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ValueError::required());
    }
    let valid = trimmed
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(is_valid_body);
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(ValueError::new(
            "invalid_id",
            format!(
                "'{trimmed}' is not a {noun} id: expected '{prefix}_' followed by \
                 {ID_BODY_LEN} characters of 0-9 and lowercase a-z without i, l, o or u."
            ),
        ))
    }
}

/// Defines a prefixed id type with parsing, display and serde support.
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $noun:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The string before the underscore in every id of this kind.
            pub const PREFIX: &'static str = $prefix;

            /// Creates a fresh id from the current time and random bits.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(format!("{}_{}", Self::PREFIX, new_body()))
            }

            /// Parses an id, checking its prefix, length and alphabet.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                parse_prefixed(input, Self::PREFIX, $noun).map(Self)
            }

            /// Wraps an id read back from the database without validating it.
            ///
            /// Only use this for values this program wrote itself; parse anything else.
            pub fn from_trusted(value: String) -> Self {
                Self(value)
            }

            /// Returns the id as `{prefix}_{26 characters}`.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValueError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                Self::parse(input)
            }
        }

        string_serde!($name);
    };
}

define_id!(
    /// Identifier of a white label (a reseller brand), prefix `wl`.
    WhiteLabelId, "wl", "white-label"
);
define_id!(
    /// Identifier of a customer account, prefix `cus`.
    CustomerId, "cus", "customer"
);
define_id!(
    /// Identifier of a user, prefix `usr`.
    UserId, "usr", "user"
);
define_id!(
    /// Identifier of a plan, prefix `plan`.
    PlanId, "plan", "plan"
);
define_id!(
    /// Identifier of an API key, prefix `key`.
    ApiKeyId, "key", "API key"
);
define_id!(
    /// Identifier of a membership (a user's role in a scope), prefix `mem`.
    MembershipId, "mem", "membership"
);
define_id!(
    /// Identifier of a ledger entry, prefix `led`.
    LedgerEntryId, "led", "ledger entry"
);
define_id!(
    /// Identifier of an audit log entry, prefix `aud`.
    AuditEntryId, "aud", "audit entry"
);
define_id!(
    /// Identifier of an invitation, prefix `inv`.
    InvitationId, "inv", "invitation"
);
define_id!(
    /// Identifier of a payment, prefix `pay`.
    PaymentId, "pay", "payment"
);
define_id!(
    /// Identifier of a PBX object of a customer account (extension, ring group, IVR menu,
    /// voicemail box, time condition or conference bridge), prefix `pbx`.
    PbxObjectId, "pbx", "PBX object"
);
define_id!(
    /// Identifier of a number port order, prefix `port`.
    PortOrderId, "port", "port order"
);
define_id!(
    /// Identifier of an uploaded recording, such as an IVR greeting, prefix `med`.
    MediaId, "med", "recording"
);
define_id!(
    /// Identifier of a SIP block after failed authentications, prefix `blk`.
    SipBlockId, "blk", "SIP block"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_new_has_prefix_and_length() {
        let id = CustomerId::new();
        let body = id.as_str().strip_prefix("cus_").expect("prefix");
        assert_eq!(body.len(), ID_BODY_LEN);
    }

    #[test]
    fn id_new_parses_back() {
        for _ in 0..100 {
            let id = UserId::new();
            assert_eq!(UserId::parse(id.as_str()), Ok(id.clone()));
        }
    }

    #[test]
    fn id_new_is_unique() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| PaymentId::new()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn id_body_sorts_by_time() {
        let earlier = encode_body(1_700_000_000_000, u128::MAX);
        let later = encode_body(1_700_000_000_001, 0);
        assert!(earlier < later, "{earlier} should sort before {later}");
    }

    #[test]
    fn id_body_encodes_known_value() {
        assert_eq!(encode_body(0, 0), "0".repeat(26));
        assert_eq!(encode_body(0, 1), format!("{}1", "0".repeat(25)));
        // All 48 time bits and 80 random bits set give 2^128 - 1, which is "7" then 25 "z".
        let max = encode_body(u64::MAX, u128::MAX);
        assert_eq!(max, format!("7{}", "z".repeat(25)));
    }

    #[test]
    fn id_parse_valid_cases() {
        let valid = [
            "cus_01j9z3k8m2x4v6b8n0p2r4t6w8",
            "cus_7zzzzzzzzzzzzzzzzzzzzzzzzz",
            "cus_00000000000000000000000000",
            "  cus_01j9z3k8m2x4v6b8n0p2r4t6w8  ",
        ];
        for input in valid {
            assert!(CustomerId::parse(input).is_ok(), "{input:?} should parse");
        }
    }

    #[test]
    fn id_parse_trims_whitespace() {
        let id = CustomerId::parse(" cus_01j9z3k8m2x4v6b8n0p2r4t6w8\n").unwrap();
        assert_eq!(id.as_str(), "cus_01j9z3k8m2x4v6b8n0p2r4t6w8");
    }

    #[test]
    fn id_parse_invalid_cases() {
        let invalid = [
            ("cus_123", "too short"),
            ("cus_01j9z3k8m2x4v6b8n0p2r4t6w8x", "too long"),
            ("usr_01j9z3k8m2x4v6b8n0p2r4t6w8", "wrong prefix"),
            ("cus01j9z3k8m2x4v6b8n0p2r4t6w8a", "missing underscore"),
            ("cus_01J9Z3K8M2X4V6B8N0P2R4T6W8", "uppercase"),
            ("cus_01i9z3k8m2x4v6b8n0p2r4t6w8", "letter i"),
            ("cus_01l9z3k8m2x4v6b8n0p2r4t6w8", "letter l"),
            ("cus_01o9z3k8m2x4v6b8n0p2r4t6w8", "letter o"),
            ("cus_01u9z3k8m2x4v6b8n0p2r4t6w8", "letter u"),
            ("cus_81j9z3k8m2x4v6b8n0p2r4t6w8", "over 128 bits"),
            ("cus_01j9z3k8m2x4v6b8n0p2r4t6w-", "punctuation"),
        ];
        for (input, case) in invalid {
            let error = CustomerId::parse(input).expect_err(case);
            assert_eq!(error.code, "invalid_id", "{case}");
        }
    }

    #[test]
    fn id_parse_empty_is_required() {
        assert_eq!(PlanId::parse("  ").unwrap_err().code, "required");
    }

    #[test]
    fn id_parse_message_names_kind_and_prefix() {
        let error = CustomerId::parse("cus_123").unwrap_err();
        assert!(error
            .message
            .starts_with("'cus_123' is not a customer id: expected 'cus_'"));
    }

    #[test]
    fn id_prefixes_match_kinds() {
        assert_eq!(WhiteLabelId::new().as_str().split('_').next(), Some("wl"));
        assert_eq!(CustomerId::PREFIX, "cus");
        assert_eq!(UserId::PREFIX, "usr");
        assert_eq!(PlanId::PREFIX, "plan");
        assert_eq!(ApiKeyId::PREFIX, "key");
        assert_eq!(MembershipId::PREFIX, "mem");
        assert_eq!(LedgerEntryId::PREFIX, "led");
        assert_eq!(AuditEntryId::PREFIX, "aud");
        assert_eq!(InvitationId::PREFIX, "inv");
        assert_eq!(PaymentId::PREFIX, "pay");
    }

    #[test]
    fn id_from_trusted_skips_validation() {
        let id = UserId::from_trusted("anything".to_owned());
        assert_eq!(id.as_str(), "anything");
    }

    #[test]
    fn id_display_and_debug() {
        let id = LedgerEntryId::parse("led_01j9z3k8m2x4v6b8n0p2r4t6w8").unwrap();
        assert_eq!(id.to_string(), "led_01j9z3k8m2x4v6b8n0p2r4t6w8");
        assert_eq!(
            format!("{id:?}"),
            "LedgerEntryId(led_01j9z3k8m2x4v6b8n0p2r4t6w8)"
        );
    }

    #[test]
    fn id_serde_round_trip() {
        let id = InvitationId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.as_str()));
        let back: InvitationId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn id_deserialize_rejects_invalid() {
        let result: Result<AuditEntryId, _> = serde_json::from_str("\"aud_nope\"");
        assert!(result.is_err());
    }
}

#[cfg(test)]
mod monotonic_tests {
    use super::new_body;

    #[test]
    fn ids_made_together_increase() {
        let ids: Vec<String> = (0..1000).map(|_| new_body()).collect();
        for pair in ids.windows(2) {
            assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
        }
    }
}
