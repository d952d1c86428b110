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

fn s3_store(server: &Server, resume: &Path) -> aigate_fetch::s3::S3Store {
    aigate_fetch::s3::S3Store::new(&aigate_fetch::s3::S3Options {
        url: "s3://models/resume".into(),
        endpoint: Some(format!("http://127.0.0.1:{}", server.port)),
        region: None,
        access_key_id: Some(KEY.into()),
        secret_access_key: Some(SECRET.into()),
        session_token: None,
        ca_file: None,
        resume_dir: Some(resume.to_path_buf()),
    })
    .unwrap()
}

/// Reads `limit` bytes of `inner`, then fails, as a dropped connection or a killed job stops
/// an upload part of the way through.
struct FailsAfter<R> {
    inner: R,
    limit: usize,
}

impl<R: std::io::Read> std::io::Read for FailsAfter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.limit == 0 {
            return Err(std::io::Error::other("the connection dropped"));
        }
        let n = buf.len().min(self.limit);
        let n = self.inner.read(&mut buf[..n])?;
        self.limit -= n;
        Ok(n)
    }
}

#[test]
fn an_interrupted_multipart_upload_resumes_from_the_parts_the_server_has() {
    use aigate_integrity::store::Store;
    let Some(server) = start() else { return };
    let work = tempfile::tempdir().unwrap();
    let resume = work.path().join("uploads");
    let store = s3_store(&server, &resume);
    // Five 16 MiB parts and a short sixth.
    let big: Vec<u8> = (0..(81u32 << 20) + 5)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = work.path().join("weights.bin");
    fs::write(&file, &big).unwrap();
    let digest = aigate_integrity::hash::Digest(sha2::Sha256::digest(&big).into());

    // The first attempt stops inside the fourth part: three parts are on the server.
    let mut reader = FailsAfter {
        inner: fs::File::open(&file).unwrap(),
        limit: (3 << 24) + (1 << 20),
    };
    assert!(store.put_reader(&mut reader, &digest).is_err());
    assert!(!store.contains(&digest).unwrap());
    assert_eq!(
        fs::read_dir(&resume).unwrap().count(),
        1,
        "the state is kept"
    );

    // The rerun, even from another process's store client, sends only the other parts.
    let store = s3_store(&server, &resume);
    let transfer = store.put_file_counted(&file, &digest).unwrap();
    assert_eq!(
        (transfer.parts_resumed, transfer.parts_sent),
        (3, 3),
        "{transfer:?}"
    );
    assert_eq!(
        fs::read_dir(&resume).unwrap().count(),
        0,
        "the state is gone"
    );
    let restored = work.path().join("restored.bin");
    store.restore(&digest, &restored).unwrap();
    assert_eq!(fs::read(&restored).unwrap(), big);

    // The bytes read for part 1 changed between the attempts: part 1 goes up again, and the
    // object is the bytes that hash to its name.
    let third: Vec<u8> = big.iter().map(|b| b.wrapping_add(1)).collect();
    let third_digest = aigate_integrity::hash::Digest(sha2::Sha256::digest(&third).into());
    let mut first_try = third.clone();
    first_try[(1 << 24) + 7] ^= 0xff;
    let mut reader = FailsAfter {
        inner: std::io::Cursor::new(first_try),
        limit: 3 << 24,
    };
    assert!(store.put_reader(&mut reader, &third_digest).is_err());
    let third_file = work.path().join("third.bin");
    fs::write(&third_file, &third).unwrap();
    let transfer = store.put_file_counted(&third_file, &third_digest).unwrap();
    assert_eq!(
        (transfer.parts_resumed, transfer.parts_sent),
        (2, 4),
        "{transfer:?}"
    );
    fs::remove_file(&restored).ok();
    store.restore(&third_digest, &restored).unwrap();
    assert_eq!(fs::read(&restored).unwrap(), third);
}

#[test]
fn the_custody_log_kept_in_the_store_is_shared_chained_and_verified() {
    use aigate_integrity::custody::{self, Action, NewEvent};
    let Some(server) = start() else { return };
    let work = tempfile::tempdir().unwrap();
    use aigate_integrity::store::Store;
    // Two CI runners sharing one bucket. s3s-fs checks a condition and then writes, without a
    // lock, so truly simultaneous writers can race on it (S3, MinIO and R2 decide atomically);
    // the conditional write itself is what is shown here: a replace from a stale read is
    // refused, and the refused writer chains after the one that won.
    let event = |by: &str, i: u32| {
        NewEvent::new(Action::VerifyPassed, by, "2026-12-04T00:00:00Z").detail("run", i.to_string())
    };
    let a = s3_store(&server, &work.path().join("uploads"));
    let b = s3_store(&server, &work.path().join("uploads"));
    assert!(a.read_log(1 << 20).unwrap().is_none());
    custody::append_in_store(&a, &[event("runner-a", 0)], None).unwrap();
    let (stale, stale_version) = a.read_log(1 << 20).unwrap().unwrap();
    assert!(
        !a.replace_log(b"{}\n", None).unwrap(),
        "a first write over an existing log is refused"
    );
    custody::append_in_store(&b, &[event("runner-b", 0)], None).unwrap();
    let mut overwrite = stale.clone();
    overwrite.extend_from_slice(b"{}\n");
    assert!(
        !a.replace_log(&overwrite, Some(&stale_version)).unwrap(),
        "a replace from a stale read is refused"
    );
    for i in 1..5 {
        custody::append_in_store(&a, &[event("runner-a", i)], None).unwrap();
        custody::append_in_store(&b, &[event("runner-b", i)], None).unwrap();
    }
    let verified = custody::verify_in_store(&b, None).unwrap();
    assert_eq!(verified.first_break, None);
    assert_eq!(verified.events.len(), 10);
    for runner in ["runner-a", "runner-b"] {
        assert_eq!(verified.events.iter().filter(|e| e.by == runner).count(), 5);
    }

    // End to end: a project whose log is in the store keeps none of its own.
    let project = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    let dir = project.path();
    fs::create_dir_all(dir.join("models/m")).unwrap();
    fs::write(dir.join("models/m/config.json"), b"{}\n").unwrap();
    fs::write(
        dir.join("aigate.toml"),
        format!(
            "[[model]]\nname = \"m\"\npath = \"models/m\"\n\n[store]\nurl = \"s3://models/team\"\nendpoint = \"http://127.0.0.1:{}\"\n\n[custody]\nin-store = true\n",
            server.port
        ),
    )
    .unwrap();
    ok(dir, user.path(), &["lock"]);
    ok(dir, user.path(), &["approve", "m", "--by", "alice"]);
    ok(dir, user.path(), &["log", "verify"]);
    assert!(!dir.join(".aigate/custody.jsonl").exists());
    let remote = server.root.path().join("models/team/custody.jsonl");
    let text = fs::read_to_string(&remote).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    // The anchor in the lock catches the store's log cut back.
    let first = text.lines().next().unwrap().to_owned() + "\n";
    fs::write(&remote, first).unwrap();
    let out = aigate(dir, user.path(), &["log", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("custody-log-broken"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
