//! `NOD_SECTION__KEY` environment variables as a figment provider that keeps text as text.
//!
//! figment's own `Env` guesses each value's type from its spelling, so a Twilio sender
//! `+15550001111` or an all-digit webhook secret arrives as a number and a text setting refuses
//! it (or a leading `+` or `0` is lost). Every setting has a default in `config/default.toml`;
//! where that default is text, the variable is taken as the very text it holds. Elsewhere
//! (numbers, booleans, lists) figment's reading applies, and a setting with no default (a
//! resource server's digest) keeps its text unless it spells a list or table.

use figment::providers::Env;
use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// The `NOD_` variables, each typed by the default of its key.
pub struct EnvText {
    env: Env,
    defaults: Value,
}

impl EnvText {
    /// Variables `NOD_A__B` for the key `a.b`, typed against `defaults` (the built-in TOML).
    pub fn new(defaults: &str) -> Self {
        let defaults = toml_defaults(defaults);
        EnvText {
            env: Env::prefixed("NOD_").ignore(&["config"]).split("__"),
            defaults,
        }
    }

    /// The value a variable stands for.
    fn value_of(&self, key: &str, raw: String) -> Value {
        match self.defaults.find_ref(key) {
            Some(Value::String(..)) => Value::from(raw),
            Some(_) => raw.parse().unwrap_or_else(|_| Value::from(raw)),
            None => match raw.parse::<Value>() {
                Ok(v @ (Value::Array(..) | Value::Dict(..))) => v,
                _ => Value::from(raw),
            },
        }
    }
}

fn toml_defaults(text: &str) -> Value {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text))
        .extract::<Value>()
        .unwrap_or_else(|_| Value::from(Dict::new()))
}

impl Provider for EnvText {
    fn metadata(&self) -> Metadata {
        self.env.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (key, raw) in self.env.iter() {
            let value = self.value_of(key.as_str(), raw);
            if let Some(nested) = figment::util::nest(key.as_str(), value).into_dict() {
                merge_into(&mut dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Adds `other` to `dict`, joining tables that both have (`NOD_A__B` and `NOD_A__C`).
fn merge_into(dict: &mut Dict, other: Dict) {
    for (key, value) in other {
        match (dict.get_mut(&key), value) {
            (Some(Value::Dict(_, mine)), Value::Dict(_, theirs)) => merge_into(mine, theirs),
            (_, value) => {
                dict.insert(key, value);
            }
        }
    }
}
