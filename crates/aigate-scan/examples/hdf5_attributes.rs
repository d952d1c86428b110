//! Prints what aigate's HDF5 reader sees in a file's root group, as JSON: every attribute's name
//! and, for those holding one string, its bytes in hex (`bytes_hex`), and why the reading
//! stopped, if it did. `oracles/formats_oracle.py` compares this with
//! `h5py`'s `f.attrs`.
//!
//!     cargo run --example hdf5_attributes -- FILE...
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)]

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let mut out = Vec::new();
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path)?;
        let read = aigate_scan::hdf5_root_attributes(&data);
        let attributes: Vec<serde_json::Value> = read
            .attributes
            .iter()
            .map(|(name, text)| {
                serde_json::json!({
                    "name": name,
                    "bytes_hex": text.as_ref().map(|t| t.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                })
            })
            .collect();
        out.push(serde_json::json!({
            "path": path,
            "attributes": attributes,
            "error": read.error,
        }));
    }
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, &out)?;
    writeln!(stdout)?;
    Ok(())
}
