use super::*;

fn italy() -> Country {
    Country::parse("IT").unwrap()
}

fn e164(input: &str, country: Country) -> Result<String, ValueError> {
    PhoneNumber::parse(input, country).map(|number| number.as_str().to_owned())
}

#[test]
fn phone_valid_cases() {
    let valid = [
        ("021 123 4567", Country::NZ, "+64211234567"),
        ("(09) 300 1234", Country::NZ, "+6493001234"),
        ("0800 123 456", Country::NZ, "+64800123456"),
        ("+64 9 300 1234", Country::NZ, "+6493001234"),
        ("+64 21 123 4567", Country::NZ, "+64211234567"),
        ("0064 9 300 1234", Country::NZ, "+6493001234"),
        ("09-300-1234", Country::NZ, "+6493001234"),
        ("0491 570 156", Country::AU, "+61491570156"),
        ("(02) 9374 4000", Country::AU, "+61293744000"),
        ("0011 64 9 300 1234", Country::AU, "+6493001234"),
        ("+61 2 9374 4000", Country::NZ, "+61293744000"),
        ("+39 06 6982 1234", Country::NZ, "+390669821234"),
        ("06 6982 1234", italy(), "+390669821234"),
        ("02 1234 5678", italy(), "+390212345678"),
        ("+39 02 1234 5678", Country::AU, "+390212345678"),
        ("(202) 456-1111", Country::US, "+12024561111"),
        ("+44 20 7946 0958", Country::US, "+442079460958"),
    ];
    for (input, country, expected) in valid {
        assert_eq!(
            e164(input, country).as_deref(),
            Ok(expected),
            "{input} in {country}"
        );
    }
}

#[test]
fn phone_nz_mobile_to_e164() {
    assert_eq!(e164("021 123 4567", Country::NZ).unwrap(), "+64211234567");
}

#[test]
fn phone_invisible_characters_removed() {
    let inputs = [
        "09\u{200B}300\u{202C}1234",
        "09\u{00A0}300\u{00A0}1234",
        "\u{FEFF}09 300 1234",
        "\u{202A}+64 9 300 1234\u{202C}",
        "09\u{2060}300\u{200E}1234",
    ];
    for input in inputs {
        assert_eq!(
            e164(input, Country::NZ).as_deref(),
            Ok("+6493001234"),
            "{input:?}"
        );
    }
}

#[test]
fn phone_national_prefix_after_country_code_rejected() {
    let inputs = [
        "+64 021 123 4567",
        "+64 09 300 1234",
        "0064 021 123 4567",
        "+61 02 9374 4000",
    ];
    for input in inputs {
        let error = PhoneNumber::parse(input, Country::NZ).expect_err(input);
        assert_eq!(error.code, "national_prefix_after_country_code", "{input}");
    }
}

#[test]
fn phone_national_prefix_message_says_drop_zero() {
    let error = PhoneNumber::parse("+64 021 123 4567", Country::NZ).unwrap_err();
    assert_eq!(
        error.message,
        "'+64 021 123 4567' keeps the national 0 after the country code: drop the 0 after +64 \
         (+64 21 123 4567)."
    );
}

#[test]
fn phone_italy_leading_zero_kept() {
    assert_eq!(
        e164("+39 06 6982 1234", italy()).as_deref(),
        Ok("+390669821234")
    );
    assert_eq!(
        e164("06 6982 1234", italy()).as_deref(),
        Ok("+390669821234")
    );
}

#[test]
fn phone_invalid_cases() {
    let invalid = [
        ("garbage", Country::NZ),
        ("09 300 ABCD", Country::NZ),
        ("0800 FLOWERS", Country::NZ),
        ("123", Country::NZ),
        ("09 300", Country::NZ),
        ("0", Country::NZ),
        ("+", Country::NZ),
        ("+64", Country::NZ),
        ("09 300 1234 5678 9012", Country::NZ),
        ("09 300 1234 ext 5", Country::NZ),
        ("09+300 1234", Country::NZ),
        ("+999 1234 5678", Country::NZ),
        ("+800 1234 5678", Country::NZ),
        ("0491 570 156", Country::NZ),
        ("021 123 4567", Country::US),
        ("0491 570 156", Country::GB),
        ("(202) 456-1111", Country::AU),
        ("---", Country::NZ),
        ("1234 5678", Country::parse("AQ").unwrap()),
    ];
    for (input, country) in invalid {
        let error = PhoneNumber::parse(input, country).expect_err(input);
        assert_eq!(
            error.code, "invalid_phone",
            "{input} in {country}: {}",
            error.message
        );
    }
}

