//! The URIs an export writes for agritrace's identifiers and names, and their inverses.

use agritrace::{GtinLot, SubjectId};

/// Percent-encodes everything but RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _ ~`),
/// byte by byte of the UTF-8.
pub fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
pub fn pct_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URI of a subject: animals as `<base>/eartag/<15 digits>` or `<base>/iso11784/<15
/// digits>` — the trace service's own page for the animal, so the identifier resolves (CBV
/// ch. 8 HTTP URLs for instances; no path segment a Digital Link normaliser would take for
/// a GS1 key) — and lots as their canonical GS1 Digital Link
/// `https://id.gs1.org/01/<GTIN-14>/10/<lot>`.
pub fn subject_uri(base: &str, s: &SubjectId) -> String {
    match s {
        SubjectId::Lot(lot) => lot_uri(lot),
        other => {
            let text = other.to_string();
            let (scheme, code) = text.split_once(':').unwrap_or(("obj", &text));
            format!("{base}/{scheme}/{code}")
        }
    }
}

fn lot_uri(lot: &GtinLot) -> String {
    format!(
        "https://id.gs1.org/01/{:014}/10/{}",
        lot.gtin(),
        pct_encode(lot.lot())
    )
}

/// The subject a URI names: an `http(s)` URI ending in `/eartag/<15 digits>` or
/// `/iso11784/<15 digits>` (any base, `…/obj/eartag/…` too), or a GS1 Digital Link or EPC
/// class of a GTIN with a lot.
///
/// # Errors
/// What is wrong with it, for the caller to report with the field.
pub fn subject_of_uri(uri: &str) -> Result<SubjectId, String> {
    if uri.starts_with("https://") || uri.starts_with("http://") {
        let mut segments = uri.rsplit('/');
        if let (Some(code), Some(scheme)) = (segments.next(), segments.next())
            && matches!(scheme, "eartag" | "iso11784")
        {
            return format!("{scheme}:{code}")
                .parse::<SubjectId>()
                .map_err(|e| format!("{uri}: {e}"));
        }
    }
    let dl = crate::dl::canonical(uri).unwrap_or_else(|| uri.to_owned());
    let Some(rest) = dl.strip_prefix("https://id.gs1.org/01/") else {
        return Err(format!(
            "{uri} is neither an animal (…/eartag/<15 digits>, …/iso11784/<15 digits>) nor a GTIN with a lot"
        ));
    };
    let (gtin, lot) = rest.split_once("/10/").ok_or_else(|| {
        format!("{uri} names a GTIN without a lot (/10/…); agritrace traces lots")
    })?;
    let lot = pct_decode(lot).ok_or_else(|| format!("{uri}: broken percent-escape in the lot"))?;
    let gtin: u64 = gtin
        .parse()
        .map_err(|_| format!("{uri}: the GTIN is not 14 digits"))?;
    GtinLot::new(gtin, &lot)
        .map(SubjectId::from)
        .map_err(|e| format!("{uri}: {e}"))
}

/// `<base>/<kind>/<percent-encoded name>`, for sites, parties, devices and certificates.
pub fn name_uri(base: &str, kind: &str, name: &str) -> String {
    format!("{base}/{kind}/{}", pct_encode(name))
}

/// The name in a `…/<kind>/<name>` URI, decoded; any other URI is its own name.
pub fn name_of_uri(uri: &str, kind: &str) -> String {
    let marker = format!("/{kind}/");
    uri.rfind(&marker)
        .and_then(|i| pct_decode(&uri[i + marker.len()..]))
        .unwrap_or_else(|| uri.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip_through_their_uris() {
        for s in [
            "eartag:161083000000042",
            "iso11784:156000012345678",
            "lot:06901234561111/QJ1001-B-P1",
            "lot:06901234561111/A!(x)*,'+",
        ] {
            let id: SubjectId = s.parse().expect("id");
            let uri = subject_uri("https://trace.example.cn", &id);
            assert_eq!(subject_of_uri(&uri).expect(&uri), id, "{uri}");
            assert_eq!(
                crate::dl::canonical(&uri).unwrap_or_else(|| uri.clone()),
                uri,
                "the hash leaves {uri} alone"
            );
        }
        assert!(subject_of_uri("https://x.cn/obj/cow/1").is_err());
        assert_eq!(
            subject_of_uri("https://x.cn/obj/eartag/161083000000042")
                .expect("obj form")
                .to_string(),
            "eartag:161083000000042"
        );
        assert!(subject_of_uri("urn:uuid:1").is_err());
        assert_eq!(
            name_of_uri(
                &name_uri("https://x", "loc", "Suide abattoir 屠宰场"),
                "loc"
            ),
            "Suide abattoir 屠宰场"
        );
        assert_eq!(pct_decode("%E4%B8"), None);
        assert_eq!(pct_decode("%G0"), None);
    }
}
