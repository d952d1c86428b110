//! A real HTTPS server on 127.0.0.1 for tests (rustls, a self-signed certificate the client
//! trusts through `SSL_CERT_FILE`), serving canned replies per path. The same server as
//! `tests/fetch.rs` uses, reduced to the replies `db update` needs.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

/// One reply.
#[derive(Clone)]
pub(crate) enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// Announces twice the bytes it sends, then closes: an interrupted transfer.
    Truncated(Vec<u8>),
}

/// The running server.
pub(crate) struct Server {
    port: u16,
    /// The certificate to trust.
    pub(crate) ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Serves `routes` until the test ends.
    pub(crate) fn start(routes: Vec<(String, Reply)>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, key.cert.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![key.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes: Arc<HashMap<String, Reply>> = Arc::new(routes.into_iter().collect());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, routes) = (Arc::clone(&config), Arc::clone(&routes));
                std::thread::spawn(move || serve(stream, config, &routes));
            }
        });
        Server {
            port,
            ca,
            _dir: dir,
        }
    }

    /// The URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

fn serve(stream: TcpStream, config: Arc<rustls::ServerConfig>, routes: &HashMap<String, Reply>) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (announced, body) = match routes.get(&path) {
        None => {
            let _ = tls.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        }
        Some(Reply::Body(b)) => (b.len(), b.clone()),
        Some(Reply::Truncated(b)) => (b.len() * 2, b.clone()),
    };
    let head =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n");
    if tls.write_all(head.as_bytes()).is_err() {
        return;
    }
    for chunk in body.chunks(4096) {
        if tls.write_all(chunk).and_then(|()| tls.flush()).is_err() {
            return;
        }
    }
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}
