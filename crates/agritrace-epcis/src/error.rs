//! What is wrong with a document, where, and under which rule.

use std::fmt;

/// The rule a document or event breaks. Each invalid example in the test data breaks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Not a JSON document, or larger or deeper than the reader accepts.
    Json,
    /// A value has the wrong JSON type (an object where a string belongs, …).
    Shape,
    /// A required field is missing (`@context`, `type`, `schemaVersion`, `creationDate`,
    /// `epcisBody.eventList`, `eventTime`, `eventTimeZoneOffset`, …).
    Required,
    /// A timestamp is not an RFC 3339 date-time with a zone.
    DateTime,
    /// `eventTimeZoneOffset` is not `±HH:MM` within −14:00 … +14:00.
    TimeZoneOffset,
    /// `action` is missing or not `OBSERVE`, `ADD` or `DELETE`.
    Action,
    /// An `ObjectEvent` names no object: no `epcList`, `quantityList` or sensor data.
    NoObject,
    /// An `AggregationEvent` without children whose action is not `DELETE`.
    NoChildren,
    /// A `TransformationEvent` without inputs and outputs (and no `transformationID`).
    TransformationSides,
    /// A key that is neither an EPCIS field nor a namespaced extension.
    UnknownField,
    /// A CURIE prefix no `@context` declares, or an ILMD key without a namespace.
    Namespace,
    /// A `bizStep`, `disposition` or list `type` that is not a CBV bare word or a non-CBV
    /// URI (JSON must use the bare words).
    Vocabulary,
    /// A measurement `type` that is neither a GS1 word nor a non-gs1.org URI.
    MeasurementType,
    /// A quantity element with unknown keys or a quantity that is not a number.
    QuantityElement,
    /// A `uom` that is not a UN/ECE Rec 20 code (`^[A-Z0-9]{2,3}$`).
    Uom,
    /// The same identifier twice in one `epcList`.
    DuplicateEpc,
    /// `persistentDisposition` on an event type that cannot carry it.
    PersistentDisposition,
    /// A value that must be a URI is not one (`certificationInfo`, identifiers, …).
    Uri,
    /// A time with more than millisecond precision (agritrace stores milliseconds).
    Precision,
    /// An event that agritrace cannot represent, or whose values agritrace refuses.
    Agritrace,
    /// An event whose carried agritrace record disagrees with it, or does not verify.
    Record,
}

impl Rule {
    /// A short name for the rule, as messages print it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::Shape => "shape",
            Self::Required => "required field",
            Self::DateTime => "date-time format",
            Self::TimeZoneOffset => "time zone offset",
            Self::Action => "action",
            Self::NoObject => "ObjectEvent needs epcList, quantityList or sensor data",
            Self::NoChildren => "AggregationEvent needs children",
            Self::TransformationSides => "TransformationEvent needs inputs and outputs",
            Self::UnknownField => "unknown field",
            Self::Namespace => "namespace",
            Self::Vocabulary => "CBV vocabulary",
            Self::MeasurementType => "measurement type",
            Self::QuantityElement => "quantity element",
            Self::Uom => "unit of measure",
            Self::DuplicateEpc => "duplicate EPC",
            Self::PersistentDisposition => "persistentDisposition",
            Self::Uri => "URI",
            Self::Precision => "millisecond precision",
            Self::Agritrace => "agritrace mapping",
            Self::Record => "agritrace record",
        }
    }
}

/// A document or event refused: where (a JSON path such as `eventList[2].bizStep`), which
/// rule, and what exactly.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Invalid {
    /// Where, as a path into the document.
    pub path: String,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong.
    pub message: String,
}

impl Invalid {
    /// A refusal at `path` under `rule`.
    pub fn new(path: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            rule,
            message: message.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "document"
        } else {
            &self.path
        };
        write!(f, "{path}: {} [rule: {}]", self.message, self.rule.name())
    }
}
