//! Brand colours of white labels, stored as `#rrggbb`, and the WCAG 2.x contrast arithmetic for
//! them. It picks readable text colours, and darkens a brand colour until links and buttons
//! drawn in it meet the AA contrast ratio of 4.5:1 on white.

use std::fmt;

use crate::error::ValueError;
use crate::serde_string::string_serde;

/// Minimum WCAG AA contrast ratio for normal-size text.
pub const WCAG_AA_NORMAL_TEXT: f64 = 4.5;

/// A colour in sRGB, stored as lowercase `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Colour {
    rgb: [u8; 3],
    hex: String,
}

impl Colour {
    /// Black, `#000000`.
    pub fn black() -> Self {
        Self::from_rgb([0, 0, 0])
    }

    /// White, `#ffffff`.
    pub fn white() -> Self {
        Self::from_rgb([255, 255, 255])
    }

    /// Creates a colour from red, green and blue components.
    pub fn from_rgb(rgb: [u8; 3]) -> Self {
        let hex = format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
        Self { rgb, hex }
    }

    /// Parses `#rrggbb`, `rrggbb`, `#rgb` or `rgb` in any case.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let digits = trimmed.strip_prefix('#').unwrap_or(trimmed);
        let invalid = || {
            ValueError::new(
                "invalid_colour",
                format!("'{trimmed}' is not a colour: enter a hex colour such as #1a2b3c or #abc."),
            )
        };
        if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let expanded: String = match digits.len() {
            // #abc is shorthand for #aabbcc.
            3 => digits.chars().flat_map(|digit| [digit, digit]).collect(),
            6 => digits.to_owned(),
            _ => return Err(invalid()),
        };
        let mut rgb = [0u8; 3];
        for (index, component) in rgb.iter_mut().enumerate() {
            let pair = &expanded[index * 2..index * 2 + 2];
            *component = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(Self::from_rgb(rgb))
    }

    /// Returns the colour as lowercase `#rrggbb`.
    pub fn as_str(&self) -> &str {
        &self.hex
    }

    /// Returns the red, green and blue components.
    pub fn rgb(&self) -> [u8; 3] {
        self.rgb
    }

    /// Computes the WCAG 2.x relative luminance, from 0.0 for black to 1.0 for white.
    pub fn relative_luminance(&self) -> f64 {
        let linear = |component: u8| {
            let value = f64::from(component) / 255.0;
            // sRGB transfer function; WCAG 2.x prints 0.03928, which IEC 61966-2-1 corrects to
            // 0.04045, and no 8-bit value lies between the two.
            if value <= 0.04045 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        };
        let [red, green, blue] = self.rgb;
        0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }

    /// Computes the WCAG 2.x contrast ratio with `other`, from 1.0 to 21.0.
    pub fn contrast_ratio(&self, other: &Colour) -> f64 {
        let (first, second) = (self.relative_luminance(), other.relative_luminance());
        let (lighter, darker) = if first >= second {
            (first, second)
        } else {
            (second, first)
        };
        (lighter + 0.05) / (darker + 0.05)
    }

    /// Returns black or white, whichever contrasts more with this colour, for text drawn on it.
    pub fn text_colour(&self) -> Colour {
        let black = Colour::black();
        let white = Colour::white();
        if self.contrast_ratio(&black) >= self.contrast_ratio(&white) {
            black
        } else {
            white
        }
    }

    /// Returns this colour if it has at least 4.5:1 contrast on white, or else the lightest
    /// darker shade that does.
    ///
    /// Shades scale every component toward black in 1% steps, which keeps the hue. Black
    /// itself has 21:1, so a shade is always found.
    pub fn accessible_on_white(&self) -> Colour {
        let white = Colour::white();
        for percent in (0..=100u32).rev() {
            let shade = self.scaled(percent);
            if shade.contrast_ratio(&white) >= WCAG_AA_NORMAL_TEXT {
                return shade;
            }
        }
        Colour::black()
    }

