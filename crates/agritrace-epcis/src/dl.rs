//! GS1 identifiers in the one form the CBV event hash compares: EPC URNs
//! (`urn:epc:id:…`, `urn:epc:class:lgtin:…`, `urn:epc:idpat:…`) and any GS1 Digital Link
//! become the canonical Digital Link on `id.gs1.org`, with check digits computed, short
//! names replaced by application identifiers, GTINs padded to 14 digits, CPV dropped, the
//! lot dropped beside a serial, and no query (NOTES §a.8).

/// The canonical Digital Link for `uri`, or `None` when it is neither an EPC URN nor a
/// Digital Link of a GS1 key (it is then compared as it is).
///
/// # Example
/// ```
/// use agritrace_epcis::dl::canonical;
/// assert_eq!(
///     canonical("urn:epc:class:lgtin:4012345.012345.998877").as_deref(),
///     Some("https://id.gs1.org/01/04012345123456/10/998877")
/// );
/// assert_eq!(
///     canonical("https://example.org/gtin/4012345123456/lot/A1/ser/7?x=1").as_deref(),
///     Some("https://id.gs1.org/01/04012345123456/21/7")
/// );
/// assert_eq!(canonical("urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8"), None);
/// ```
pub fn canonical(uri: &str) -> Option<String> {
    if let Some(rest) = uri.strip_prefix("urn:epc:id:") {
        epc_id(rest)
    } else if let Some(rest) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let [gcp, item, lot] = parts::<3>(rest)?;
        Some(format!(
            "{ORIGIN}/01/{}/10/{}",
            gtin(gcp, item)?,
            serial(lot, 20)?
        ))
    } else if let Some(rest) = uri.strip_prefix("urn:epc:idpat:") {
        epc_pattern(rest)
    } else if uri.starts_with("https://") || uri.starts_with("http://") {
        digital_link(uri)
    } else {
        None
    }
}

const ORIGIN: &str = "https://id.gs1.org";

/// The GS1 mod-10 check digit of `digits`, which are ASCII digits (every caller checks):
/// weights 3, 1, 3, … from the right.
fn check_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    char::from(b'0' + u8::try_from((10 - sum % 10) % 10).unwrap_or(0))
}

fn with_check(digits: String) -> String {
    let c = check_digit(&digits);
    let mut s = digits;
    s.push(c);
    s
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `s` at dots into exactly `N` parts; the last takes the rest (serials may hold dots).
fn parts<const N: usize>(s: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    let mut rest = s;
    for slot in out.iter_mut().take(N - 1) {
        let (a, b) = rest.split_once('.')?;
        *slot = a;
        rest = b;
    }
    out[N - 1] = rest;
    Some(out)
}

/// A company prefix (6–12 digits) and a reference of digits that together make `total`.
fn prefix_and_ref<'a>(
    gcp: &'a str,
    reference: &'a str,
    total: usize,
) -> Option<(&'a str, &'a str)> {
    let ok = (6..=12).contains(&gcp.len())
        && all_digits(gcp)
        && gcp.len() + reference.len() == total
        && reference.bytes().all(|b| b.is_ascii_digit());
    ok.then_some((gcp, reference))
}

/// GTIN-14 from an SGTIN-style company prefix and indicator + item reference.
fn gtin(gcp: &str, item: &str) -> Option<String> {
    let (gcp, item) = prefix_and_ref(gcp, item, 13)?;
    let (indicator, item) = item.split_at(1);
    Some(with_check(format!("{indicator}{gcp}{item}")))
}

/// Company prefix + reference of `total` digits, with its check digit.
fn keyed(gcp: &str, reference: &str, total: usize) -> Option<String> {
    let (gcp, reference) = prefix_and_ref(gcp, reference, total)?;
    Some(with_check(format!("{gcp}{reference}")))
}

/// A serial or lot as EPC URNs allow it (GS1 AI set 82 and `%` escapes), 1 to `max` long.
fn serial(s: &str, max: usize) -> Option<&str> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!'()*+,-.:;=_%".contains(&b));
    ok.then_some(s)
}

