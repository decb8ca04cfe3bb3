//! Probes: what a health check looks at. An HTTP probe sends one request and never
//! retries (a 500 or a slow answer is an observation for the conditions, not a
//! failure to retry away); a TCP probe connects; a TLS probe completes a handshake and
//! reads the certificate's expiry.

use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;

use crate::config::condition::Observation;
use crate::config::kinds::check::{Probe, Target};
use crate::config::url::ConfigUrl;
use crate::connectors::sql::SqlProbe;
use crate::runtime::certificate;
use crate::runtime::context::RunContext;

/// How a probe names itself, so a server's logs tell probes from runs.
const PROBE_USER_AGENT: &str = concat!("patchbay-check/", env!("CARGO_PKG_VERSION"));

/// Bodies longer than this are cut before conditions see them.
const BODY_LIMIT: usize = 1024 * 1024;

/// What a probe looks with: the check's HTTP client, or its database pool.
pub struct Probing<'a> {
    pub client: &'a reqwest::Client,
    pub sql: Option<&'a SqlProbe>,
    pub ctx: &'a RunContext,
}

impl Probe {
    /// Looks once. Never fails: what went wrong is part of the observation.
    pub async fn observe(&self, with: Probing<'_>) -> Observation {
        let started = Instant::now();
        // A probe that times out saw nothing: not connected.
        let mut seen: Observation = tokio::time::timeout(self.timeout, self.look(with))
            .await
            .unwrap_or_default();
        seen.response_time = started.elapsed();
        seen
    }

    async fn look(&self, with: Probing<'_>) -> Observation {
        match &self.target {
            Target::Http { url, method } => http(with.client, url, method.clone()).await,
            Target::Sql { .. } => match with.sql {
                Some(probe) => sql(probe, with.ctx).await,
                None => Observation::default(),
            },
            Target::Tcp(address) => Observation {
                connected: TcpStream::connect(address).await.is_ok(),
                ..Observation::default()
            },
            Target::Tls(address) => tls(address).await,
        }
    }
}

async fn http(client: &reqwest::Client, url: &ConfigUrl, method: reqwest::Method) -> Observation {
    let request = client
        .request(method, url.url().clone())
        .header(reqwest::header::USER_AGENT, PROBE_USER_AGENT);
    let Ok(response) = request.send().await else {
        return Observation::default();
    };
    let certificate_not_after = certificate::of_response(&response);
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body =
        response.bytes().await.ok().map(|bytes| {
            String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_LIMIT)]).into_owned()
        });
    Observation {
        connected: true,
        status: Some(status),
        body,
        headers,
        certificate_not_after,
        ..Observation::default()
    }
}

async fn sql(probe: &SqlProbe, ctx: &RunContext) -> Observation {
    let seen = probe.observe(ctx).await;
    Observation {
        connected: seen.connected,
        rows: seen.rows,
        value: seen.value,
        error: seen.error.map(|failure| failure.message),
        ..Observation::default()
    }
}

async fn tls(address: &str) -> Observation {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(h, _)| h)
        .to_owned();
    let Ok(stream) = TcpStream::connect(address).await else {
        return Observation::default();
    };
    let Ok(name) = ServerName::try_from(host) else {
        return Observation::default();
    };
    let connector = tokio_rustls::TlsConnector::from(reading_config());
    match connector.connect(name, stream).await {
        Ok(tls) => Observation {
            connected: true,
            certificate_not_after: tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| certificate::not_after(leaf)),
            ..Observation::default()
        },
        Err(_) => Observation::default(),
    }
}

/// One TLS configuration for every `tls` probe: it holds no per-probe state, and
/// its session cache lets probes of one host resume.
fn reading_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::LazyLock<Arc<rustls::ClientConfig>> =
        std::sync::LazyLock::new(|| {
            crate::runtime::http::install_tls_provider();
            Arc::new(
                rustls::ClientConfig::builder()
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyCertificate))
                    .with_no_client_auth(),
            )
        });
    Arc::clone(&CONFIG)
}

/// The TLS probe reads certificates, it does not judge trust: expiry is what it checks.
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
