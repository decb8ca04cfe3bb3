//! When a server's TLS certificate expires, read from the leaf certificate it sent.
//! HTTPS sources and check probes both record it, so an expiring certificate shows
//! before it breaks an integration.

use chrono::{DateTime, Utc};

/// The `notAfter` of a DER-encoded certificate.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0)
}

/// The expiry of the certificate behind `response`, when it came over TLS (the client
/// needs `tls_info(true)`).
pub fn of_response(response: &reqwest::Response) -> Option<DateTime<Utc>> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .and_then(not_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_expiry_of_a_generated_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 3, 4);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let expected = chrono::NaiveDate::from_ymd_opt(2031, 3, 4).unwrap();
        assert_eq!(not_after(&der).map(|at| at.date_naive()), Some(expected));
        assert_eq!(not_after(b"not a certificate"), None);
    }
}
