//! GS1 EPCIS 2.0 for agritrace: the CBV event hash, export of a ledger as EPCIS 2.0 JSON-LD
//! with each event's signed record carried along, and import of partner documents.
//!
//! - [`Document`] reads a document from untrusted bytes (bounded size and depth) and
//!   computes each event's CBV hash ([`CbvVersion`] 2.0 or 2.1, [`hash`]).
//! - [`validate`] enforces the EPCIS 2.0 rules a reader must ([`Rule`]).
//! - [`Exporter`] writes records as a document; [`import()`] reads one back into records.
//! - [`documentation`] has the mapping table and every rule (`docs/EPCIS.md`).
//!
//! # Example
//! ```
//! use agritrace_epcis::{CbvVersion, Document};
//! let doc = Document::from_slice(br#"{
//!   "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
//!   "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2020-03-04T11:00:30.000Z",
//!   "epcisBody": {"eventList": [{
//!     "type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30.000+01:00",
//!     "eventTimeZoneOffset": "+01:00", "epcList": ["urn:epc:id:sscc:4001356.5900000817"],
//!     "action": "OBSERVE", "bizStep": "departing", "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"}
//!   }]}}"#)?;
//! agritrace_epcis::validate::validate(&doc)?;
//! let hashes = doc.hashes(CbvVersion::V2_0)?;
//! assert!(hashes[0].starts_with("ni:///sha-256;") && hashes[0].ends_with("?ver=CBV2.0"));
//! # Ok::<(), agritrace_epcis::Invalid>(())
//! ```

pub mod dl;
mod doc;
mod error;
pub mod export;
pub mod hash;
pub mod import;
pub mod norm;
pub mod uri;
pub mod validate;
pub mod vocab;

pub use crate::doc::{Document, MAX_DOCUMENT_LEN, MAX_OBJECTS, MAX_VALUES};
pub use crate::error::{Invalid, Rule};
pub use crate::export::{Exporter, Profile};
pub use crate::hash::{CbvVersion, Namespaces};
pub use crate::import::{ImportError, Imported, import};

/// How deep extension values may nest (the JSON reader stops at 128 levels already).
pub const MAX_DEPTH: usize = 128;

/// The EPCIS mapping, the hash's choices and the import rules (`docs/EPCIS.md`).
#[allow(clippy::doc_markdown, reason = "prose rendered from docs/EPCIS.md")]
#[doc = include_str!("../../../docs/EPCIS.md")]
pub mod documentation {}