    /// Returns the colour with each component scaled to `percent` of its value, rounded.
    fn scaled(&self, percent: u32) -> Colour {
        let scale = |component: u8| ((u32::from(component) * percent + 50) / 100) as u8;
        let [red, green, blue] = self.rgb;
        Colour::from_rgb([scale(red), scale(green), scale(blue)])
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

string_serde!(Colour);

#[cfg(test)]
mod tests {
    use super::*;

    fn colour(hex: &str) -> Colour {
        Colour::parse(hex).unwrap()
    }

    #[test]
    fn colour_parse_valid_cases() {
        let valid = [
            ("#1a2b3c", "#1a2b3c"),
            ("1a2b3c", "#1a2b3c"),
            ("#1A2B3C", "#1a2b3c"),
            ("#abc", "#aabbcc"),
            ("ABC", "#aabbcc"),
            (" #000000 ", "#000000"),
        ];
        for (input, expected) in valid {
            assert_eq!(
                Colour::parse(input).map(|c| c.hex),
                Ok(expected.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn colour_parse_invalid_cases() {
        let invalid = [
            "#12345",
            "#1234567",
            "#ggg",
            "red",
            "#",
            "##abc",
            "rgb(0,0,0)",
            "#ab c",
        ];
        for input in invalid {
            let error = Colour::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_colour", "{input}");
        }
    }

    #[test]
    fn colour_parse_empty_is_required() {
        assert_eq!(Colour::parse(" ").unwrap_err().code, "required");
    }

    #[test]
    fn colour_parse_rgb_components() {
        assert_eq!(colour("#1a2b3c").rgb(), [0x1a, 0x2b, 0x3c]);
    }

    #[test]
    fn colour_relative_luminance_extremes() {
        assert_eq!(Colour::black().relative_luminance(), 0.0);
        assert!((Colour::white().relative_luminance() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn colour_contrast_ratio_known_values() {
        let cases = [
            ("#000000", "#ffffff", 21.0),
            ("#ffffff", "#ffffff", 1.0),
            // #767676 is the lightest grey that passes AA on white, at about 4.54:1.
            ("#767676", "#ffffff", 4.54),
            ("#777777", "#ffffff", 4.48),
        ];
        for (first, second, expected) in cases {
            let ratio = colour(first).contrast_ratio(&colour(second));
            assert!(
                (ratio - expected).abs() < 0.01,
                "{first} on {second}: {ratio}"
            );
        }
    }

    #[test]
    fn colour_contrast_ratio_is_symmetric() {
        let (first, second) = (colour("#1a2b3c"), colour("#f0e68c"));
        assert_eq!(first.contrast_ratio(&second), second.contrast_ratio(&first));
    }

    #[test]
    fn colour_text_colour_cases() {
        let cases = [
            ("#000000", "#ffffff"),
            ("#ffffff", "#000000"),
            ("#1a2b3c", "#ffffff"),
            ("#ffeb3b", "#000000"),
            ("#0057b8", "#ffffff"),
        ];
        for (background, text) in cases {
            assert_eq!(
                colour(background).text_colour().as_str(),
                text,
                "{background}"
            );
        }
    }

    #[test]
    fn colour_accessible_on_white_keeps_dark_colours() {
        for hex in ["#000000", "#1a2b3c", "#767676", "#0057b8"] {
            assert_eq!(colour(hex).accessible_on_white().as_str(), hex);
        }
    }

    #[test]
    fn colour_accessible_on_white_darkens_light_colours() {
        let white = Colour::white();
        for hex in [
            "#ffffff", "#ffeb3b", "#777777", "#00bcd4", "#ff9800", "#abc",
        ] {
            let original = colour(hex);
            let accessible = original.accessible_on_white();
            assert_ne!(accessible, original, "{hex}");
            let ratio = accessible.contrast_ratio(&white);
            assert!(
                ratio >= WCAG_AA_NORMAL_TEXT,
                "{hex} became {accessible} at {ratio}"
            );
            // The shade stops near the threshold instead of jumping toward black.
            assert!(
                ratio < 5.0,
                "{hex} became {accessible} at {ratio}, darker than needed"
            );
        }
    }

    #[test]
    fn colour_serde_round_trip() {
        let value = colour("#ABC");
        assert_eq!(serde_json::to_string(&value).unwrap(), "\"#aabbcc\"");
        let back: Colour = serde_json::from_str("\"aabbcc\"").unwrap();
        assert_eq!(back, value);
    }
}
