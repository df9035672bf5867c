//! Mutual TLS between the cluster's processes: every connection to the
//! scheduler, to an executor's task service and to an executor's data
//! (Arrow Flight) service is encrypted, and made only by a member of the
//! cluster — a process holding a certificate signed by the cluster's own
//! certificate authority (CA). The certificate is the credential: a client,
//! an executor or a Flight fetch without one is refused at the handshake,
//! before a byte of a query or of a table passes.
//!
//! Ballista 55 serves plain gRPC and cannot be given a certificate, so each
//! of its listeners sits behind a **front** ([`bind_front`], [`serve_front`]):
//! the front listens on the address the cluster reaches, completes the TLS
//! handshake (requiring a client certificate from the CA) and passes the
//! bytes on to Ballista's listener on a loopback address of this machine.
//! Ballista's own outgoing connections (an executor to the scheduler, an
//! executor fetching another's data, the client) are made with TLS and this
//! member's certificate through Ballista's endpoint override
//! ([`ClusterTls::endpoint_override`]).
//!
//! A member's folder holds `ca.pem` (the CA's certificate: whom to trust),
//! `member.pem` and `member.key` (this member's certificate and key).
//! [`make_certificates`] writes one (`sunward cluster cert`); the CA's key
//! stays beside it, for making more, and should be kept off the cluster.

use ballista_core::extension::EndpointOverrideFn;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use sunward_core::{Diagnostic, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// The CA's certificate in a member's folder.
pub const CA_FILE: &str = "ca.pem";
/// The member's certificate.
pub const CERT_FILE: &str = "member.pem";
/// The member's private key (readable by its owner only).
pub const KEY_FILE: &str = "member.key";
/// The CA's private key, written beside the member's folder by `sunward cluster cert`.
pub const CA_KEY_FILE: &str = "ca.key";

/// How long a connection may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A member's credential: whom it trusts and who it is.
#[derive(Clone)]
pub struct ClusterTls {
    dir: PathBuf,
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTls").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// The cryptography: rustls on *ring*, which builds with a C compiler alone
/// (aws-lc-rs, rustls' preferred provider, needs more of a toolchain). Its
/// key exchange is not post-quantum, which rustls 0.23.48 marks deprecated;
/// the cluster's traffic is short-lived and inside one organisation's network.
#[allow(deprecated)]
fn ring() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(ring())
}

impl ClusterTls {
    /// Read a member's folder (`ca.pem`, `member.pem`, `member.key`), each
    /// mistake said with the file and what to do.
    pub fn load(dir: &Path) -> Result<ClusterTls> {
        // tonic's client TLS takes the process's default provider.
        let _ = ring().install_default();
        let hint = "make the folder with `sunward cluster cert --out DIR --host HOST…` and give it with --tls (or --cluster-tls to `sunward run`)";
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| {
                Diagnostic::invalid(format!("cannot read {}: the cluster credential is incomplete", path.display()))
                    .hint(hint)
                    .caused_by(e)
            })
        };
        let (ca_pem, cert_pem, key_pem) = (read(CA_FILE)?, read(CERT_FILE)?, read(KEY_FILE)?);
        let not_pem = |name: &str, what: &str| {
            Diagnostic::invalid(format!("{} holds no {what} in PEM form", dir.join(name).display())).hint(hint)
        };
        let cas: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&ca_pem).filter_map(|c| c.ok()).collect();
        if cas.is_empty() {
            return Err(not_pem(CA_FILE, "certificate"));
        }
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&cert_pem).filter_map(|c| c.ok()).collect();
        if certs.is_empty() {
            return Err(not_pem(CERT_FILE, "certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| not_pem(KEY_FILE, "private key"))?;
        let mut roots = RootCertStore::empty();
        for ca in cas {
            roots.add(ca).map_err(|e| {
                Diagnostic::invalid(format!("{} is not a usable CA certificate: {e}", dir.join(CA_FILE).display()))
                    .hint(hint)
            })?;
        }
        let bad = |e: rustls::Error| {
            Diagnostic::invalid(format!("the cluster credential in {} cannot be used: {e}", dir.display())).hint(hint)
        };
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| bad(rustls::Error::General(e.to_string())))?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(bad)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(bad)?;
        // gRPC is HTTP/2.
        server.alpn_protocols = vec![b"h2".to_vec()];
        Ok(ClusterTls { dir: dir.to_path_buf(), ca_pem, cert_pem, key_pem, server: Arc::new(server) })
    }

    /// The folder it was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// TLS for a connection this member makes: trust the CA, show the member's certificate.
    fn client_tls(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
    }

    /// An endpoint for `HOST:PORT` over TLS with this member's certificate.
    pub fn endpoint(&self, address: &str) -> Result<Endpoint> {
        Endpoint::from_shared(format!("https://{address}"))
            .and_then(|e| e.tls_config(self.client_tls()))
            .map_err(|e| Diagnostic::runtime(format!("cannot set up TLS to {address}")).caused_by(e))
    }

    /// Ballista's endpoint override: every connection Ballista makes goes
    /// over TLS with this member's certificate, including those it writes
    /// as `http://` (an executor's to its scheduler).
    pub fn endpoint_override(&self) -> EndpointOverrideFn {
        let tls = self.client_tls();
        Arc::new(move |endpoint: Endpoint| {
            let uri = endpoint.uri();
            let endpoint = if uri.scheme_str() == Some("https") {
                endpoint
            } else {
                let authority = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
                Endpoint::from_shared(format!("https://{authority}"))?
                    .connect_timeout(Duration::from_secs(20))
                    .tcp_nodelay(true)
                    .tcp_keepalive(Some(Duration::from_secs(3600)))
                    .http2_keep_alive_interval(Duration::from_secs(300))
                    .keep_alive_timeout(Duration::from_secs(20))
                    .keep_alive_while_idle(true)
            };
            Ok(endpoint.tls_config(tls.clone())?)
        })
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server.clone())
    }
}

