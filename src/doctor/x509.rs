//! Just enough X.509 to tell a person about a certificate: its subject and issuer names and its
//! validity dates, read from the DER bytes a server presented. Nothing here is used to decide
//! trust (rustls/webpki do that); a certificate this cannot read is simply described as such.

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// `CN=..., O=...`, in the certificate's order.
    pub subject: String,
    pub issuer: String,
    /// The raw DER of the names, to match an issuer with a CA certificate's subject.
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    /// Seconds since the epoch.
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
}

impl CertInfo {
    pub fn is_self_issued(&self) -> bool {
        self.subject_der == self.issuer_der
    }
}

/// One DER element: tag, contents, and the whole encoding.
struct Element<'a> {
    tag: u8,
    contents: &'a [u8],
    whole: &'a [u8],
}

/// Reads the element at the start of `input`; returns it and what follows.
fn element(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let tag = *input.first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags do not occur in the parts read here
    }
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = input.get(2..2 + count)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + count)
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    Some((
        Element {
            tag,
            contents: &whole[header..],
            whole,
        },
        &input[end..],
    ))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// Reads a DER certificate; `None` when it is not one.
pub fn parse(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = element(der)?;
    let (tbs, _) = element(cert.contents).filter(|(e, _)| e.tag == SEQUENCE)?;
    let mut rest = tbs.contents;
    let (first, after) = element(rest)?;
    if first.tag == VERSION {
        rest = after;
    }
    let (_serial, rest) = element(rest)?;
    let (_algorithm, rest) = element(rest)?;
    let (issuer, rest) = element(rest).filter(|(e, _)| e.tag == SEQUENCE)?;
    let (validity, rest) = element(rest).filter(|(e, _)| e.tag == SEQUENCE)?;
    let (subject, _) = element(rest).filter(|(e, _)| e.tag == SEQUENCE)?;
    let (not_before, after) = element(validity.contents)?;
    let (not_after, _) = element(after)?;
    Some(CertInfo {
        subject: name(subject.contents),
        issuer: name(issuer.contents),
        subject_der: subject.whole.to_vec(),
        issuer_der: issuer.whole.to_vec(),
        not_before: time(&not_before),
        not_after: time(&not_after),
    })
}

/// The attributes people recognise, by the DER contents of their object identifier.
const ATTRIBUTES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x06], "C"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "emailAddress",
    ),
];

/// `CN=a, O=b` from the contents of a Name (a SEQUENCE of SETs of (OID, value) SEQUENCEs).
fn name(mut rdns: &[u8]) -> String {
    let mut parts = Vec::new();
    while let Some((rdn, rest)) = element(rdns) {
        rdns = rest;
        if rdn.tag != SET {
            continue;
        }
        let mut attributes = rdn.contents;
        while let Some((attribute, rest)) = element(attributes) {
            attributes = rest;
            let Some((oid, after)) = element(attribute.contents).filter(|(e, _)| e.tag == OID)
            else {
                continue;
            };
            let Some((value, _)) = element(after) else {
                continue;
            };
            if let Some((_, label)) = ATTRIBUTES.iter().find(|(id, _)| *id == oid.contents) {
                parts.push(format!("{label}={}", text(&value)));
            }
        }
    }
    if parts.is_empty() {
        "(an empty name)".to_string()
    } else {
        parts.join(", ")
    }
}

/// A directory string as text (control characters escaped: a server chose it): BMPString is
/// UTF-16, the others are read as UTF-8.
fn text(value: &Element<'_>) -> String {
    crate::untrusted::printable(&raw_text(value)).into_owned()
}

fn raw_text(value: &Element<'_>) -> String {
    const BMP_STRING: u8 = 0x1e;
    if value.tag == BMP_STRING {
        let units: Vec<u16> = value
            .contents
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(value.contents).into_owned()
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), as seconds since the epoch.
fn time(value: &Element<'_>) -> Option<i64> {
    let text = std::str::from_utf8(value.contents).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let full = match value.tag {
        UTC_TIME if digits.len() == 12 => {
            let year: i32 = digits[..2].parse().ok()?;
            // RFC 5280: 50-99 are 19xx, 00-49 are 20xx.
            let century = if year >= 50 { "19" } else { "20" };
            format!("{century}{digits}")
        }
        GENERALIZED_TIME if digits.len() == 14 => digits.to_string(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example Corp");
        let cert = params.self_signed(&key).unwrap();
        (cert, rcgen::Issuer::new(params, key))
    }

    #[test]
    fn reads_names_and_dates_of_a_chain() {
        let (root, issuer) = ca("Example Inspection CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["api.example.com".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "api.example.com");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2051, 6, 30);
        let leaf = params.signed_by(&key, &issuer).unwrap();

        let root = parse(root.der()).unwrap();
        assert_eq!(root.subject, "CN=Example Inspection CA, O=Example Corp");
        assert!(root.is_self_issued());
        let leaf = parse(leaf.der()).unwrap();
        assert_eq!(leaf.subject, "CN=api.example.com");
        assert_eq!(leaf.issuer, "CN=Example Inspection CA, O=Example Corp");
        assert_eq!(leaf.issuer_der, root.subject_der);
        assert!(!leaf.is_self_issued());
        assert_eq!(leaf.not_before, Some(1_577_836_800));
        // 2051 is written as a GeneralizedTime.
        assert_eq!(leaf.not_after, Some(2_571_696_000));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"\x30\x03\x02\x01"), None);
        assert_eq!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