fn alnum_ref(gcp: &str, rest: &str, max: usize) -> Option<String> {
    let ok = (6..=12).contains(&gcp.len()) && all_digits(gcp);
    ok.then_some(())?;
    Some(format!(
        "{gcp}{}",
        serial(rest, max.checked_sub(gcp.len())?)?
    ))
}

fn epc_id(s: &str) -> Option<String> {
    let (scheme, body) = s.split_once(':')?;
    let out = match scheme {
        "sgtin" => {
            let [gcp, item, ser] = parts::<3>(body)?;
            format!("01/{}/21/{}", gtin(gcp, item)?, serial(ser, 20)?)
        }
        "sscc" => {
            let [gcp, reference] = parts::<2>(body)?;
            let (gcp, reference) = prefix_and_ref(gcp, reference, 17)?;
            let (ext, reference) = reference.split_at(1);
            format!("00/{}", with_check(format!("{ext}{gcp}{reference}")))
        }
        "sgln" => {
            let [gcp, loc, ext] = parts::<3>(body)?;
            let gln = keyed(gcp, loc, 12)?;
            match serial(ext, 20)? {
                "0" => format!("414/{gln}"),
                ext => format!("414/{gln}/254/{ext}"),
            }
        }
        "grai" => {
            let [gcp, asset, ser] = parts::<3>(body)?;
            format!("8003/0{}{}", keyed(gcp, asset, 12)?, serial(ser, 16)?)
        }
        "giai" => {
            let [gcp, asset] = parts::<2>(body)?;
            format!("8004/{}", alnum_ref(gcp, asset, 30)?)
        }
        "gsrn" | "gsrnp" => {
            let [gcp, reference] = parts::<2>(body)?;
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            format!("{ai}/{}", keyed(gcp, reference, 17)?)
        }
        "gdti" => {
            let [gcp, doc, ser] = parts::<3>(body)?;
            format!("253/{}{}", keyed(gcp, doc, 12)?, serial(ser, 17)?)
        }
        "cpi" => {
            let (head, ser) = body.rsplit_once('.')?;
            let [gcp, part] = parts::<2>(head)?;
            all_digits(ser).then_some(())?;
            format!("8010/{}/8011/{ser}", alnum_ref(gcp, part, 30)?)
        }
        "sgcn" => {
            let [gcp, coupon, ser] = parts::<3>(body)?;
            all_digits(ser).then_some(())?;
            format!("255/{}{ser}", keyed(gcp, coupon, 12)?)
        }
        "ginc" => {
            let [gcp, consignment] = parts::<2>(body)?;
            format!("401/{}", alnum_ref(gcp, consignment, 30)?)
        }
        "gsin" => {
            let [gcp, shipment] = parts::<2>(body)?;
            format!("402/{}", keyed(gcp, shipment, 16)?)
        }
        "itip" => {
            let [gcp, item, piece, total, ser] = parts::<5>(body)?;
            (piece.len() == 2 && total.len() == 2 && all_digits(piece) && all_digits(total))
                .then_some(())?;
            format!(
                "8006/{}{piece}{total}/21/{}",
                gtin(gcp, item)?,
                serial(ser, 20)?
            )
        }
        "upui" => {
            let [gcp, item, ser] = parts::<3>(body)?;
            format!("01/{}/235/{}", gtin(gcp, item)?, serial(ser, 28)?)
        }
        "pgln" => {
            let [gcp, party] = parts::<2>(body)?;
            format!("417/{}", keyed(gcp, party, 12)?)
        }
        _ => return None,
    };
    Some(format!("{ORIGIN}/{out}"))
}

