//! Checks a parsed TOML document against the lab file's JSON Schema and reports *every*
//! unknown key, wrong type, missing key and bad value at its position.
//!
//! serde stops at the first problem; people fixing a lab file want them all at once. The schema
//! is the one `labctl schema` prints, generated from the raw types, so this check and the
//! format cannot drift apart.

use serde_json::Value as Json;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, DiagnosticKind};
use super::source::{FileId, Span};
use super::suggest::{did_you_mean, one_of};

/// Walks a document against a schema, collecting diagnostics.
pub struct SchemaCheck<'a> {
    root: &'a Json,
    file: FileId,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> SchemaCheck<'a> {
    /// Checks `document` (in `file`) against `schema` and returns every problem. Unknown keys
    /// are removed from the document, so that the rest of it can still be validated.
    pub fn run(
        schema: &'a Json,
        file: FileId,
        document: &mut Spanned<DeTable<'_>>,
    ) -> Vec<Diagnostic> {
        let mut check = Self {
            root: schema,
            file,
            diagnostics: Vec::new(),
        };
        let span = document.span();
        check.table(document.get_mut(), span, schema, "");
        check.diagnostics
    }

    fn span(&self, range: std::ops::Range<usize>) -> Span {
        Span::new(self.file, range)
    }

    fn resolve(&self, schema: &'a Json) -> &'a Json {
        let mut current = schema;
        for _ in 0..32 {
            let Some(reference) = current.get("$ref").and_then(Json::as_str) else {
                return current;
            };
            let Some(name) = reference.strip_prefix("#/$defs/") else {
                return current;
            };
            match self.root.get("$defs").and_then(|defs| defs.get(name)) {
                Some(target) => current = target,
                None => return current,
            }
        }
        current
    }

    /// The alternatives of an `anyOf`/`oneOf`, without the `null` that marks an `Option`.
    fn alternatives(&self, schema: &'a Json) -> Option<Vec<&'a Json>> {
        let list = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))?
            .as_array()?;
        Some(
            list.iter()
                .map(|alternative| self.resolve(alternative))
                .filter(|alternative| alternative.get("type") != Some(&Json::from("null")))
                .collect(),
        )
    }

    fn value(&mut self, value: &mut Spanned<DeValue<'_>>, schema: &'a Json, path: &str) {
        let schema = self.resolve(schema);
        if schema == &Json::Bool(true) {
            return;
        }
        if let Some(alternatives) = self.alternatives(schema) {
            self.one_of(value, &alternatives, path);
            return;
        }
        let found = type_name(value.get_ref());
        if let Some(expected) = schema.get("type")
            && !type_matches(expected, found)
        {
            self.diagnostics.push(
                Diagnostic::error(
                    DiagnosticKind::WrongType,
                    self.span(value.span()),
                    format!(
                        "wrong type for `{}`: expected {}, found {}",
                        display_path(path),
                        describe_types(expected),
                        article(found)
                    ),
                )
                .with_label(format!("expected {}", describe_types(expected))),
            );
            return;
        }
        let span = value.span();
        match value.get_mut() {
            DeValue::Table(table) => self.table(table, span, schema, path),
            DeValue::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter_mut().enumerate() {
                        self.value(item, item_schema, &format!("{path}[{index}]"));
                    }
                }
            }
            DeValue::String(text) => self.string(text, span, schema, path),
            DeValue::Integer(integer) => {
                let number = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
                self.range(number.map(|n| n as f64), span, schema, path);
            }
            DeValue::Float(float) => {
                let number = float.as_str().replace('_', "").parse::<f64>().ok();
                self.range(number, span, schema, path);
            }
            DeValue::Boolean(_) | DeValue::Datetime(_) => {}
        }
    }

    fn one_of(&mut self, value: &mut Spanned<DeValue<'_>>, alternatives: &[&'a Json], path: &str) {
        if let [only] = alternatives {
            self.value(value, only, path);
            return;
        }
        let constants: Vec<&str> = alternatives
            .iter()
            .filter_map(|alternative| alternative.get("const").and_then(Json::as_str))
            .collect();
        if constants.len() == alternatives.len() {
            match value.get_ref() {
                DeValue::String(text) => self.enum_value(text, value.span(), &constants, path),
                other => self.diagnostics.push(
                    Diagnostic::error(
                        DiagnosticKind::WrongType,
                        self.span(value.span()),
                        format!(
                            "wrong type for `{}`: expected a string, found {}",
                            display_path(path),
                            article(type_name(other))
                        ),
                    )
                    .with_label("expected a string"),
                ),
            }
            return;
        }
        let before = self.diagnostics.len();
        for alternative in alternatives {
            self.value(value, alternative, path);
            if self.diagnostics.len() == before {
                return;
            }
            self.diagnostics.truncate(before);
        }
        self.value(value, alternatives[0], path);
    }

    fn string(&mut self, text: &str, range: std::ops::Range<usize>, schema: &Json, path: &str) {
        let Some(allowed) = schema.get("enum").and_then(Json::as_array) else {
            return;
        };
        let allowed: Vec<&str> = allowed.iter().filter_map(Json::as_str).collect();
        self.enum_value(text, range, &allowed, path);
    }

    fn enum_value(
        &mut self,
        text: &str,
        range: std::ops::Range<usize>,
        allowed: &[&str],
        path: &str,
    ) {
        if allowed.contains(&text) {
            return;
        }
        self.diagnostics.push(
            Diagnostic::error(
                DiagnosticKind::InvalidValue,
                self.span(range),
                format!(
                    "invalid value `{text}` for `{}`: expected {}",
                    display_path(path),
                    one_of(allowed)
                ),
            )
            .with_label(format!("expected {}", one_of(allowed)))
            .with_optional_help(did_you_mean(text, allowed)),
        );
    }

    fn range(
        &mut self,
        number: Option<f64>,
        range: std::ops::Range<usize>,
        schema: &Json,
        path: &str,
    ) {
        let minimum = schema.get("minimum").and_then(Json::as_f64);
        let maximum = schema.get("maximum").and_then(Json::as_f64);
        let out_of_range = match number {
            None => true,
            Some(n) => minimum.is_some_and(|min| n < min) || maximum.is_some_and(|max| n > max),
        };
        if !out_of_range {
            return;
        }
        let bounds = match (minimum, maximum) {
            (Some(min), Some(max)) => format!("a number from {min} to {max}"),
            (Some(min), None) => format!("a number of at least {min}"),
            (None, Some(max)) => format!("a number of at most {max}"),
            (None, None) => "a number".to_string(),
        };
        self.diagnostics.push(
            Diagnostic::error(
                DiagnosticKind::InvalidValue,
                self.span(range),
                format!(
                    "value out of range for `{}`: expected {bounds}",
                    display_path(path)
                ),
            )
            .with_label(format!("expected {bounds}")),
        );
    }

    fn table(
        &mut self,
        table: &mut DeTable<'_>,
        range: std::ops::Range<usize>,
        schema: &'a Json,
        path: &str,
    ) {
        let properties = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        let mut unknown = Vec::new();
        for (key, value) in table.iter_mut() {
            let name = key.get_ref().as_ref();
            let child_path = join(path, name);
            if let Some(property) = properties.and_then(|properties| properties.get(name)) {
                self.value(value, property, &child_path);
                continue;
            }
            match additional {
                Some(Json::Bool(false)) => {
                    let known: Vec<&str> = properties
                        .map(|properties| properties.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    self.unknown_key(name, key.span(), path, &known);
                    unknown.push(name.to_string());
                }
                Some(Json::Bool(true)) | None => {}
                Some(value_schema) => self.value(value, value_schema, &child_path),
            }
        }
        if !unknown.is_empty() {
            let entries = std::mem::take(table);
            for (key, value) in entries {
                if !unknown
                    .iter()
                    .any(|name| name.as_str() == key.get_ref().as_ref())
                {
                    table.insert(key, value);
                }
            }
        }
        let required = schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str);
        for name in required {
            if !table.iter().any(|(key, _)| key.get_ref().as_ref() == name) {
                let place = if path.is_empty() {
                    "the lab file".to_string()
                } else {
                    format!("`{}`", display_path(path))
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        DiagnosticKind::MissingKey,
                        self.span(range.clone()),
                        format!("missing required key `{name}` in {place}"),
                    )
                    .with_label(format!("`{name}` is required here")),
                );
            }
        }
    }

    fn unknown_key(
        &mut self,
        name: &str,
        range: std::ops::Range<usize>,
        path: &str,
        known: &[&str],
    ) {
        let place = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{}`", display_path(path))
        };
        let label = did_you_mean(name, known).unwrap_or_else(|| "unknown key".to_string());
        self.diagnostics.push(
            Diagnostic::error(
                DiagnosticKind::UnknownKey,
                self.span(range),
                format!("unknown key `{name}` {place}"),
            )
            .with_label(label)
            .with_help(format!("known keys here: {}", one_of(known))),
        );
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(top level)" } else { path }
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "number",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "object",
    }
}

fn type_matches(expected: &Json, found: &str) -> bool {
    let matches = |name: &str| name == found || (name == "number" && found == "integer");
    match expected {
        Json::String(name) => matches(name),
        Json::Array(names) => names.iter().filter_map(Json::as_str).any(matches),
        _ => true,
    }
}

fn describe_types(expected: &Json) -> String {
    let names: Vec<&str> = match expected {
        Json::String(name) => vec![name.as_str()],
        Json::Array(names) => names
            .iter()
            .filter_map(Json::as_str)
            .filter(|name| *name != "null")
            .collect(),
        _ => vec![],
    };
    let described: Vec<String> = names.iter().map(|name| article(name)).collect();
    described.join(" or ")
}

fn article(type_name: &str) -> String {
    match type_name {
        "object" => "a table".to_string(),
        "array" => "an array".to_string(),
        "integer" => "an integer".to_string(),
        "number" => "a number".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "a boolean".to_string(),
        "datetime" => "a date-time".to_string(),
        other => format!("a {other}"),
    }
}
