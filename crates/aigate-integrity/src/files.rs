//! Reading and writing the project's own small files (the lock, the configuration) safely: only
//! regular files are read, up to a bound; writes go through a temporary file, are synced, and
//! replace the target in one rename; every read-modify-write holds the project's advisory lock;
//! leftovers of processes that died mid-write are found and removed.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Reads `path` as UTF-8 if it is a regular file (links are followed) of at most `max` bytes.
/// A device, FIFO or folder is an error, never a read that blocks or never ends.
pub fn read_regular(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_regular_bytes(path, max)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}")))
}

/// Reads `path` as bytes if it is a regular file (links are followed) of at most `max` bytes.
pub fn read_regular_bytes(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", describe(&meta)),
        ));
    }
    let file = File::open(path)?;
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it stopped being a regular file while it was opened",
        ));
    }
    if opened.len() > max {
        return Err(too_large(opened.len(), max));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len()).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64, max));
    }
    Ok(bytes)
}

fn too_large(len: u64, max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{len} bytes is more than the {max} bytes aigate reads from such a file"),
    )
}

fn describe(meta: &fs::Metadata) -> &'static str {
    if meta.is_dir() {
        "a folder"
    } else {
        "a special file (device, FIFO or socket)"
    }
}

/// The temporary file `write_atomic` uses for `path`, named so that leftovers are recognisable:
/// `.NAME.aigate-tmp-PID`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.aigate-tmp-{}", std::process::id()))
}

/// Replaces `path` with `bytes` atomically and durably: written to a temporary file beside it,
/// synced, renamed over it, and the folder synced, so that a crash leaves the old file or the
/// new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_parent(path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Syncs the folder holding `path`, so that a rename into it survives a crash.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Held while a command reads and rewrites the project's `aigate.lock` or `aigate.toml`, so
/// that two commands at once cannot lose each other's changes. An advisory lock on
/// `.aigate/lock` at the project root; released when dropped (or when the process ends,
/// however it ends).
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

/// Takes the project's lock, calling `waiting` once if another process holds it, then waiting
/// for it.
pub fn lock_project(root: &Path, waiting: impl FnOnce()) -> io::Result<ProjectLock> {
    let state = root.join(crate::paths::STATE_DIR);
    fs::create_dir_all(&state)?;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join(crate::paths::LOCK_GUARD))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            waiting();
            file.lock()?;
        }
        Err(fs::TryLockError::Error(err)) => return Err(err),
    }
    Ok(ProjectLock { _file: file })
}

/// Markers in the names of what aigate writes and removes again: staging folders of downloads
/// and temporary files of atomic writes, each followed by the writer's process id.
pub const LEFTOVER_MARKERS: &[&str] = &[".aigate-partial-", ".aigate-tmp-"];

/// Whether process `pid` is running, where the system can tell (`/proc`); `None` elsewhere.
pub fn process_is_alive(pid: u32) -> Option<bool> {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return None;
    }
    Some(proc_root.join(pid.to_string()).exists())
}

/// Removes, from each of `dirs`, the staging folders and temporary files left by aigate
/// processes that are no longer running (killed mid-download or mid-write), and returns what it
/// removed. Leftovers of running processes, and everything where liveness cannot be told, stay.
pub fn remove_stale_leftovers(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let me = std::process::id();
    let mut removed = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(pid) = LEFTOVER_MARKERS.iter().find_map(|marker| {
                let (_, tail) = name.rsplit_once(marker)?;
                tail.parse::<u32>().ok()
            }) else {
                continue;
            };
            if !name.starts_with('.') || pid == me || process_is_alive(pid) != Some(false) {
                continue;
            }
            let path = entry.path();
            let gone = match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path).is_ok(),
                Ok(_) => fs::remove_file(&path).is_ok(),
                Err(_) => false,
            };
            if gone {
                removed.push(path);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_regular_files_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        fs::write(&file, "x = 1\n").unwrap();
        assert_eq!(read_regular(&file, 100).unwrap(), "x = 1\n");
        assert_eq!(
            read_regular(&file, 3).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            read_regular(dir.path(), 100).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        #[cfg(unix)]
        assert_eq!(
            read_regular(Path::new("/dev/zero"), 100)
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftovers_of_dead_processes_are_removed_and_of_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // A pid above the kernel's limit is never running.
        let dead = dir.path().join(".m.aigate-partial-4194399");
        fs::create_dir_all(dead.join("sub")).unwrap();
        let dead_tmp = dir.path().join(".aigate.lock.aigate-tmp-4194398");
        fs::write(&dead_tmp, b"x").unwrap();
        let live = dir
            .path()
            .join(format!(".m.aigate-partial-{}", std::process::id()));
        fs::create_dir(&live).unwrap();
        let unrelated = dir.path().join("model.aigate-partial-notapid");
        fs::write(&unrelated, b"x").unwrap();
        let mut removed = remove_stale_leftovers(&[dir.path().to_path_buf()]);
        removed.sort();
        assert_eq!(removed, [dead_tmp, dead]);
        assert!(live.exists() && unrelated.exists());
    }

    #[test]
    fn the_project_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_project(dir.path(), || {}).unwrap();
        let other = File::open(dir.path().join(".aigate/lock")).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(held);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn a_failed_atomic_write_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        // The rename fails: a folder stands where the file should go.
        let target = dir.path().join("aigate.lock");
        fs::create_dir(target.join("x").parent().unwrap()).unwrap();
        fs::write(target.join("x"), b"keep").unwrap();
        assert!(write_atomic(&target, b"new").is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["aigate.lock"]);
    }

    #[test]
    fn atomic_writes_replace_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("aigate.lock");
        write_atomic(&file, b"one").unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["aigate.lock"]);
    }
}
