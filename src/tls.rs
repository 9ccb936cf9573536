//! TLS for every client the service builds (reqwest for Stripe and the model endpoint, lettre for
//! SMTP): rustls on the `ring` provider. rustls's default provider, aws-lc-rs, is a C library that
//! added minutes to the first build on two cores (BENCHMARKS-build.md), and nothing here needs it.

/// Installs ring as the process's rustls provider. Every constructor of a TLS client calls this
/// first (tests build clients without `main`); it is cheap after the first call.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Fails only when another thread installed one in between, which is then the one in use.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
