//! TLS for the IMAP client: rustls on the ring provider (named explicitly, so that another
//! provider compiled into the tree changes nothing), the platform's roots plus the certificates
//! of `EMAIL_CA_FILE`.

use std::sync::Arc;

use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

use crate::channels::Channels;

/// A client configuration that checks the server's certificate and name.
pub fn client_config(channels: &Channels) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(ring::default_provider());
    let mut extra = Vec::new();
    if let Some(pem) = &channels.ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_slice()) {
            extra.push(cert.map_err(|e| format!("EMAIL_CA_FILE: {e}"))?);
        }
    }
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .map_err(|e| format!("TLS roots: {e}"))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}
