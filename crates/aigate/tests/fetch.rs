//! `aigate fetch` against a real HTTPS server on 127.0.0.1 (rustls, with a self-signed
//! certificate the client trusts through `SSL_CERT_FILE`): success, wrong hash, untrusted
//! prefix, redirect to an untrusted host, truncated transfer, server error then success,
//! unsafe content, and Hugging Face repositories through `HF_ENDPOINT`.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

fn ok<T, E: Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{e:?}"),
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    Status(u16),
    Redirect(String),
    /// Redirects to this path on `localhost`: the same server under a host name that is not
    /// trusted.
    RedirectToLocalhost(String),
    /// Announces more bytes than it sends, then closes.
    Truncated(Vec<u8>),
    /// Sends the body a little at a time, for a second or more.
    Slow(Vec<u8>),
}

struct Server {
    port: u16,
    ca: PathBuf,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(routes: Vec<(String, Vec<Reply>)>) -> Server {
        let dir = ok(tempfile::tempdir());
        let key = ok(rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ]));
        let ca = dir.path().join("ca.pem");
        ok(std::fs::write(&ca, key.cert.pem()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ok(ok(rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions())
        .with_no_client_auth()
        .with_single_cert(
            vec![key.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into()),
        ));
        let config = Arc::new(config);
        let listener = ok(TcpListener::bind("127.0.0.1:0"));
        let port = ok(listener.local_addr()).port();
        let routes: Arc<HashMap<String, Vec<Reply>>> = Arc::new(routes.into_iter().collect());
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let server_hits = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, routes, hits) = (
                    Arc::clone(&config),
                    Arc::clone(&routes),
                    Arc::clone(&server_hits),
                );
                std::thread::spawn(move || serve(stream, config, &routes, &hits));
            }
        });
        Server {
            port,
            ca,
            hits,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .map(|h| h.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

fn serve(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    routes: &HashMap<String, Vec<Reply>>,
    hits: &Mutex<HashMap<String, usize>>,
) {
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
    let index = {
        let Ok(mut hits) = hits.lock() else { return };
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n - 1
    };
    let reply = routes
        .get(&path)
        .and_then(|r| r.get(index.min(r.len().saturating_sub(1))).cloned());
    let response: Vec<u8> = match reply {
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
        Some(Reply::Body(body)) => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend(body);
            r
        }
        Some(Reply::Status(code)) => {
            format!("HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Some(Reply::Redirect(to)) => format!(
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
        Some(Reply::RedirectToLocalhost(to)) => {
            let port = tls.sock.local_addr().map(|a| a.port()).unwrap_or(0);
            format!("HTTP/1.1 302 Found\r\nLocation: https://localhost:{port}{to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Some(Reply::Slow(body)) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            if tls.write_all(head.as_bytes()).is_err() {
                return;
            }
            for chunk in body.chunks(4096) {
                if tls.write_all(chunk).and_then(|()| tls.flush()).is_err() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Vec::new()
        }
        Some(Reply::Truncated(body)) => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len() * 2
            )
            .into_bytes();
            r.extend(body);
            r
        }
    };
    let _ = tls.write_all(&response);
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(server: &Server, extra_sources: &str) -> Project {
        let dir = ok(tempfile::tempdir());
        ok(std::fs::write(
            dir.path().join("aigate.toml"),
            format!(
                "# the project's models\n[sources]\ntrusted = [\"{}\"]\n{extra_sources}",
                server.url("/trusted/")
            ),
        ));
        Project { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn fetch(&self, server: &Server, args: &[&str]) -> Output {
        ok(Command::new(env!("CARGO_BIN_EXE_aigate"))
            .current_dir(self.root())
            .env("SSL_CERT_FILE", &server.ca)
            .env("HF_ENDPOINT", server.url(""))
            // The project's own configuration, named as a CI job names it: trusted.
            .args(["--config", "aigate.toml", "fetch"])
            .args(args)
            .output())
    }

    /// Every path under the project but aigate's own state folder (`.aigate`, holding the
    /// project lock), for "nothing left behind" checks.
    fn tree(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path == root.join(".aigate") {
                    continue;
                }
                out.push(
                    path.strip_prefix(root)
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap(),
                );
                if path.is_dir() {
                    walk(&path, root, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root(), self.root(), &mut out);
        out.sort();
        out
    }
}

fn sha256_hex(data: &[u8]) -> String {
    // The digest comes from aigate's own hashing crate's known-answer-tested implementation.
    let hashed =
        aigate_integrity::hash::hash_reader(data, aigate_integrity::hash::Algorithm::Sha256);
    ok(hashed).digest.hex()
}

fn benign() -> Vec<u8> {
    ok(std::fs::read(
        repo().join("fixtures/benign/sklearn_logreg.pkl"),
    ))
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn say(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn fetch_pins_a_trusted_file_with_the_right_hash() {
    let body = benign();
    let server = Server::start(vec![(
        "/trusted/model.pkl".into(),
        vec![Reply::Body(body.clone())],
    )]);
    let p = Project::new(&server, "");
    let url = server.url("/trusted/model.pkl");
    let out = p.fetch(
        &server,
        &[&url, "--name", "churn", "--sha256", &sha256_hex(&body)],
    );
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert_eq!(
        ok(std::fs::read(p.root().join("models/churn/model.pkl"))),
        body
    );
    let toml = ok(std::fs::read_to_string(p.root().join("aigate.toml")));
    assert!(
        toml.starts_with("# the project's models\n"),
        "comments survive: {toml}"
    );
    assert!(
        toml.contains("[[model]]\nname = \"churn\"\npath = \"models/churn\""),
        "{toml}"
    );
    let lock = ok(std::fs::read_to_string(p.root().join("aigate.lock")));
    assert!(
        lock.contains(&sha256_hex(&body)) && lock.contains("status = \"pending\""),
        "{lock}"
    );
    assert_eq!(
        p.tree(),
        [
            "aigate.lock",
            "aigate.toml",
            "models",
            "models/churn",
            "models/churn/model.pkl"
        ]
    );
}

#[test]
fn wrong_hash_leaves_nothing_behind() {
    let server = Server::start(vec![(
        "/trusted/model.pkl".into(),
        vec![Reply::Body(benign())],
    )]);
    let p = Project::new(&server, "");
    let out = p.fetch(
        &server,
        &[
            &server.url("/trusted/model.pkl"),
            "--name",
            "m",
            "--sha256",
            &"0".repeat(64),
        ],
    );
    assert_eq!(code(&out), 1, "{}", say(&out));
    assert!(say(&out).contains("SHA-256"), "{}", say(&out));
    assert_eq!(p.tree(), ["aigate.toml"]);
}

#[test]
fn untrusted_prefix_is_refused_before_any_request() {
    let server = Server::start(vec![(
        "/other/model.pkl".into(),
        vec![Reply::Body(benign())],
    )]);
    let p = Project::new(&server, "");
    let out = p.fetch(&server, &[&server.url("/other/model.pkl"), "--name", "m"]);
    assert_eq!(code(&out), 1, "{}", say(&out));
    assert!(say(&out).contains("not trusted"));
    assert_eq!(server.hits("/other/model.pkl"), 0);
    assert_eq!(p.tree(), ["aigate.toml"]);
}

#[test]
fn dot_segments_cannot_climb_out_of_a_trusted_prefix() {
    let server = Server::start(vec![]);
    let p = Project::new(&server, "");
    let out = p.fetch(
        &server,
        &[
            &server.url("/trusted/%2e%2e/other/model.pkl"),
            "--name",
            "m",
        ],
    );
    assert_eq!(code(&out), 1, "{}", say(&out));
    assert_eq!(p.tree(), ["aigate.toml"]);
}

#[test]
fn redirect_to_an_untrusted_host_is_refused() {
    let server = Server::start(vec![
        (
            "/trusted/model.pkl".into(),
            vec![Reply::RedirectToLocalhost("/trusted/copy.pkl".into())],
        ),
        ("/trusted/copy.pkl".into(), vec![Reply::Body(benign())]),
    ]);
    let p = Project::new(&server, "");
    let out = p.fetch(&server, &[&server.url("/trusted/model.pkl"), "--name", "m"]);
    assert_eq!(code(&out), 1, "{}", say(&out));
    assert!(say(&out).contains("redirects there"), "{}", say(&out));
    assert_eq!(server.hits("/trusted/model.pkl"), 1);
    assert_eq!(
        server.hits("/trusted/copy.pkl"),
        0,
        "the untrusted target was requested"
    );
    assert_eq!(p.tree(), ["aigate.toml"]);
}

#[test]
fn trusted_redirects_are_followed() {
    let server = Server::start(vec![
        (
            "/trusted/model.pkl".into(),
            vec![Reply::Redirect("/trusted/blobs/abc".into())],
        ),
        ("/trusted/blobs/abc".into(), vec![Reply::Body(benign())]),
    ]);
    let p = Project::new(&server, "");
    let out = p.fetch(&server, &[&server.url("/trusted/model.pkl"), "--name", "m"]);
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert_eq!(server.hits("/trusted/blobs/abc"), 1);
}

#[test]
fn truncated_transfer_fails_after_retries_and_leaves_nothing() {
    let server = Server::start(vec![(
        "/trusted/model.pkl".into(),
        vec![Reply::Truncated(benign())],
    )]);
    let p = Project::new(&server, "");
    let out = p.fetch(
        &server,
        &[
            &server.url("/trusted/model.pkl"),
            "--name",
            "m",
            "--retries",
            "1",
        ],
    );
    assert_eq!(code(&out), 2, "{}", say(&out));
    assert_eq!(server.hits("/trusted/model.pkl"), 2);
    assert_eq!(p.tree(), ["aigate.toml"]);
}

#[test]
fn server_error_then_success_is_retried() {
    let server = Server::start(vec![(
        "/trusted/model.pkl".into(),
        vec![Reply::Status(503), Reply::Body(benign())],
    )]);
    let p = Project::new(&server, "");
    let out = p.fetch(&server, &[&server.url("/trusted/model.pkl"), "--name", "m"]);
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert_eq!(server.hits("/trusted/model.pkl"), 2);
}

#[test]
fn client_errors_are_not_retried() {
    let server = Server::start(vec![(
        "/trusted/model.pkl".into(),
        vec![Reply::Status(404)],
    )]);
    let p = Project::new(&server, "");
    let out = p.fetch(&server, &[&server.url("/trusted/model.pkl"), "--name", "m"]);
    assert_eq!(code(&out), 2, "{}", say(&out));
    assert_eq!(server.hits("/trusted/model.pkl"), 1);
    assert_eq!(p.tree(), ["aigate.toml"]);
}

#[test]
fn unsafe_content_is_refused_and_removed() {
    let evil = ok(std::fs::read(
        repo().join("fixtures/malicious/reduce_proto2.pkl"),
    ));
    let server = Server::start(vec![("/trusted/model.pkl".into(), vec![Reply::Body(evil)])]);
    let p = Project::new(&server, "");
    let out = p.fetch(&server, &[&server.url("/trusted/model.pkl"), "--name", "m"]);
    assert_eq!(code(&out), 1, "{}", say(&out));
    assert!(say(&out).contains("pickle-unsafe-global"), "{}", say(&out));
    assert_eq!(p.tree(), ["aigate.toml"]);
}

const REV: &str = "0123456789abcdef0123456789abcdef01234567";

fn hf_server(weights: &[u8], weights_oid: &str) -> Server {
    let listing = format!(
        r#"[{{"type":"directory","path":"onnx"}},
            {{"type":"file","path":"config.json","size":2,"oid":"abc"}},
            {{"type":"file","path":"onnx/weights.bin","size":{},"oid":"def","lfs":{{"oid":"{weights_oid}","size":{},"pointerSize":130}}}}]"#,
        weights.len(),
        weights.len()
    );
    Server::start(vec![
        (
            format!("/api/models/acme/tiny/tree/{REV}?recursive=true"),
            vec![Reply::Body(listing.into_bytes())],
        ),
        (
            format!("/acme/tiny/resolve/{REV}/config.json"),
            vec![Reply::Body(b"{}".to_vec())],
        ),
        (
            format!("/acme/tiny/resolve/{REV}/onnx/weights.bin"),
            vec![Reply::Redirect(format!("/acme/tiny/blobs/{weights_oid}"))],
        ),
        (
            format!("/acme/tiny/blobs/{weights_oid}"),
            vec![Reply::Body(weights.to_vec())],
        ),
    ])
}

fn hf_project(server: &Server, pinned: bool) -> Project {
    let dir = ok(tempfile::tempdir());
    ok(std::fs::write(
        dir.path().join("aigate.toml"),
        format!(
            "[sources]\ntrusted = [\"{}\"]\nrequire-pinned-revision = {pinned}\n",
            server.url("/acme/")
        ),
    ));
    Project { dir }
}

#[test]
fn hf_repository_is_listed_fetched_and_checked_against_lfs_digests() {
    let weights = vec![7u8; 100_000];
    let server = hf_server(&weights, &sha256_hex(&weights));
    let p = hf_project(&server, true);
    let out = p.fetch(
        &server,
        &[&format!("hf://acme/tiny@{REV}"), "--name", "tiny"],
    );
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert_eq!(
        ok(std::fs::read(p.root().join("models/tiny/onnx/weights.bin"))),
        weights
    );
    assert_eq!(
        ok(std::fs::read(p.root().join("models/tiny/config.json"))),
        b"{}"
    );
    let toml = ok(std::fs::read_to_string(p.root().join("aigate.toml")));
    assert!(
        toml.contains(&format!("source = \"hf://acme/tiny@{REV}\"")),
        "{toml}"
    );
}

#[test]
fn hf_lfs_digest_mismatch_is_refused() {
    let weights = vec![7u8; 1000];
    let server = hf_server(&weights, &"1".repeat(64));
    let p = hf_project(&server, false);
    let out = p.fetch(
        &server,
        &[&format!("hf://acme/tiny@{REV}"), "--name", "tiny"],
    );
    assert_eq!(code(&out), 1, "{}", say(&out));
    assert_eq!(p.tree(), ["aigate.toml"]);
}

#[test]
fn hf_single_file() {
    let weights = vec![1u8; 10];
    let server = hf_server(&weights, &sha256_hex(&weights));
    let p = hf_project(&server, true);
    let out = p.fetch(
        &server,
        &[
            &format!("hf://acme/tiny@{REV}/config.json"),
            "--name",
            "cfg",
        ],
    );
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert!(p.root().join("models/cfg/config.json").is_file());
}

#[test]
fn unpinned_revision_is_refused_when_pins_are_required() {
    let server = hf_server(b"x", &sha256_hex(b"x"));
    let p = hf_project(&server, true);
    let out = p.fetch(&server, &["hf://acme/tiny@main", "--name", "tiny"]);
    assert_eq!(code(&out), 1, "{}", say(&out));
    assert!(say(&out).contains("not a commit hash"));
    assert_eq!(
        server.hits(&format!("/api/models/acme/tiny/tree/{REV}?recursive=true")),
        0
    );
}

/// Starts a fetch of a slow download and waits until its staging folder exists.
fn interrupted_fetch(server: &Server, p: &Project, signal: &str) -> (Output, Vec<String>) {
    let child = ok(Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(p.root())
        .env("SSL_CERT_FILE", &server.ca)
        .args([
            "--config",
            "aigate.toml",
            "fetch",
            &server.url("/trusted/slow.pkl"),
            "--name",
            "slow",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn());
    let staged = |p: &Project| p.tree().iter().any(|e| e.contains(".aigate-partial-"));
    let started = std::time::Instant::now();
    while !staged(p) && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(staged(p), "the download never started: {:?}", p.tree());
    let killed = ok(Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status());
    assert!(killed.success());
    let out = ok(child.wait_with_output());
    (out, p.tree())
}

fn slow_server() -> Server {
    Server::start(vec![(
        "/trusted/slow.pkl".into(),
        vec![Reply::Slow(vec![b'N'; 4 << 20])],
    )])
}

#[cfg(unix)]
#[test]
fn an_interrupted_fetch_leaves_nothing_behind() {
    for signal in ["-INT", "-TERM"] {
        let server = slow_server();
        let p = Project::new(&server, "");
        let (out, tree) = interrupted_fetch(&server, &p, signal);
        assert_eq!(out.status.code(), Some(130), "{signal}: {}", say(&out));
        assert!(
            !tree
                .iter()
                .any(|e| e.contains(".aigate-partial-") || e.contains(".aigate-tmp-")),
            "{signal}: {tree:?}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn what_a_killed_fetch_leaves_is_removed_by_the_next_run_which_says_so() {
    let server = slow_server();
    let p = Project::new(&server, "");
    let (_, tree) = interrupted_fetch(&server, &p, "-KILL");
    assert!(
        tree.iter().any(|e| e.contains(".aigate-partial-")),
        "{tree:?}"
    );
    let out = ok(Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(p.root())
        .arg("lock")
        .output());
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no longer running"),
        "{}",
        say(&out)
    );
    assert!(
        !p.tree().iter().any(|e| e.contains(".aigate-partial-")),
        "{:?}",
        p.tree()
    );
}
