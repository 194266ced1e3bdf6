//! IDs in URLs: `/eartag/{15 digits}`, `/iso11784/{15 digits}`, and the GS1 Digital Link
//! form `/01/{GTIN}/10/{lot}` (GTIN-8/12/13 padded to 14; the lot percent-encoded into one
//! path segment).

use agritrace::{EarTag, GtinLot, Iso11784, SubjectId};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters left as they are in a lot's path segment: GS1's unreserved set (RFC 3986
/// unreserved), the rest percent-encoded (`/` among them, so a lot stays one segment).
const LOT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a path does not name a subject (a 400 page says this).
#[derive(Debug)]
pub struct BadId(pub String);

/// The ID a page path names: `eartag/…`, `iso11784/…` or `01/…/10/…` (a leading `/` is
/// ignored; the path already percent-decoded).
///
/// # Errors
/// [`BadId`] saying what is wrong with the path or the ID in it.
pub fn from_path(path: &str) -> Result<SubjectId, BadId> {
    let path = path.trim_start_matches('/');
    let bad = |e: &dyn std::fmt::Display| BadId(e.to_string());
    if let Some(d) = path.strip_prefix("eartag/") {
        return d
            .parse::<EarTag>()
            .map(SubjectId::EarTag)
            .map_err(|e| bad(&e));
    }
    if let Some(d) = path.strip_prefix("iso11784/") {
        return d
            .parse::<Iso11784>()
            .map(SubjectId::Iso11784)
            .map_err(|e| bad(&e));
    }
    if let Some(rest) = path.strip_prefix("01/") {
        let (gtin, lot) = rest
            .split_once("/10/")
            .ok_or_else(|| BadId("a GS1 Digital Link needs /01/{GTIN}/10/{lot}".into()))?;
        return gs1(gtin, lot);
    }
    Err(BadId(
        "expected /eartag/{15 digits}, /iso11784/{15 digits} or /01/{GTIN}/10/{lot}".into(),
    ))
}

/// A GTIN (8, 12, 13 or 14 digits, padded to 14) and a lot (already percent-decoded).
///
/// # Errors
/// [`BadId`] for a GTIN of another length or a bad check digit, or a bad lot.
pub fn gs1(gtin: &str, lot: &str) -> Result<SubjectId, BadId> {
    if !matches!(gtin.len(), 8 | 12 | 13 | 14) || !gtin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadId(format!(
            "GTIN {:?} must be 8, 12, 13 or 14 digits",
            gtin.chars().take(20).collect::<String>()
        )));
    }
    let padded = format!("{gtin:0>14}/{lot}");
    padded
        .parse::<GtinLot>()
        .map(SubjectId::Lot)
        .map_err(|e| BadId(e.to_string()))
}

/// The page path of `id` (with a leading `/`).
pub fn path_of(id: &SubjectId) -> String {
    match id {
        SubjectId::Lot(l) => format!(
            "/01/{:014}/10/{}",
            l.gtin(),
            utf8_percent_encode(l.lot(), LOT)
        ),
        SubjectId::EarTag(t) => format!("/eartag/{t}"),
        SubjectId::Iso11784(c) => format!("/iso11784/{c}"),
        // A scheme added later gets no page path yet.
        other => format!("/id/{}", utf8_percent_encode(&other.to_string(), LOT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for id in [
            "eartag:161083000001001",
            "lot:06901234561111/QJ1001-B-P1",
            "lot:09506000134352/L-1/2",
        ] {
            let id: SubjectId = id.parse().unwrap_or_else(|e| unreachable!("{e}"));
            let path = path_of(&id);
            let decoded = percent_encoding::percent_decode_str(&path)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            assert_eq!(from_path(&decoded).ok(), Some(id.clone()), "{path}");
        }
        assert_eq!(
            path_of(
                &"lot:09506000134352/L-1/2"
                    .parse()
                    .unwrap_or_else(|e| unreachable!("{e}"))
            ),
            "/01/09506000134352/10/L-1%2F2"
        );
        // GTIN-13 padded to 14.
        assert_eq!(
            gs1("9506000134352", "L-1").ok().map(|s| s.to_string()),
            Some("lot:09506000134352/L-1".to_owned())
        );
        assert!(from_path("eartag/16108300000100").is_err());
        assert!(from_path("01/123/10/x").is_err());
        assert!(from_path("nothing").is_err());
    }
}
