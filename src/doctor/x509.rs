//! Just enough X.509 to tell a person about a certificate: its subject and issuer names and its
//! validity dates, read from the DER bytes a server presented (decoded by `x509-cert`). Nothing
//! here is used to decide trust (rustls/webpki do that); a certificate this cannot read is simply
//! described as such.

use x509_cert::der::asn1::{Any, ObjectIdentifier};
use x509_cert::der::{Tag, Tagged};
use x509_cert::name::Name;
use x509_cert::time::Time;

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

/// Reads a DER certificate (with `x509-cert`); `None` when it is not one.
pub fn parse(der: &[u8]) -> Option<CertInfo> {
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let tbs = &cert.tbs_certificate;
    let seconds = |t: Time| i64::try_from(t.to_unix_duration().as_secs()).ok();
    Some(CertInfo {
        subject: name(&tbs.subject),
        issuer: name(&tbs.issuer),
        subject_der: tbs.subject.to_der().ok()?,
        issuer_der: tbs.issuer.to_der().ok()?,
        not_before: seconds(tbs.validity.not_before),
        not_after: seconds(tbs.validity.not_after),
    })
}

/// The attributes people recognise, by object identifier.
const ATTRIBUTES: &[(ObjectIdentifier, &str)] = &[
    (ObjectIdentifier::new_unwrap("2.5.4.3"), "CN"),
    (ObjectIdentifier::new_unwrap("2.5.4.11"), "OU"),
    (ObjectIdentifier::new_unwrap("2.5.4.10"), "O"),
    (ObjectIdentifier::new_unwrap("2.5.4.7"), "L"),
    (ObjectIdentifier::new_unwrap("2.5.4.8"), "ST"),
    (ObjectIdentifier::new_unwrap("2.5.4.6"), "C"),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1"),
        "emailAddress",
    ),
];

/// `CN=a, O=b`, in the certificate's order (not RFC 4514's reversed one), known attributes only.
fn name(name: &Name) -> String {
    let parts: Vec<String> = name
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter_map(|attribute| {
            let (_, label) = ATTRIBUTES.iter().find(|(id, _)| *id == attribute.oid)?;
            Some(format!("{label}={}", text(&attribute.value)))
        })
        .collect();
    if parts.is_empty() {
        "(an empty name)".to_string()
    } else {
        parts.join(", ")
    }
}

/// A directory string as text (control characters escaped: a server chose it): BMPString is
/// UTF-16, the others are read as UTF-8.
fn text(value: &Any) -> String {
    let raw = match value.tag() {
        Tag::BmpString => {
            let units: Vec<u16> = value
                .value()
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(value.value()).into_owned(),
    };
    crate::untrusted::printable(&raw).into_owned()
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
    fn names_a_server_chose_are_escaped() {
        let (cert, _) = ca("Evil\u{1b}]0;pwned\u{7}\u{1b}[2J CA");
        let info = parse(cert.der()).unwrap();
        assert_eq!(
            info.subject,
            "CN=Evil\\u{1b}]0;pwned\\u{7}\\u{1b}[2J CA, O=Example Corp"
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"\x30\x03\x02\x01"), None);
        assert_eq!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
