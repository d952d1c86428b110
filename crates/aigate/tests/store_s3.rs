//! The store in an S3-compatible object store, against a real server started here on
//! 127.0.0.1: s3s-fs (`cargo install s3s-fs --version 0.14.1 --features binary`), which keeps
//! objects as files, so a test can damage one. Push (a multipart upload for the big file),
//! dedup, restore by rollback, and a corrupted object refused.
//!
//! Without s3s-fs on PATH (or AIGATE_S3S_FS) the test says so and passes, so that the README's
//! test command works on a fresh machine; `.ci/run` installs the server and sets
//! AIGATE_REQUIRE_S3=1, under which its absence fails.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use sha2::Digest;

const KEY: &str = "aigate-test-key";
const SECRET: &str = "aigate-test-secret";

struct Server {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3s_fs() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("AIGATE_S3S_FS") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("s3s-fs"))
            .find(|p| p.is_file())
    })
}

fn start() -> Option<Server> {
    let Some(binary) = s3s_fs() else {
        assert!(
            std::env::var_os("AIGATE_REQUIRE_S3").is_none(),
            "AIGATE_REQUIRE_S3 is set but s3s-fs is not on PATH"
        );
        eprintln!("s3s-fs not found: the S3 store test did not run");
        return None;
    };
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("models")).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", KEY, "--secret-key", SECRET])
        .arg(root.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port, root };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

fn sha256(path: &Path) -> String {
    sha2::Sha256::digest(fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn aigate(dir: &Path, user: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(dir)
        .env("AIGATE_CONFIG_DIR", user)
        .env("AIGATE_ACTOR", "ci")
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        // The configuration is the test's own: named, so trusted to name an object store.
        .args(["--config", "aigate.toml"])
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, user: &Path, args: &[&str]) {
    let out = aigate(dir, user, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every object the server holds, as files under its root.
fn objects(server: &Server) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![server.root.path().join("models")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 64)
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn push_dedup_restore_and_a_corrupted_object_on_a_real_s3_server() {
    let Some(server) = start() else { return };
    let project = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    let dir = project.path();
    fs::create_dir_all(dir.join("models/big")).unwrap();
    // Over one 16 MiB part: a multipart upload.
    let big: Vec<u8> = (0..(20u32 << 20)).map(|i| (i % 251) as u8).collect();
    fs::write(dir.join("models/big/weights.bin"), &big).unwrap();
    fs::write(dir.join("models/big/config.json"), b"{\"v\": 1}\n").unwrap();
    fs::write(
        dir.join("aigate.toml"),
        format!(
            "[[model]]\nname = \"big\"\npath = \"models/big\"\n\n[store]\nurl = \"s3://models/aigate\"\nendpoint = \"http://127.0.0.1:{}\"\n",
            server.port
        ),
    )
    .unwrap();
    ok(dir, user.path(), &["lock"]);
    let after_lock = objects(&server);
    // Two files and a manifest.
    assert_eq!(after_lock.len(), 3, "{after_lock:?}");
    let weights_digest = sha256(&dir.join("models/big/weights.bin"));
    let stored = after_lock
        .iter()
        .find(|p| p.file_name().unwrap().to_str() == Some(weights_digest.as_str()))
        .expect("the big file is stored under its digest");
    assert_eq!(
        fs::read(stored).unwrap(),
        big,
        "the multipart upload is whole"
    );

    // Dedup: pushing again writes no object.
    let mtimes: Vec<_> = after_lock
        .iter()
        .map(|p| fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    ok(dir, user.path(), &["store", "push"]);
    let again: Vec<_> = objects(&server)
        .iter()
        .map(|p| fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    assert_eq!(again, mtimes);

    ok(dir, user.path(), &["approve", "big", "--by", "alice"]);
    fs::write(dir.join("models/big/config.json"), b"{\"v\": 2}\n").unwrap();
    ok(dir, user.path(), &["lock"]);
    ok(dir, user.path(), &["approve", "big", "--by", "bob"]);
    // Only the changed file and the new manifest were added.
    assert_eq!(objects(&server).len(), 5);

    ok(dir, user.path(), &["rollback", "big"]);
    assert_eq!(
        fs::read(dir.join("models/big/config.json")).unwrap(),
        b"{\"v\": 1}\n"
    );
    assert_eq!(sha256(&dir.join("models/big/weights.bin")), weights_digest);

    // A damaged object is refused and nothing moves.
    let v1_config = sha256(&dir.join("models/big/config.json"));
    ok(dir, user.path(), &["rollback", "big", "--to", "2"]);
    let victim = objects(&server)
        .into_iter()
        .find(|p| p.file_name().unwrap().to_str() == Some(v1_config.as_str()))
        .unwrap();
    fs::write(&victim, b"{\"v\": 9}\n").unwrap();
    let before = fs::read(dir.join("models/big/config.json")).unwrap();
    let out = aigate(dir, user.path(), &["rollback", "big", "--to", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("corrupted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(dir.join("models/big/config.json")).unwrap(),
        before
    );
}