/// Where Ballista listens behind the front for `front`: a loopback address
/// of this machine with the same port (Ballista tells the cluster its port,
/// so the front must have the same one). For a front on 127.0.0.1, that is
/// 127.0.0.2; for a front on a network address, 127.0.0.1.
pub fn behind(front: SocketAddr) -> Result<SocketAddr> {
    let ip = match front.ip() {
        IpAddr::V4(v4) if v4 == Ipv4Addr::new(127, 0, 0, 2) => Ipv4Addr::new(127, 0, 0, 3),
        IpAddr::V4(v4) if v4.is_loopback() => Ipv4Addr::new(127, 0, 0, 2),
        ip if ip.is_unspecified() => {
            return Err(Diagnostic::invalid(format!(
                "with TLS, name the address to listen on instead of {}",
                front.ip()
            ))
            .hint(
                "e.g. --bind 10.0.0.5:50051: Ballista then listens on 127.0.0.1 of the same port, behind the TLS front",
            ));
        }
        IpAddr::V6(v6) if v6.is_loopback() => {
            return Err(Diagnostic::invalid("with TLS, listen on 127.0.0.1 rather than ::1")
                .hint("e.g. --bind 127.0.0.1:50051"));
        }
        _ => Ipv4Addr::LOCALHOST,
    };
    Ok(SocketAddr::new(IpAddr::V4(ip), front.port()))
}

/// Bind the front's listener (an error now, not later, when the address is taken).
pub async fn bind_front(address: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address).await.map_err(|e| {
        Diagnostic::runtime(format!("cannot listen on {address}"))
            .hint("is the port in use, or the address not one of this machine?")
            .caused_by(e)
    })
}

/// Serve a front until the process stops: each connection's handshake must
/// show a certificate of the cluster's CA; its bytes then go to `backend`
/// and back. A refused connection is logged with its address and why.
pub async fn serve_front(listener: TcpListener, backend: SocketAddr, tls: ClusterTls, service: &'static str) {
    let acceptor = tls.acceptor();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!("{service}: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let mut secured = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(secured)) => secured,
                Ok(Err(e)) => {
                    let why = if e.to_string().contains("InvalidContentType") {
                        // Plain bytes where a TLS handshake belongs: a process without the
                        // cluster's credential (or the scheduler's plain connectivity check
                        // when an executor registers, which needs no more than the connection).
                        "it spoke without TLS".to_string()
                    } else {
                        e.to_string()
                    };
                    log::warn!("{service}: refused a connection from {peer}: {why}");
                    return;
                }
                Err(_) => {
                    log::warn!("{service}: refused a connection from {peer}: no TLS handshake within 10 s");
                    return;
                }
            };
            let mut inner = match TcpStream::connect(backend).await {
                Ok(inner) => inner,
                Err(e) => {
                    log::warn!("{service}: cannot reach Ballista at {backend}: {e}");
                    return;
                }
            };
            let _ = inner.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut secured, &mut inner).await;
        });
    }
}

