//! Times the readers on synthetic inputs of the sizes the targets name: a 1,000-package uv.lock
//! (target < 50 ms) and a 300-distribution environment (target < 100 ms for a whole process).
//!
//! ```sh
//! cargo run --release -p aigate-python --example bench_readers
//! ```
//!
//! Prints one line per input: its size, and the fastest and median of several runs. Figures are
//! informative; nothing here fails on them.
//!
//! For whole-process figures, write the inputs once and time single reads:
//!
//! ```sh
//! bench_readers write /tmp/bench          # /tmp/bench/uv.lock and /tmp/bench/venv
//! time bench_readers read /tmp/bench/uv.lock
//! time bench_readers read /tmp/bench/venv
//! ```

// A benchmark is a program whose output is its figures.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use aigate_python::{Limits, parse_uv_lock, read_environment};

const LOCK_PACKAGES: usize = 1_000;
const WHEELS_PER_PACKAGE: usize = 6;
const ENV_DISTRIBUTIONS: usize = 300;
const RUNS: usize = 15;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let limits = Limits::default();
    match args.as_slice() {
        [command, dir] if command == "write" => {
            let dir = Path::new(dir);
            std::fs::create_dir_all(dir.join("venv"))?;
            std::fs::write(dir.join("uv.lock"), synthetic_uv_lock())?;
            synthetic_environment(&dir.join("venv"))?;
            return Ok(());
        }
        [command, path] if command == "read" => {
            let set = aigate_python::read_path(Path::new(path), &limits)
                .ok_or("not an input aigate-python knows")??;
            println!("{} packages", set.packages.len());
            return Ok(());
        }
        [] => {}
        _ => return Err("usage: bench_readers [write DIR | read PATH]".into()),
    }
    let lock = synthetic_uv_lock();
    let (best, median) = time(|| {
        let set = parse_uv_lock(Path::new("uv.lock"), &lock, &limits)?;
        assert_eq!(set.packages.len(), LOCK_PACKAGES + 1);
        Ok(())
    })?;
    println!(
        "uv.lock, {} packages, {} KiB: best {:.1} ms, median {:.1} ms",
        LOCK_PACKAGES,
        lock.len() / 1024,
        ms(best),
        ms(median)
    );

    let dir = tempfile::tempdir()?;
    synthetic_environment(dir.path())?;
    let (best, median) = time(|| {
        let set = read_environment(dir.path(), &limits)?;
        assert_eq!(set.packages.len(), ENV_DISTRIBUTIONS);
        Ok(())
    })?;
    println!(
        "environment, {ENV_DISTRIBUTIONS} distributions: best {:.1} ms, median {:.1} ms",
        ms(best),
        ms(median)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn time(
    mut run: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        run()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok((times[0], times[RUNS / 2]))
}

/// A hex digest that differs per (package, artifact).
fn digest(package: usize, artifact: usize) -> String {
    format!("{:016x}", package * 1_000 + artifact).repeat(4)
}

/// A lock shaped like uv's: a virtual project depending on the first 50 packages, each package
/// with an sdist, several wheels and a few dependencies.
fn synthetic_uv_lock() -> String {
    let mut text = String::from(
        "version = 1\nrevision = 3\nrequires-python = \">=3.11\"\n\n[[package]]\nname = \"project\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\ndependencies = [\n",
    );
    for i in 0..50 {
        let _ = writeln!(text, "    {{ name = \"package-{i}\" }},");
    }
    text.push_str("]\n");
    for i in 0..LOCK_PACKAGES {
        let _ = write!(
            text,
            "\n[[package]]\nname = \"package-{i}\"\nversion = \"1.{}.{}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n",
            i % 40,
            i % 7
        );
        text.push_str("dependencies = [\n");
        for d in 1..=3 {
            let _ = writeln!(
                text,
                "    {{ name = \"package-{}\", marker = \"sys_platform != 'win32'\" }},",
                (i + d * 17) % LOCK_PACKAGES
            );
        }
        text.push_str("]\n");
        let _ = writeln!(
            text,
            "sdist = {{ url = \"https://files.pythonhosted.org/packages/ab/cd/package_{i}-1.0.tar.gz\", hash = \"sha256:{}\", size = 123456, upload-time = \"2025-01-01T00:00:00Z\" }}",
            digest(i, 0)
        );
        text.push_str("wheels = [\n");
        for w in 1..=WHEELS_PER_PACKAGE {
            let _ = writeln!(
                text,
                "    {{ url = \"https://files.pythonhosted.org/packages/ab/cd/package_{i}-1.0-cp3{w}-cp3{w}-manylinux_2_28_x86_64.whl\", hash = \"sha256:{}\", size = 654321, upload-time = \"2025-01-01T00:00:00Z\" }},",
                digest(i, w)
            );
        }
        text.push_str("]\n");
    }
    text
}

/// `lib/python3.11/site-packages` with distributions as pip leaves them: METADATA with a few
/// classifiers and Requires-Dist lines, RECORD, INSTALLER, REQUESTED for some.
fn synthetic_environment(root: &Path) -> std::io::Result<()> {
    std::fs::write(root.join("pyvenv.cfg"), "version = 3.11.7\n")?;
    let site = root.join("lib/python3.11/site-packages");
    for i in 0..ENV_DISTRIBUTIONS {
        let dist_info = site.join(format!("package_{i}-1.{}.0.dist-info", i % 30));
        std::fs::create_dir_all(&dist_info)?;
        let mut metadata = format!(
            "Metadata-Version: 2.4\nName: package-{i}\nVersion: 1.{}.0\nSummary: A package\nLicense-Expression: MIT\nLicense-File: LICENSE\nClassifier: License :: OSI Approved :: MIT License\nClassifier: Programming Language :: Python :: 3\nRequires-Python: >=3.9\n",
            i % 30
        );
        for d in 1..=4 {
            let _ = writeln!(
                metadata,
                "Requires-Dist: package-{}>=1.0; python_version >= \"3.9\"",
                (i + d) % ENV_DISTRIBUTIONS
            );
        }
        metadata.push_str("Requires-Dist: extra-thing; extra == \"dev\"\n\n");
        metadata.push_str(&"A long description that the reader never reads.\n".repeat(200));
        std::fs::write(dist_info.join("METADATA"), metadata)?;
        std::fs::write(dist_info.join("INSTALLER"), "pip\n")?;
        if i % 3 == 0 {
            std::fs::write(dist_info.join("REQUESTED"), "")?;
        }
        let mut record = String::new();
        for f in 0..20 {
            let _ = writeln!(
                record,
                "package_{i}/module_{f}.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0"
            );
        }
        std::fs::write(dist_info.join("RECORD"), record)?;
    }
    Ok(())
}
