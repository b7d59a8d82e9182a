//! A value read from the lab file together with where it was written.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

/// A value and the byte range of its text in the lab file.
///
/// It reads like the value it wraps (equality, ordering and hashing ignore the position) and it
/// is invisible in the JSON Schema, so the schema describes the file, not the parser.
#[derive(Debug, Clone)]
pub struct Sp<T> {
    value: T,
    range: Range<usize>,
}

impl<T> Sp<T> {
    /// A value at a position (used by tests and by defaults that point at their origin).
    pub fn new(value: T, range: Range<usize>) -> Self {
        Self { value, range }
    }

    /// The value.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The value, to change it where it was written (a resized replica group).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The value, consuming the wrapper.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Where the value was written.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }
}

impl<T: PartialEq> PartialEq for Sp<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Sp<T> {}

impl<T: Hash> Hash for Sp<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T: PartialOrd> PartialOrd for Sp<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Ord> Ord for Sp<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(deserializer)?;
        let range = spanned.span();
        Ok(Self {
            value: spanned.into_inner(),
            range,
        })
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}