/// Write a private CA and a member's credential for a cluster whose
/// processes are reached at `hosts` (names or addresses), valid for `days`
/// days: `out/ca.key`, and `out/member/` holding `ca.pem`, `member.pem`,
/// `member.key` (the folder every process is given). Refuses to replace
/// files unless `force`. Returns the files written.
pub fn make_certificates(out: &Path, hosts: &[String], days: u32, force: bool) -> Result<Vec<PathBuf>> {
    if hosts.is_empty() {
        return Err(Diagnostic::invalid("name at least one host the cluster's processes are reached at")
            .hint("e.g. --host 127.0.0.1, or --host 10.0.0.5 --host 10.0.0.6 --host scheduler.internal"));
    }
    let bad_host = hosts.iter().find(|h| {
        h.parse::<IpAddr>().is_err()
            && (h.is_empty()
                || !h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                || h.starts_with(['-', '.']))
    });
    if let Some(host) = bad_host {
        return Err(Diagnostic::invalid(format!("`{host}` is not a host name or an address"))
            .hint("give host names (scheduler.internal) or addresses (10.0.0.5), one per --host"));
    }
    if days == 0 {
        return Err(Diagnostic::invalid("a certificate valid for 0 days is already expired").hint("e.g. --days 365"));
    }
    let member_dir = out.join("member");
    let files =
        [out.join(CA_KEY_FILE), member_dir.join(CA_FILE), member_dir.join(CERT_FILE), member_dir.join(KEY_FILE)];
    let existing: Vec<String> = files.iter().filter(|f| f.exists()).map(|f| f.display().to_string()).collect();
    if !existing.is_empty() && !force {
        return Err(Diagnostic::invalid(format!("{} already exist", existing.join(", ")))
            .hint("pass --force to make a new CA (every member then needs the new folder), or choose another --out"));
    }
    let failed = |what: &str, e: rcgen::Error| Diagnostic::runtime(format!("cannot make the {what}: {e}"));
    let today = chrono::Utc::now().date_naive();
    let date = |d: chrono::NaiveDate| {
        use chrono::Datelike;
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    let not_before = date(today - chrono::Days::new(1));
    let not_after = date(today + chrono::Days::new(u64::from(days)));

    let ca_key = KeyPair::generate().map_err(|e| failed("CA's key", e))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| failed("CA", e))?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name.push(DnType::CommonName, "Sunward cluster CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| failed("CA's certificate", e))?;

    let member_key = KeyPair::generate().map_err(|e| failed("member's key", e))?;
    let mut member = CertificateParams::new(hosts.to_vec()).map_err(|e| {
        Diagnostic::invalid(format!("a host is not a name or an address: {e}"))
            .hint("give host names (scheduler.internal) or addresses (10.0.0.5)")
    })?;
    member.distinguished_name.push(DnType::CommonName, "Sunward cluster member");
    member.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    member.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    member.not_before = not_before;
    member.not_after = not_after;
    let issuer = Issuer::new(ca, ca_key);
    let member_cert = member.signed_by(&member_key, &issuer).map_err(|e| failed("member's certificate", e))?;

    // Keys are written owner-only (0600) from the start, never readable by others even briefly.
    let write = |path: &Path, text: &str, private: bool| -> Result<()> {
        let mut file = if private {
            sunward_core::atomic::AtomicFile::create_private(path)?
        } else {
            sunward_core::atomic::AtomicFile::create(path)?
        };
        std::io::Write::write_all(file.file(), text.as_bytes())
            .map_err(|e| Diagnostic::runtime(format!("cannot write {}", path.display())).caused_by(e))?;
        file.commit()?;
        Ok(())
    };
    write(&files[0], &issuer.key().serialize_pem(), true)?;
    write(&files[1], &ca_cert.pem(), false)?;
    write(&files[2], &member_cert.pem(), false)?;
    write(&files[3], &member_key.serialize_pem(), true)?;
    Ok(files.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballista_listens_behind_the_front_on_loopback() {
        let at = |s: &str| behind(s.parse().unwrap()).map(|a| a.to_string());
        assert_eq!(at("127.0.0.1:50051").unwrap(), "127.0.0.2:50051");
        assert_eq!(at("127.0.0.2:50051").unwrap(), "127.0.0.3:50051");
        assert_eq!(at("10.0.0.5:50051").unwrap(), "127.0.0.1:50051");
        assert!(at("0.0.0.0:50051").is_err());
        assert!(at("[::1]:50051").is_err());
    }

    #[test]
    fn a_made_credential_loads_and_a_broken_one_says_which_file() {
        let dir = tempfile::tempdir().unwrap();
        let files =
            make_certificates(dir.path(), &["127.0.0.1".into(), "scheduler.internal".into()], 30, false).unwrap();
        assert_eq!(files.len(), 4);
        let member = dir.path().join("member");
        ClusterTls::load(&member).unwrap();
        // Made again without --force: refused, nothing replaced.
        let before = std::fs::read(member.join(CERT_FILE)).unwrap();
        assert!(make_certificates(dir.path(), &["127.0.0.1".into()], 30, false).is_err());
        assert_eq!(std::fs::read(member.join(CERT_FILE)).unwrap(), before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(member.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(member.join(KEY_FILE), "not a key").unwrap();
        let err = ClusterTls::load(&member).unwrap_err();
        assert!(err.message.contains("member.key holds no private key"), "{}", err.message);
        std::fs::remove_file(member.join(CA_FILE)).unwrap();
        let err = ClusterTls::load(&member).unwrap_err();
        assert!(err.message.contains("ca.pem") && err.message.contains("incomplete"), "{}", err.message);
        assert!(make_certificates(dir.path(), &[], 30, true).is_err());
        assert!(make_certificates(dir.path(), &["a b".into()], 30, true).is_err());
    }
}
