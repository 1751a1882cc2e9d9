//! Parsing shared by the snake_case enums (statuses, kinds, roles), so each reports an unknown
//! name the same way.

use crate::error::ValueError;

/// Finds the variant of `all` whose `name` equals trimmed `input`, for snake_case enums.
pub(crate) fn parse_name<T: Copy>(
    input: &str,
    all: &[T],
    name: fn(&T) -> &'static str,
    code: &'static str,
    noun: &str,
) -> Result<T, ValueError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ValueError::required());
    }
    all.iter()
        .copied()
        .find(|value| name(value) == trimmed)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(name).collect();
            ValueError::new(
                code,
                format!(
                    "'{trimmed}' is not a {noun}: use one of {}.",
                    names.join(", ")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(value: &u8) -> &'static str {
        ["zero", "one"][usize::from(*value)]
    }

    #[test]
    fn parse_name_finds_trimmed_name() {
        assert_eq!(
            parse_name(" one ", &[0, 1], name, "invalid_number", "number"),
            Ok(1)
        );
    }

    #[test]
    fn parse_name_lists_choices() {
        let error = parse_name("two", &[0, 1], name, "invalid_number", "number").unwrap_err();
        assert_eq!(error.code, "invalid_number");
        assert_eq!(
            error.message,
            "'two' is not a number: use one of zero, one."
        );
    }
}
