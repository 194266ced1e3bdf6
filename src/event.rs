//! Domain events: what happened to a subject, in integer units only.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::TextError;
use crate::id::{Species, SubjectId};
use crate::inline::{self, InlineStr};
use crate::record::id::RecordId;
use crate::time::Day;

/// Maximum length of a [`Text`] field, in UTF-8 bytes.
pub const MAX_TEXT_LEN: usize = 96;

/// Maximum number of parents one [`Event::Transformation`] may name.
pub const MAX_PARENTS: usize = 64;

/// A short, validated text field (names, products, sites): 1–96 UTF-8 bytes, no control
/// characters.
///
/// # Example
/// ```
/// use agritrace::Text;
/// let breed = Text::new("Bamei 八眉猪")?;
/// assert_eq!(breed.as_str(), "Bamei 八眉猪");
/// assert!(Text::new("").is_err());
/// # Ok::<(), agritrace::TextError>(())
/// ```
// Invariant: 1..=MAX_TEXT_LEN bytes, no char for which `char::is_control` or `is_invisible`
// holds. Kept
// inline, so decoding a record allocates nothing for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(InlineStr<MAX_TEXT_LEN>);

impl Text {
    /// Validates and copies `s`.
    ///
    /// # Errors
    /// [`TextError`] when `s` is empty, longer than [`MAX_TEXT_LEN`] bytes, or holds a control
    /// character or an invisible formatting character (bidi overrides and isolates,
    /// zero-width characters), which could make a printed name read as another.
    pub fn new(s: &str) -> Result<Self, TextError> {
        if s.is_empty() {
            return Err(TextError::Empty);
        }
        let Some(text) = InlineStr::new(s) else {
            return Err(TextError::TooLong(s.len()));
        };
        if let Some(position) = s
            .char_indices()
            .find(|(_, c)| c.is_control())
            .map(|(i, _)| i)
        {
            return Err(TextError::ControlCharacter { position });
        }
        if let Some((position, ch)) = s.char_indices().find(|(_, c)| is_invisible(*c)) {
            return Err(TextError::InvisibleCharacter { position, ch });
        }
        Ok(Self(text))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Formatting characters that change how text around them is shown without being seen
/// themselves: bidi marks, embeddings, overrides and isolates (a party name that renders
/// reversed), and zero-width characters (two names that look the same).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

impl TryFrom<String> for Text {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        Self::new(&s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_owned()
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        inline::deserialize_str_with(d, "a text field", Self::new)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sex of an animal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Sex {
    /// Female (gilt or sow).
    Female,
    /// Intact male (boar).
    Male,
    /// Castrated male (barrow).
    Castrated,
}

/// Kind of device attached to an animal or site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeviceKind {
    /// A pedometer (step counter) read through a gateway.
    Pedometer,
    /// An RFID ear tag transponder.
    RfidTag,
    /// A weighing scale.
    Scale,
}

/// Kind of veterinary treatment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TreatmentKind {
    /// A vaccination.
    Vaccination,
    /// A medication (antibiotic, antiparasitic, …).
    Medication,
}

/// Kind of official check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum InspectionKind {
    /// A routine or pre-movement inspection.
    Inspection,
    /// Quarantine: the subject is isolated until a later passing inspection.
    Quarantine,
    /// Ante- or post-mortem meat inspection.
    MeatInspection,
}

/// Outcome of an inspection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum InspectionResult {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Samples taken; result to follow in a later record.
    Pending,
}

/// Kind of recall action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RecallKind {
    /// Withdraw from sale and return.
    Recall,
    /// Hold: do not move or sell until released.
    Hold,
    /// Release a hold.
    Release,
}

/// Why a chain ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EndReason {
    /// The animal was slaughtered (its products continue as lots).
    Slaughtered,
    /// The animal died.
    Died,
    /// The animal was culled.
    Culled,
    /// The lot was sold to a final consumer or used up.
    Consumed,
    /// The lot was merged into another and continues there.
    Merged,
}

/// A pointer from a record to a record of another subject: the parent's subject and the
/// ID of the exact parent record, so a trace can walk across subjects and check both ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageRef {
    /// The parent subject.
    pub subject: SubjectId,
    /// The parent record this one derives from.
    pub record: RecordId,
}

/// Registration of an animal: the first record of its chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Species (must agree with the ear tag's species digit).
    pub species: Species,
    /// Breed, e.g. `Bamei`, `Guanzhong Black`, `DLY`.
    pub breed: Text,
    /// Sex.
    pub sex: Sex,
    /// Date of birth.
    pub birth_date: Day,
    /// Farm or site where the animal was born.
    pub origin_site: Text,
    /// Mother, when known.
    pub dam: Option<SubjectId>,
    /// Father, when known.
    pub sire: Option<SubjectId>,
}

