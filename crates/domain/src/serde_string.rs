//! A macro that serialises a value type as its `as_str()` text and deserialises it through its
//! `parse` constructor, so a value read from JSON passes the same checks as one typed in a form.

/// Implements `Serialize` through `as_str()` and, for types whose `parse` takes only the text,
/// `Deserialize` through `parse`.
macro_rules! string_serde {
    ($type:ty) => {
        string_serde!(@serialize $type);

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                <$type>::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
    (@serialize $type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_serde;
