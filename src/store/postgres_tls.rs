//! PostgreSQL over TLS, with libpq's `sslmode` meanings: `disable` (plain), `prefer` (the
//! default: TLS when the server offers it, else plain; not verified), `require` (TLS, not
//! verified — unless `sslrootcert` is given, then like `verify-ca`, as libpq does), `verify-ca`
//! (the chain must lead to a trusted root) and `verify-full` (that, and the certificate must
//! name the host). Trusted roots: the system's (`sslrootcert=system`, the default), or the PEM
//! file `sslrootcert=PATH` for a private CA. rustls with ring does the TLS.
//!
//! The driver knows only `disable`/`prefer`/`require` and no `sslrootcert`, so both are taken
//! off the URL here; the driver is told `require` for the verifying modes and the verifier
//! given to rustls does the rest.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as DriverMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it; the certificate is not checked.
    Prefer,
    /// TLS; the certificate is not checked (checked against `sslrootcert` when given).
    Require,
    /// TLS; the chain must lead to a trusted root.
    VerifyCa,
    /// TLS; the chain must lead to a trusted root and name the host.
    VerifyFull,
}

/// The TLS settings of a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TlsSettings {
    /// `sslmode` (default `prefer`, as libpq).
    pub(super) mode: SslMode,
    /// `sslrootcert=PATH`; `None` for the system roots.
    pub(super) root_cert: Option<PathBuf>,
}

/// A PostgreSQL URL read: the driver's settings, and the TLS settings taken off it. The error
/// names the parameter and the fix.
pub(super) fn parse_url(url: &str) -> Result<(tokio_postgres::Config, TlsSettings), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut tls = TlsSettings {
        mode: SslMode::Prefer,
        root_cert: None,
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        match key {
            "sslmode" => tls.mode = ssl_mode(&value)?,
            "sslrootcert" if value == "system" => tls.root_cert = None,
            "sslrootcert" => tls.root_cert = Some(PathBuf::from(value.as_ref())),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" => {
                return Err(format!(
                    "{key} (TLS client certificates) is not supported; remove it and authenticate with a password"
                ));
            }
            _ => kept.push(pair),
        }
    }
    let driver_url = match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    };
    let mut config: tokio_postgres::Config = driver_url
        .parse()
        .map_err(|err: tokio_postgres::Error| format!("the URL does not parse ({err})"))?;
    config.ssl_mode(match tls.mode {
        SslMode::Disable => DriverMode::Disable,
        SslMode::Prefer => DriverMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverMode::Require,
    });
    Ok((config, tls))
}

/// The driver's TLS connector for `settings`. Fails when the roots cannot be read.
pub(super) fn connector(settings: &TlsSettings) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS setup failed ({err})"))?;
    let verify = match (settings.mode, &settings.root_cert) {
        (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => Verify::Nothing,
        // libpq: `require` with a root certificate file behaves like `verify-ca`.
        (SslMode::Require | SslMode::VerifyCa, _) => Verify::Chain,
        (SslMode::VerifyFull, _) => Verify::ChainAndHost,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(AcceptAnyCertificate(provider)),
        Verify::Chain | Verify::ChainAndHost => {
            let roots = Arc::new(roots(settings.root_cert.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|err| format!("TLS setup failed ({err})"))?;
            match verify {
                Verify::Chain => Arc::new(ChainOnly(webpki)),
                _ => webpki,
            }
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// What to do about a connection error that a TLS failure caused; `None` for other errors.
pub(super) fn tls_fix(error_text: &str) -> Option<&'static str> {
    let lower = error_text.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls handshake") {
        return Some(
            "the server's TLS certificate was not accepted. Fix: with sslmode=verify-full or verify-ca, set sslrootcert=PATH to the CA that signed the server's certificate (managed databases publish theirs), or make the host name in the URL match the certificate; sslmode=require encrypts without verifying",
        );
    }
    if lower.contains("does not support tls") || lower.contains("server does not support ssl") {
        return Some(
            "the server does not offer TLS. Fix: turn on ssl in its postgresql.conf, or use sslmode=prefer or disable on a trusted network",
        );
    }
    None
}

enum Verify {
    Nothing,
    Chain,
    ChainAndHost,
}

/// libpq's `sslmode` spelling.
fn ssl_mode(value: &str) -> Result<SslMode, String> {
    match value {
        "disable" => Ok(SslMode::Disable),
        // `allow` is libpq's "plain first, TLS if the server insists": plain here is the
        // same first try, and a server that insists on TLS offers it, so `prefer` covers it.
        "allow" | "prefer" => Ok(SslMode::Prefer),
        "require" => Ok(SslMode::Require),
        "verify-ca" => Ok(SslMode::VerifyCa),
        "verify-full" => Ok(SslMode::VerifyFull),
        other => Err(format!(
            "sslmode={other} is not known; use disable, prefer, require, verify-ca or verify-full"
        )),
    }
}

/// The trusted roots: the PEM file `path`, else the system's.
fn roots(path: Option<&std::path::Path>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match path {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|err| {
                    format!(
                        "cannot read sslrootcert={} ({err}); give a PEM file of the CA certificate",
                        path.display()
                    )
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "sslrootcert={} holds no usable CA certificate; give a PEM file of the CA certificate",
                    path.display()
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(
                    "no system CA certificates found for sslmode=verify-full/verify-ca; install ca-certificates or set sslrootcert=PATH".to_owned(),
                );
            }
        }
    }
    Ok(store)
}

/// `prefer`/`require` as libpq has them: encrypted, the certificate not checked. The
/// handshake signatures are still verified, so the session is with the key holder.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full `WebPKI` check except the host name.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_taken_off_the_url() {
        let (config, tls) = parse_url(
            "postgres://u:p@db.example.com:5433/k?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem&application_name=a",
        )
        .unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca x.pem")));
        assert_eq!(config.get_ssl_mode(), DriverMode::Require);
        assert_eq!(config.get_application_name(), Some("a"));
        assert_eq!(config.get_ports(), [5433]);

        let (config, tls) = parse_url("postgres://u@h/k").unwrap();
        assert_eq!(tls.mode, SslMode::Prefer, "libpq's default");
        assert_eq!(config.get_ssl_mode(), DriverMode::Prefer);
        let (config, _) = parse_url("postgres://u@h/k?sslmode=disable").unwrap();
        assert_eq!(config.get_ssl_mode(), DriverMode::Disable);
        let (_, tls) = parse_url("postgres://u@h/k?sslmode=verify-ca&sslrootcert=system").unwrap();
        assert_eq!((tls.mode, tls.root_cert), (SslMode::VerifyCa, None));
    }

    #[test]
    fn unknown_modes_and_client_certificates_are_refused_with_the_fix() {
        let err = parse_url("postgres://u@h/k?sslmode=verify_full").unwrap_err();
        assert!(
            err.contains("sslmode=verify_full") && err.contains("verify-full"),
            "{err}"
        );
        let err = parse_url("postgres://u@h/k?sslcert=/c.pem").unwrap_err();
        assert!(err.contains("sslcert"), "{err}");
    }

    #[test]
    fn a_missing_or_empty_root_file_is_named() {
        let settings = TlsSettings {
            mode: SslMode::VerifyFull,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let err = connector(&settings).err().unwrap();
        assert!(err.contains("sslrootcert=/nonexistent/ca.pem"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let settings = TlsSettings {
            mode: SslMode::VerifyCa,
            root_cert: Some(empty),
        };
        let err = connector(&settings).err().unwrap();
        assert!(err.contains("no usable CA certificate"), "{err}");
    }
}