/// What happened to a subject. Closed set; units are integers (grams, days, steps).
///
/// In JSON (docs/EVENTS.md) an event is an object with one key, the variant's name, whose
/// value holds its fields: `{"Weighing": {"grams": 95000}}`. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub enum Event {
    /// An animal is registered (breed, sex, birth date, origin, parents). Boxed: it is the
    /// largest event and occurs once per chain, so every other record stays small.
    Registration(Box<Registration>),
    /// A device is attached to the subject.
    DeviceAttached {
        /// Device serial.
        device: Text,
        /// Kind of device.
        kind: DeviceKind,
    },
    /// A device is removed.
    DeviceDetached {
        /// Device serial.
        device: Text,
    },
    /// A weighing.
    Weighing {
        /// Live weight in grams.
        grams: u32,
    },
    /// Steps counted on one day by a named device.
    DailyActivity {
        /// The day counted.
        day: Day,
        /// Steps that day.
        steps: u32,
        /// Device serial.
        device: Text,
    },
    /// Feed given.
    Feeding {
        /// Feed kind, e.g. `finisher pellets`, `corn + soybean meal`.
        feed: Text,
        /// Amount in grams.
        grams: u32,
    },
    /// A vaccination or medication.
    Treatment {
        /// Vaccination or medication.
        kind: TreatmentKind,
        /// Product name.
        product: Text,
        /// Days after this record before slaughter or sale is allowed.
        withdrawal_days: u16,
    },
    /// An inspection or quarantine.
    Inspection {
        /// Kind of check.
        kind: InspectionKind,
        /// Outcome.
        result: InspectionResult,
        /// Certificate number, when one was issued.
        certificate: Option<Text>,
    },
    /// A move between sites.
    Move {
        /// Site left.
        from_site: Text,
        /// Site reached.
        to_site: Text,
    },
    /// Custody passes to another party.
    CustodyTransfer {
        /// The receiving party.
        to_party: Text,
    },
    /// The animal is slaughtered.
    Slaughter {
        /// Carcass weight in grams.
        carcass_grams: u32,
    },
    /// This subject is derived from parent records (pig → cuts → packs; lots → blend).
    Transformation {
        /// Parent records, 1 to [`MAX_PARENTS`].
        parents: Vec<LineageRef>,
        /// Product description, e.g. `pork belly`.
        product: Text,
        /// Net weight in grams.
        grams: u64,
    },
    /// The subject is put into a container (pallet, crate) whose chain records it.
    Aggregation {
        /// The container's record this aggregation happened at.
        container: LineageRef,
    },
    /// The subject is taken out of a container.
    Disaggregation {
        /// The container's record this disaggregation happened at.
        container: LineageRef,
    },
    /// A harvest that starts a produce lot (chestnuts, apples, honey).
    Harvest {
        /// Crop or product, e.g. `chestnuts`.
        crop: Text,
        /// Orchard, apiary or field.
        site: Text,
        /// Harvested weight in grams.
        grams: u64,
    },
    /// A sale.
    Sale {
        /// Buyer.
        buyer: Text,
        /// Price in fen (0.01 CNY).
        price_fen: u64,
    },
    /// A recall, hold or release.
    Recall {
        /// Recall, hold or release.
        kind: RecallKind,
        /// Why.
        reason: Text,
    },
    /// Closes the chain: nothing may be appended after it.
    EndOfChain {
        /// Why the chain ends.
        reason: EndReason,
    },
}

/// Declares [`EventKind`] and [`EventKind::ALL`] from one list, so the two cannot differ.
macro_rules! event_kinds {
    ($($kind:ident),* $(,)?) => {
        /// The kind of an [`Event`], without its data: what a [`Policy`](crate::Policy) talks
        /// about.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        #[allow(
            missing_docs,
            reason = "each variant names the Event variant of the same name"
        )]
        pub enum EventKind {
            $($kind),*
        }

        impl EventKind {
            /// Every kind, in declaration order.
            pub const ALL: [EventKind; 18] = [$(Self::$kind),*];
        }
    };
}

event_kinds!(
    Registration,
    DeviceAttached,
    DeviceDetached,
    Weighing,
    DailyActivity,
    Feeding,
    Treatment,
    Inspection,
    Move,
    CustodyTransfer,
    Slaughter,
    Transformation,
    Aggregation,
    Disaggregation,
    Harvest,
    Sale,
    Recall,
    EndOfChain
);

impl EventKind {
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Event {
    /// The kind of this event.
    #[must_use]
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Registration(_) => EventKind::Registration,
            Self::DeviceAttached { .. } => EventKind::DeviceAttached,
            Self::DeviceDetached { .. } => EventKind::DeviceDetached,
            Self::Weighing { .. } => EventKind::Weighing,
            Self::DailyActivity { .. } => EventKind::DailyActivity,
            Self::Feeding { .. } => EventKind::Feeding,
            Self::Treatment { .. } => EventKind::Treatment,
            Self::Inspection { .. } => EventKind::Inspection,
            Self::Move { .. } => EventKind::Move,
            Self::CustodyTransfer { .. } => EventKind::CustodyTransfer,
            Self::Slaughter { .. } => EventKind::Slaughter,
            Self::Transformation { .. } => EventKind::Transformation,
            Self::Aggregation { .. } => EventKind::Aggregation,
            Self::Disaggregation { .. } => EventKind::Disaggregation,
            Self::Harvest { .. } => EventKind::Harvest,
            Self::Sale { .. } => EventKind::Sale,
            Self::Recall { .. } => EventKind::Recall,
            Self::EndOfChain { .. } => EventKind::EndOfChain,
        }
    }

    /// The records of other subjects this event derives from or points at.
    #[must_use]
    pub fn lineage(&self) -> &[LineageRef] {
        match self {
            Self::Transformation { parents, .. } => parents,
            Self::Aggregation { container } | Self::Disaggregation { container } => {
                std::slice::from_ref(container)
            }
            _ => &[],
        }
    }

    /// Checks rules a single field cannot express: parent counts, species agreement.
    pub(crate) fn check(&self, subject: &SubjectId) -> Result<(), &'static str> {
        match self {
            Self::Registration(r) => match subject.species() {
                Some(s) if s != r.species => {
                    Err("registration species disagrees with the ear tag's species digit")
                }
                _ => Ok(()),
            },
            Self::Transformation { parents, .. } if parents.is_empty() => {
                Err("transformation names no parent")
            }
            Self::Transformation { parents, .. } if parents.len() > MAX_PARENTS => {
                Err("transformation names more than 64 parents")
            }
            _ => {
                if self.lineage().iter().any(|p| &p.subject == subject) {
                    Err("lineage reference points at the record's own subject")
                } else {
                    Ok(())
                }
            }
        }
    }
}
