//! The EPCIS 2.0 JSON-LD context, read once: the standard prefixes and the CBV bare words
//! (business steps, dispositions, transaction, source/destination and error types, and
//! GS1 measurement types) that a document may use without a URI.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::Value;

/// The EPCIS 2.0 JSON-LD context as GS1 publishes it (`data/LICENSES` for its terms).
pub const EPCIS_CONTEXT_JSONLD: &str = include_str!("../data/epcis-context-2.0.0.jsonld");

/// The URL a document names to use the standard context.
pub const EPCIS_CONTEXT_URL: &str =
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Where CBV bare words expand to.
pub const CBV_BASE: &str = "https://ref.gs1.org/cbv/";

/// Where GS1 Web Vocabulary words (measurement types, `ALARM_CONDITION`) expand to in the
/// hash (NOTES §a.8: the current reference writes `ref.gs1.org`).
pub const GS1_VOC_BASE: &str = "https://ref.gs1.org/voc/";

/// A vocabulary with bare words: the words, and the prefix each expands with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vocab {
    /// `bizStep`: `BizStep-`.
    BizStep,
    /// `disposition` and `persistentDisposition`: `Disp-`.
    Disposition,
    /// `bizTransactionList[].type`: `BTT-`.
    BizTransactionType,
    /// `sourceList[].type`, `destinationList[].type`: `SDT-`.
    SourceDestType,
    /// `errorDeclaration.reason`: `ER-`.
    ErrorReason,
}

impl Vocab {
    /// The CBV term prefix, e.g. `BizStep-`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::BizStep => "BizStep-",
            Self::Disposition => "Disp-",
            Self::BizTransactionType => "BTT-",
            Self::SourceDestType => "SDT-",
            Self::ErrorReason => "ER-",
        }
    }

    /// The old URN form's prefix, e.g. `urn:epcglobal:cbv:bizstep:`.
    pub fn urn_prefix(self) -> &'static str {
        match self {
            Self::BizStep => "urn:epcglobal:cbv:bizstep:",
            Self::Disposition => "urn:epcglobal:cbv:disp:",
            Self::BizTransactionType => "urn:epcglobal:cbv:btt:",
            Self::SourceDestType => "urn:epcglobal:cbv:sdt:",
            Self::ErrorReason => "urn:epcglobal:cbv:er:",
        }
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::BizStep => "business step",
            Self::Disposition => "disposition",
            Self::BizTransactionType => "business transaction type",
            Self::SourceDestType => "source/destination type",
            Self::ErrorReason => "error reason",
        }
    }

    /// Whether `word` is one of this vocabulary's bare words.
    pub fn has(self, word: &str) -> bool {
        tables().words(self).contains(word)
    }
}

pub(crate) struct Tables {
    biz_steps: BTreeSet<String>,
    dispositions: BTreeSet<String>,
    btt: BTreeSet<String>,
    sdt: BTreeSet<String>,
    er: BTreeSet<String>,
    measurements: BTreeSet<String>,
    /// Prefix → IRI from the standard context (`cbvmda` → `urn:epcglobal:cbv:mda:`).
    pub(crate) prefixes: BTreeMap<String, String>,
}

impl Tables {
    fn words(&self, v: Vocab) -> &BTreeSet<String> {
        match v {
            Vocab::BizStep => &self.biz_steps,
            Vocab::Disposition => &self.dispositions,
            Vocab::BizTransactionType => &self.btt,
            Vocab::SourceDestType => &self.sdt,
            Vocab::ErrorReason => &self.er,
        }
    }
}

/// Whether `word` is a GS1 measurement type (`Mass`, `Count`, `Temperature`, …).
pub fn is_measurement_type(word: &str) -> bool {
    tables().measurements.contains(word)
}

pub(crate) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        // The context is compiled in and checked by the tests; a parse failure would leave
        // the tables empty, which every vocabulary test would catch.
        let ctx: Value = serde_json::from_str(EPCIS_CONTEXT_JSONLD).unwrap_or(Value::Null);
        let root = &ctx["@context"];
        let keys = |v: &Value| -> BTreeSet<String> {
            v.as_object()
                .map(|m| m.keys().filter(|k| !k.starts_with('@')).cloned().collect())
                .unwrap_or_default()
        };
        let list_type = |list: &str| keys(&root[list]["@context"]["type"]["@context"]);
        let prefixes = root
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        let iri = v.as_str()?;
                        (iri.ends_with(':') || iri.ends_with('/') || iri.ends_with('#'))
                            .then(|| (k.clone(), iri.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Tables {
            biz_steps: keys(&root["bizStep"]["@context"]),
            dispositions: keys(&root["disposition"]["@context"]),
            btt: list_type("bizTransactionList"),
            sdt: list_type("sourceList"),
            er: keys(&root["errorDeclaration"]["@context"]["reason"]["@context"]),
            measurements: keys(
                &root["sensorElementList"]["@context"]["sensorReport"]["@context"]["type"]
                    ["@context"],
            ),
            prefixes,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_gives_every_vocabulary() {
        let t = tables();
        assert_eq!(t.biz_steps.len(), 41);
        assert_eq!(t.dispositions.len(), 33);
        assert!(t.btt.contains("po") && t.btt.contains("desadv"));
        assert_eq!(t.sdt.len(), 3);
        assert!(t.er.contains("incorrect_data"));
        assert!(is_measurement_type("Mass") && is_measurement_type("Count"));
        assert!(!is_measurement_type("Weight"));
        assert_eq!(t.prefixes["cbvmda"], "urn:epcglobal:cbv:mda:");
        assert!(Vocab::BizStep.has("sensor_reporting") && !Vocab::BizStep.has("slaughtering"));
    }
}
