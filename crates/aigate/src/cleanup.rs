//! What a command must not leave behind if it is interrupted: staging folders of downloads and
//! temporary files of atomic writes. They are registered while they exist; Ctrl-C, SIGTERM or
//! SIGHUP removes them before the process ends. What a SIGKILL leaves is found and removed by
//! the next command that works on the project (`aigate_integrity::files::remove_stale_leftovers`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static REGISTERED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Exit status after an interruption, as shells report a process ended by SIGINT.
const INTERRUPTED: i32 = 130;

/// Installs the handler that removes registered paths on Ctrl-C, SIGTERM and SIGHUP.
pub fn install() {
    // Failing to install leaves the default behaviour; stale leftovers are still removed later.
    let _ = ctrlc::set_handler(|| {
        remove_registered();
        std::process::exit(INTERRUPTED);
    });
}

fn remove_registered() {
    let paths = match REGISTERED.lock() {
        Ok(paths) => paths.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    // The command's own thread keeps running while this does: it may be writing into a staging
    // folder (so that one pass finds it not empty) or about to create the next file in it. Remove
    // until every path has stayed gone across two looks a few milliseconds apart.
    let gone = |path: &PathBuf| std::fs::symlink_metadata(path).is_err();
    for _ in 0..200 {
        for path in &paths {
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(path)
            } else {
                std::fs::remove_file(path)
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        if paths.iter().all(gone) {
            std::thread::sleep(std::time::Duration::from_millis(5));
            if paths.iter().all(gone) {
                break;
            }
        }
    }
}

/// A path removed on interruption while this lives.
#[derive(Debug)]
pub struct Registered {
    path: PathBuf,
}

/// Registers `path` for removal if the process is interrupted.
pub fn register(path: &Path) -> Registered {
    if let Ok(mut paths) = REGISTERED.lock() {
        paths.push(path.to_path_buf());
    }
    Registered {
        path: path.to_path_buf(),
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut paths) = REGISTERED.lock() {
            paths.retain(|p| p != &self.path);
        }
    }
}