fn epc_pattern(s: &str) -> Option<String> {
    let (scheme, body) = s.split_once(':')?;
    let body = body.strip_suffix(".*")?;
    let out = match scheme {
        "sgtin" | "upui" => {
            let [gcp, item] = parts::<2>(body)?;
            format!("01/{}", gtin(gcp, item)?)
        }
        "grai" => {
            let [gcp, asset] = parts::<2>(body)?;
            format!("8003/0{}", keyed(gcp, asset, 12)?)
        }
        "gdti" | "sgcn" => {
            let [gcp, reference] = parts::<2>(body)?;
            let ai = if scheme == "gdti" { "253" } else { "255" };
            format!("{ai}/{}", keyed(gcp, reference, 12)?)
        }
        "cpi" => {
            let [gcp, part] = parts::<2>(body)?;
            format!("8010/{}", alnum_ref(gcp, part, 30)?)
        }
        "itip" => {
            let [gcp, item, piece, total] = parts::<4>(body)?;
            (piece.len() == 2 && total.len() == 2 && all_digits(piece) && all_digits(total))
                .then_some(())?;
            format!("8006/{}{piece}{total}", gtin(gcp, item)?)
        }
        _ => return None,
    };
    Some(format!("{ORIGIN}/{out}"))
}

/// The application identifier for a primary key's AI or short name.
fn primary_key(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "01" | "gtin" => "01",
        "8006" | "itip" => "8006",
        "8010" | "cpid" => "8010",
        "414" | "gln" => "414",
        "417" | "party" => "417",
        "8017" | "gsrnp" => "8017",
        "8018" | "gsrn" => "8018",
        "255" | "gcn" => "255",
        "00" | "sscc" => "00",
        "253" | "gdti" => "253",
        "401" | "ginc" => "401",
        "402" | "gsin" => "402",
        "8003" | "grai" => "8003",
        "8004" | "giai" => "8004",
        _ => return None,
    })
}

fn qualifier(segment: &str) -> &str {
    match segment {
        "cpv" => "22",
        "lot" => "10",
        "ser" => "21",
        other => other,
    }
}

/// The characters a Digital Link value may hold unescaped in the canonical form.
fn dl_chars(s: &str, max: usize) -> bool {
    s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'"' | b'\'' | b'-' | b'.' | b';'..=b'?' | b'_')
        })
}

fn digital_link(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let path = &rest[rest.find('/')?..];
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let start = segments.windows(2).position(|w| {
        primary_key(w[0]).is_some()
            && w[1].len() > 4
            && w[1].bytes().take(4).all(|b| b.is_ascii_digit())
    })?;
    let mut tail: Vec<&str> = segments[start..].to_vec();
    if tail.last() == Some(&"") {
        tail.pop();
    }
    if !tail.len().is_multiple_of(2) || tail.len() > 8 {
        return None;
    }
    let key = primary_key(tail[0])?;
    let mut value = tail[1].to_owned();
    if key == "01" {
        let pad = match value.len() {
            13 => 1,
            12 => 2,
            8 => 6,
            _ => 0,
        };
        value.insert_str(0, &"000000"[..pad]);
    }
    let mut quals: Vec<(&str, &str)> = tail[2..]
        .chunks(2)
        .map(|c| (qualifier(c[0]), c[1]))
        .filter(|(ai, _)| *ai != "22")
        .collect();
    if quals.iter().any(|(ai, _)| *ai == "21") {
        quals.retain(|(ai, _)| *ai != "10");
    }
    let digits = |s: &str, n: usize| s.len() == n && all_digits(s);
    let valid = match (key, quals.as_slice()) {
        ("01", []) => digits(&value, 14),
        ("01", [("21" | "10", v)]) => digits(&value, 14) && dl_chars(v, 20),
        ("01", [("235", v)]) => digits(&value, 14) && dl_chars(v, 28),
        ("253", []) => lead(&value, 13).is_some_and(|rest| dl_chars(rest, 17)),
        ("255", []) => value.len() >= 13 && value.len() <= 25 && all_digits(&value),
        ("401" | "8004", []) => dl_chars(&value, 30),
        ("402", []) => digits(&value, 17),
        ("414" | "417", []) => digits(&value, 13),
        ("414", [("254", v)]) => digits(&value, 13) && dl_chars(v, 20),
        ("8003", []) => lead(&value, 14).is_some_and(|rest| dl_chars(rest, 16)),
        ("8006", [("21" | "10", v)]) => digits(&value, 18) && dl_chars(v, 20),
        ("8010", []) => cpid(&value),
        ("8010", [("8011", v)]) => {
            cpid(&value) && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit())
        }
        ("00" | "8006" | "8017" | "8018", []) => digits(&value, 18),
        _ => false,
    };
    if !valid {
        return None;
    }
    let mut out = format!("{ORIGIN}/{key}/{value}");
    for (ai, v) in quals {
        out.push('/');
        out.push_str(ai);
        out.push('/');
        out.push_str(v);
    }
    Some(out)
}

