//! `lighthouse up --tls`: a CA and a server certificate generated for this run, so the
//! whole pipeline talks TLS without anyone managing certificates by hand.
//!
//! The CA's key never leaves the process (only its certificate is written, for
//! clients to trust); the server's key is written mode 0600 next to it. A new run
//! makes new ones: nothing long-lived to steal.

use std::path::{Path, PathBuf};

/// Where the generated files are.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The CA certificate clients trust (PEM).
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Generated {
    /// The server's `tls { … }` block.
    pub fn server_block(&self) -> String {
        format!(
            "tls {{\n  cert_file: {}\n  key_file: {}\n  timeout: 5\n}}\n",
            quote(&self.server_cert),
            quote(&self.server_key)
        )
    }
}

fn quote(p: &Path) -> String {
    serde_json::Value::String(p.to_string_lossy().into_owned()).to_string()
}

/// Generates a CA and a certificate for `localhost` / `127.0.0.1` signed by it, in `dir`.
pub fn generate(dir: &Path) -> anyhow::Result<Generated> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Lighthouse run CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "lighthouse nats-server");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key)?;
    let out = Generated {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server-key.pem"),
    };
    let write = |path: &Path, text: String| -> std::io::Result<()> {
        let _ = std::fs::remove_file(path);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        std::io::Write::write_all(&mut f, text.as_bytes())
    };
    write(&out.ca, ca_cert.pem())?;
    write(&out.server_cert, server_cert.pem())?;
    write(&out.server_key, server_key.serialize_pem())?;
    Ok(out)
}
