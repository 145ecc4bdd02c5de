//! TLS to the database (`ssl:` targets), the way OVSDB peers use it: each side presents a
//! certificate signed by the CA the operator gives, and, as in Open vSwitch, the server is
//! not asked to carry its address as a name (a database is reached by address; the CA is
//! what vouches for it).

use std::sync::Arc;

use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};
use tokio_rustls::TlsConnector;

/// The PEM files of an `ssl:` target.
#[derive(Debug, Clone, Copy)]
pub struct TlsFiles<'a> {
    pub key: &'a str,
    pub cert: &'a str,
    pub ca: &'a str,
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("TLS certificate {path}: {e}"))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("TLS certificate {path}: {e}"))?;
    match certs.is_empty() {
        true => Err(format!("TLS certificate {path}: no PEM certificate in it")),
        false => Ok(certs),
    }
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("TLS key {path}: {e}"))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| format!("TLS key {path}: {e}"))?
        .ok_or_else(|| format!("TLS key {path}: no PEM private key in it"))
}

/// A connector presenting `files`' certificate and trusting servers signed by its CA.
pub fn connector(files: TlsFiles<'_>) -> Result<TlsConnector, String> {
    // ring builds with the C compiler the workspace already needs (aws-lc-rs would add cmake
    // and NASM); its lack of post-quantum key exchange is why rustls marks it deprecated.
    #[allow(deprecated)]
    let provider = Arc::new(ring::default_provider());
    let mut roots = RootCertStore::empty();
    for ca in read_certs(files.ca)? {
        roots
            .add(ca)
            .map_err(|e| format!("TLS CA {}: {e}", files.ca))?;
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("TLS CA {}: {e}", files.ca))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(SignedByCa(webpki)))
        .with_client_auth_cert(read_certs(files.cert)?, read_key(files.key)?)
        .map_err(|e| format!("TLS certificate {} and key {}: {e}", files.cert, files.key))?;
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The server name a connection asks for: its address.
pub fn server_name(addr: std::net::SocketAddr) -> ServerName<'static> {
    ServerName::IpAddress(addr.ip().into())
}

/// WebPKI's chain, validity and signature checks, without the name check.
#[derive(Debug)]
struct SignedByCa(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for SignedByCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict =
            self.0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match verdict {
            Err(Error::InvalidCertificate(
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
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