#[test]
fn phone_empty_is_required() {
    for input in ["", "   ", "\u{200B}", "\u{00A0}"] {
        let error = PhoneNumber::parse(input, Country::NZ).expect_err(input);
        assert_eq!(error.code, "required", "{input:?}");
    }
}

#[test]
fn phone_invalid_message_names_country_and_example() {
    let error = PhoneNumber::parse("0491 570 156", Country::NZ).unwrap_err();
    assert!(error
        .message
        .starts_with("'0491 570 156' is not a valid New Zealand phone number."));
    assert!(error.message.contains("such as 03"), "{}", error.message);
}

#[test]
fn phone_country_follows_number() {
    let number = PhoneNumber::parse("+61 2 9374 4000", Country::NZ).unwrap();
    assert_eq!(number.country(), Country::AU);
    let local = PhoneNumber::parse("09 300 1234", Country::NZ).unwrap();
    assert_eq!(local.country(), Country::NZ);
    let milan = PhoneNumber::parse("+39 02 1234 5678", Country::NZ).unwrap();
    assert_eq!(milan.country(), italy());
    let toronto = PhoneNumber::parse("(416) 555-0199", Country::US);
    assert_eq!(toronto.map(|number| number.country()), Ok(Country::CA));
}

#[test]
fn phone_formats_for_display() {
    let number = PhoneNumber::parse("093001234", Country::NZ).unwrap();
    assert_eq!(number.format_national(), "09 300 1234");
    assert_eq!(number.format_international(), "+64 9 300 1234");
    let mobile = PhoneNumber::parse("0211234567", Country::NZ).unwrap();
    assert_eq!(mobile.format_national(), "021 123 4567");
}

#[test]
fn phone_equality_ignores_input_form() {
    let national = PhoneNumber::parse("09 300 1234", Country::NZ).unwrap();
    let international = PhoneNumber::parse("+64 9 300 1234", Country::NZ).unwrap();
    assert_eq!(national, international);
}

#[test]
fn phone_serializes_as_e164() {
    let number = PhoneNumber::parse("021 123 4567", Country::NZ).unwrap();
    assert_eq!(serde_json::to_string(&number).unwrap(), "\"+64211234567\"");
    assert_eq!(number.to_string(), "+64211234567");
}

#[test]
fn phone_parse_e164_cases() {
    let valid = [
        ("+6493001234", "+6493001234"),
        (" +64 21 123 4567 ", "+64211234567"),
    ];
    for (input, expected) in valid {
        let number = PhoneNumber::parse_e164(input).map(|number| number.e164);
        assert_eq!(number.as_deref(), Ok(expected), "{input}");
    }
    let invalid = [
        ("093001234", "invalid_phone"),
        ("006493001234", "invalid_phone"),
        ("+64 021 123 4567", "national_prefix_after_country_code"),
        ("+6412", "invalid_phone"),
        ("", "required"),
    ];
    for (input, code) in invalid {
        let error = PhoneNumber::parse_e164(input).expect_err(input);
        assert_eq!(error.code, code, "{input}");
    }
}

#[test]
fn phone_international_ignores_given_country() {
    let from_nz = PhoneNumber::parse("+61293744000", Country::NZ).unwrap();
    let from_us = PhoneNumber::parse("+61293744000", Country::US).unwrap();
    assert_eq!(from_nz, from_us);
    assert_eq!(from_us.country(), Country::AU);
}

#[test]
fn phone_deserializes_from_e164() {
    let number: PhoneNumber = serde_json::from_str("\"+6493001234\"").unwrap();
    assert_eq!(number.country(), Country::NZ);
    let national: Result<PhoneNumber, _> = serde_json::from_str("\"093001234\"");
    assert!(national.is_err());
}
