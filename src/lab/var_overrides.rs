//! Values for a lab's `[vars]` given on the command line (`--var KEY=VALUE`, `--vars FILE`):
//! typed as TOML values, checked against the keys and types the lab file declares.

use indexmap::IndexMap;
use serde_json::Value;

/// Overrides in the order given; a later one of a key wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VarOverrides {
    values: Vec<Override>,
}

/// One value and where it was given (`--var discovery=consul`, `vars.toml`).
#[derive(Debug, Clone, PartialEq)]
struct Override {
    key: String,
    value: Value,
    origin: String,
}

impl VarOverrides {
    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds `KEY=VALUE`: VALUE is read as a TOML value (`5000`, `true`, `"x"`, `[1, 2]`), and as
    /// a string when it is not one (`--var discovery=consul`).
    pub fn add_assignment(&mut self, assignment: &str) -> Result<(), String> {
        let Some((key, text)) = assignment.split_once('=') else {
            return Err(format!(
                "`--var {assignment}`: expected KEY=VALUE, e.g. `--var discovery=zookeeper`"
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("`--var {assignment}`: the key is empty"));
        }
        let value = toml::from_str::<toml::Table>(&format!("value = {text}"))
            .ok()
            .and_then(|mut table| table.remove("value"))
            .and_then(|value| serde_json::to_value(value).ok())
            .unwrap_or_else(|| Value::String(text.to_string()));
        self.values.push(Override {
            key: key.to_string(),
            value,
            origin: format!("--var {assignment}"),
        });
        Ok(())
    }

    /// Adds every key of a TOML file of vars (`discovery = "zookeeper"`).
    pub fn add_file(&mut self, name: &str, text: &str) -> Result<(), String> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|error| format!("`--vars {name}`: {}", error.message()))?;
        for (key, value) in table {
            let value =
                serde_json::to_value(value).map_err(|error| format!("`--vars {name}`: {error}"))?;
            self.values.push(Override {
                key,
                value,
                origin: name.to_string(),
            });
        }
        Ok(())
    }

    /// Applies the overrides to a lab's declared vars: each key must be declared, and its new
    /// value of the declared type (integers and floats are both numbers).
    pub fn apply(&self, lab: &str, vars: &mut IndexMap<String, Value>) -> Result<(), String> {
        for given in &self.values {
            let Some(declared) = vars.get(&given.key) else {
                let known: Vec<&str> = vars.keys().map(String::as_str).collect();
                let hint = super::suggest::did_you_mean(&given.key, &known)
                    .map(|hint| format!("; {hint}"))
                    .unwrap_or_else(|| {
                        if known.is_empty() {
                            String::new()
                        } else {
                            format!("; its vars are {}", super::suggest::one_of(known.iter()))
                        }
                    });
                return Err(format!(
                    "`{}`: lab `{lab}` has no var `{}` in [vars]{hint}",
                    given.origin, given.key
                ));
            };
            if kind(declared) != kind(&given.value) {
                return Err(format!(
                    "`{}`: `{}` is {} in the lab file, not {}",
                    given.origin,
                    given.key,
                    kind(declared),
                    kind(&given.value)
                ));
            }
            vars.insert(given.key.clone(), given.value.clone());
        }
        Ok(())
    }
}

/// A value's kind in words.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> IndexMap<String, Value> {
        let mut vars = IndexMap::new();
        vars.insert("discovery".into(), Value::String("etcd".into()));
        vars.insert("app_port".into(), serde_json::json!(5000));
        vars
    }

    #[test]
    fn values_are_typed_as_toml_and_checked_against_the_lab() {
        let mut overrides = VarOverrides::default();
        overrides.add_assignment("discovery=zookeeper").unwrap();
        overrides.add_assignment("app_port=8080").unwrap();
        let mut applied = vars();
        overrides.apply("exam3", &mut applied).unwrap();
        assert_eq!(applied["discovery"], "zookeeper");
        assert_eq!(applied["app_port"], 8080);

        let mut wrong = VarOverrides::default();
        wrong.add_assignment("app_port=eighty").unwrap();
        assert_eq!(
            wrong.apply("exam3", &mut vars()).unwrap_err(),
            "`--var app_port=eighty`: `app_port` is a number in the lab file, not a string"
        );
        let mut unknown = VarOverrides::default();
        unknown.add_assignment("discovry=consul").unwrap();
        let error = unknown.apply("exam3", &mut vars()).unwrap_err();
        assert!(
            error.contains("lab `exam3` has no var `discovry`") && error.contains("`discovery`"),
            "{error}"
        );
        assert!(VarOverrides::default().add_assignment("novalue").is_err());
    }

    #[test]
    fn a_vars_file_is_read_and_later_values_win() {
        let mut overrides = VarOverrides::default();
        overrides
            .add_file("vars.toml", "discovery = \"consul\"\napp_port = 7000\n")
            .unwrap();
        overrides.add_assignment("discovery=zookeeper").unwrap();
        let mut applied = vars();
        overrides.apply("exam3", &mut applied).unwrap();
        assert_eq!(applied["discovery"], "zookeeper");
        assert_eq!(applied["app_port"], 7000);
        assert!(overrides.add_file("bad.toml", "= oops").is_err());
    }
}
