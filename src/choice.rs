//! Closed sets of string values in config.toml (`"file" | "keyring" | "auto"`, ...), read
//! with an error that lists what is allowed.

use serde::Deserialize;

/// A closed set of string values, named in errors as they are spelled in config.toml.
pub trait Choice: Sized + Copy + 'static {
    const CHOICES: &'static [(&'static str, Self)];
}

/// Deserializes a `Choice` from a string, with an error listing what is allowed.
pub fn choice<'de, D: serde::Deserializer<'de>, T: Choice>(d: D) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(d)?;
    T::CHOICES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, value)| Some(*value))
        .ok_or_else(|| {
            let allowed: Vec<String> = T::CHOICES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            // Quoted when short, masked when long: a pasted secret may have landed here.
            serde::de::Error::custom(format!(
                "unknown value {}; expected one of {}",
                crate::secret::shown_value(&text, '"'),
                allowed.join(", ")
            ))
        })
}
