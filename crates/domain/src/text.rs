//! Short and long text typed by people: names of persons, businesses and extensions, and
//! free-text descriptions. Text is trimmed and NFC-normalised, invisible format characters are
//! removed, and control characters are rejected, but otherwise Unicode is kept exactly. Markup
//! such as `<b>` is kept literally, because escaping is the renderer's job.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::error::ValueError;
use crate::serde_string::string_serde;

/// Ranges of Unicode general category Cf (format characters), from Unicode 18.0 as tabulated
/// in the `unicode-properties` 0.1.5 crate.
const FORMAT_CHARACTERS: &[(char, char)] = &[
    ('\u{AD}', '\u{AD}'),
    ('\u{600}', '\u{605}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{6DD}', '\u{6DD}'),
    ('\u{70F}', '\u{70F}'),
    ('\u{890}', '\u{891}'),
    ('\u{8E2}', '\u{8E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Zero-width non-joiner and joiner: format characters that are kept, because Persian, Indic
/// scripts and emoji sequences need them to spell words correctly.
const KEPT_JOINERS: [char; 2] = ['\u{200C}', '\u{200D}'];

/// Returns true for a character of general category Cf.
fn is_format_character(character: char) -> bool {
    FORMAT_CHARACTERS
        .iter()
        .any(|(first, last)| (*first..=*last).contains(&character))
}

/// Returns true for characters that break a line: Cc controls and the Unicode line and
/// paragraph separators.
fn is_control_or_separator(character: char) -> bool {
    character.is_control() || character == '\u{2028}' || character == '\u{2029}'
}

/// Policy for line breaks inside a text value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineBreaks {
    Rejected,
    Allowed,
}

/// Trims, removes format characters, NFC-normalises and checks `input` against `max_chars`.
fn clean_text(
    input: &str,
    max_chars: usize,
    line_breaks: LineBreaks,
) -> Result<String, ValueError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ValueError::required());
    }
    let only_invisible = trimmed
        .chars()
        .all(|character| character.is_control() || is_format_character(character));
    if only_invisible {
        return Err(ValueError::new(
            "invalid_text",
            "This contains only invisible characters: enter visible text.",
        ));
    }

    let unified = match line_breaks {
        LineBreaks::Rejected => trimmed.to_owned(),
        LineBreaks::Allowed => trimmed.replace("\r\n", "\n").replace('\r', "\n"),
    };
    let rejected = unified.chars().find(|character| {
        is_control_or_separator(*character)
            && !(line_breaks == LineBreaks::Allowed && *character == '\n')
    });
    if let Some(character) = rejected {
        let what = match character {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => "a line break",
            '\t' => "a tab",
            _ => "a control character",
        };
        let fix = match line_breaks {
            LineBreaks::Rejected => "keep it on one line without tabs",
            LineBreaks::Allowed => "remove it; only line breaks are allowed",
        };
        return Err(ValueError::new(
            "invalid_text",
            format!(
                "This contains {what} (U+{:04X}): {fix}.",
                u32::from(character)
            ),
        ));
    }

    let visible: String = unified
        .chars()
        .filter(|character| !is_format_character(*character) || KEPT_JOINERS.contains(character))
        .nfc()
        .collect();
    let visible = visible.trim().to_owned();
    if visible.is_empty() {
        // Only joiners and spaces were left, which show nothing.
        return Err(ValueError::new(
            "invalid_text",
            "This contains only invisible characters: enter visible text.",
        ));
    }
    let length = visible.chars().count();
    if length > max_chars {
        return Err(ValueError::too_long(max_chars, length));
    }
    Ok(visible)
}

/// A short single-line text such as a person's or business's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// Parses a single line of at most `max_chars` characters (counted after normalisation).
    ///
    /// Rejects empty input (`required`), more than `max_chars` characters (`too_long`), and
    /// line breaks, tabs or other control characters, or nothing visible (`invalid_text`).
    pub fn parse(input: &str, max_chars: usize) -> Result<Self, ValueError> {
        clean_text(input, max_chars, LineBreaks::Rejected).map(Self)
    }

    /// Returns the normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(@serialize Name);

/// Parser for optional short text, where blank input means no value.
pub enum OptionalText {}

impl OptionalText {
    /// Parses like [`Name::parse`], but returns `None` for empty or whitespace-only input.
    pub fn parse(input: &str, max_chars: usize) -> Result<Option<Name>, ValueError> {
        if input.trim().is_empty() {
            return Ok(None);
        }
        Name::parse(input, max_chars).map(Some)
    }
}

/// A free-text description that may span several lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Description(String);

impl Description {
    /// Parses text of at most `max_chars` characters, allowing line breaks but no other
    /// control characters. Windows and old Mac line endings become `\n`.
    pub fn parse(input: &str, max_chars: usize) -> Result<Self, ValueError> {
        clean_text(input, max_chars, LineBreaks::Allowed).map(Self)
    }