/// What follows `n` leading digits of `s`, if it starts with them.
fn lead(s: &str, n: usize) -> Option<&str> {
    let head = s.get(..n)?;
    (head.len() == n && all_digits(head)).then(|| &s[n..])
}

fn cpid(s: &str) -> bool {
    s.len() <= 30
        && s.bytes().all(|b| {
            b.is_ascii_digit() || b.is_ascii_uppercase() || matches!(b, b'#' | b'-' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn every_gs1_key_of_the_reference_document() {
        let cases = [
            (
                "urn:epc:id:sgtin:4012345.012345.12",
                "01/04012345123456/21/12",
            ),
            (
                "urn:epc:id:sscc:4012345.0000000333",
                "00/040123450000003338",
            ),
            ("urn:epc:id:grai:4012345.66666.87", "8003/0401234566666387"),
            ("urn:epc:id:giai:4012345.AAbb", "8004/4012345AAbb"),
            (
                "urn:epc:id:gsrn:4012345.9876540000",
                "8018/401234598765400000",
            ),
            (
                "urn:epc:id:gsrnp:4012345.0000098765",
                "8017/401234500000987658",
            ),
            ("urn:epc:id:gdti:4012345.55555.98", "253/401234555555498"),
            ("urn:epc:id:cpi:4012345.ABC.123", "8010/4012345ABC/8011/123"),
            ("urn:epc:id:sgcn:4012345.99999.44", "255/401234599999044"),
            ("urn:epc:id:ginc:4012345.333", "401/4012345333"),
            ("urn:epc:id:gsin:4012345.999987654", "402/40123459999876541"),
            (
                "urn:epc:id:itip:4012345.012345.01.02.999",
                "8006/040123451234560102/21/999",
            ),
            (
                "urn:epc:id:upui:4012345.012345.AB12",
                "01/04012345123456/235/AB12",
            ),
            (
                "urn:epc:id:sgln:4012345.00011.987",
                "414/4012345000115/254/987",
            ),
            ("urn:epc:id:sgln:4012345.00225.0", "414/4012345002256"),
            ("urn:epc:id:pgln:4012345.00225", "417/4012345002256"),
            ("urn:epc:idpat:sgtin:4054739.099914.*", "01/04054739999148"),
            (
                "urn:epc:idpat:itip:4012345.012345.01.02.*",
                "8006/040123451234560102",
            ),
            (
                "https://id.gs1.de/00/040123451111111110",
                "00/040123451111111110",
            ),
            (
                "https://example.com/253/4012345000054987",
                "253/4012345000054987",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                canonical(input),
                Some(format!("https://id.gs1.org/{want}")),
                "{input}"
            );
        }
    }

    #[test]
    fn other_uris_and_broken_keys_are_left_alone() {
        for s in [
            "geo:50.9,6.9",
            "urn:epcglobal:cbv:bt:5200001000008:4711",
            "http://transaction.acme.com/po/12345678",
            "https://trace.example.cn/obj/eartag/161083000001001",
            "urn:epc:id:sgtin:401.012345.12",
            "urn:epc:id:sgtin:4012345.012345.",
            "https://id.gs1.org/01/123/21/x",
            "https://example.org/01/04012345123456/21/a b",
        ] {
            assert_eq!(canonical(s), None, "{s}");
        }
    }
}