    /// Returns the normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(@serialize Description);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_valid_cases() {
        let valid = [
            ("Tāne Müller-João", "Tāne Müller-João"),
            ("  Ann Smith \n", "Ann Smith"),
            ("Ta\u{0304}ne", "T\u{0101}ne"),
            ("<b>x</b>", "<b>x</b>"),
            ("Acme & Sons Ltd", "Acme & Sons Ltd"),
            ("Zoe\u{200B} Lee", "Zoe Lee"),
            ("\u{200B}Ann\u{FEFF}", "Ann"),
            ("\u{202E}Ann\u{202C}", "Ann"),
            ("Soft\u{AD}hyphen", "Softhyphen"),
            ("می\u{200C}خواهم", "می\u{200C}خواهم"),
            ("👩\u{200D}💻 Team", "👩\u{200D}💻 Team"),
            ("李小龍", "李小龍"),
            ("O'Brien", "O'Brien"),
        ];
        for (input, expected) in valid {
            let name = Name::parse(input, 100);
            assert_eq!(name.map(|n| n.0), Ok(expected.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn name_invalid_cases() {
        let invalid = [
            ("", "required"),
            ("   ", "required"),
            ("\n\t", "required"),
            ("\u{200B}", "invalid_text"),
            ("\u{200B}\u{FEFF}\u{202E}", "invalid_text"),
            ("\u{7}", "invalid_text"),
            ("\u{200D}", "invalid_text"),
            ("Ann\nSmith", "invalid_text"),
            ("Ann\tSmith", "invalid_text"),
            ("Ann\rSmith", "invalid_text"),
            ("Ann\u{0}Smith", "invalid_text"),
            ("Ann\u{85}Smith", "invalid_text"),
            ("Ann\u{1B}[31mSmith", "invalid_text"),
            ("Ann\u{2028}Smith", "invalid_text"),
            ("Elevenchars", "too_long"),
        ];
        for (input, code) in invalid {
            let error = Name::parse(input, 10).expect_err(input);
            assert_eq!(error.code, code, "{input:?}: {}", error.message);
        }
    }

    #[test]
    fn name_limit_counts_characters_not_bytes() {
        assert!(Name::parse("ĀĒĪŌŪ", 5).is_ok());
        assert_eq!(Name::parse("ĀĒĪŌŪĀ", 5).unwrap_err().code, "too_long");
    }

    #[test]
    fn name_limit_counts_after_nfc() {
        // Five decomposed letters are ten code points before NFC and five after.
        let decomposed = "A\u{0304}E\u{0304}I\u{0304}O\u{0304}U\u{0304}";
        assert!(Name::parse(decomposed, 5).is_ok());
    }

    #[test]
    fn name_too_long_message_names_limit() {
        let error = Name::parse("Elevenchars", 10).unwrap_err();
        assert!(error.message.contains("at most 10"), "{}", error.message);
    }

    #[test]
    fn name_control_message_names_character() {
        let error = Name::parse("Ann\tSmith", 100).unwrap_err();
        assert!(
            error.message.contains("a tab (U+0009)"),
            "{}",
            error.message
        );
    }

    #[test]
    fn optional_text_cases() {
        assert_eq!(OptionalText::parse("", 10), Ok(None));
        assert_eq!(OptionalText::parse("  \t ", 10), Ok(None));
        let some = OptionalText::parse(" Unit 4 ", 10).unwrap();
        assert_eq!(some.as_ref().map(Name::as_str), Some("Unit 4"));
        assert_eq!(
            OptionalText::parse("Elevenchars", 10).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            OptionalText::parse("\u{200B}", 10).unwrap_err().code,
            "invalid_text"
        );
    }

    #[test]
    fn description_valid_cases() {
        let valid = [
            ("Line one\nLine two", "Line one\nLine two"),
            ("Line one\r\nLine two", "Line one\nLine two"),
            ("Line one\rLine two", "Line one\nLine two"),
            ("  Padded\n\n", "Padded"),
            ("Ta\u{0304}ne\u{200B}", "T\u{0101}ne"),
        ];
        for (input, expected) in valid {
            let text = Description::parse(input, 100);
            assert_eq!(text.map(|t| t.0), Ok(expected.to_owned()), "{input:?}");
        }
    }

    #[test]
    fn description_invalid_cases() {
        let long = "x".repeat(101);
        let invalid = [
            ("", "required"),
            ("Tab\there", "invalid_text"),
            ("Bell\u{7}", "invalid_text"),
            ("\u{FEFF}", "invalid_text"),
            (long.as_str(), "too_long"),
        ];
        for (input, code) in invalid {
            let error = Description::parse(input, 100).expect_err(input);
            assert_eq!(error.code, code, "{input:?}");
        }
    }

    #[test]
    fn format_character_table_matches_known_members() {
        for character in [
            '\u{200B}', '\u{200E}', '\u{202E}', '\u{2060}', '\u{FEFF}', '\u{AD}',
        ] {
            assert!(is_format_character(character), "{character:?}");
        }
        for character in ['a', ' ', '\u{0304}', '\u{2028}', '\u{FFFD}'] {
            assert!(!is_format_character(character), "{character:?}");
        }
    }

    #[test]
    fn name_serializes_as_string() {
        let name = Name::parse("Tāne", 10).unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Tāne\"");
    }
}
