//! Converts the built-in packs (`packs/*.toml`) to JSON at build time: a hook process
//! loads them once per tool call, and serde_json reads the same data several times
//! faster than the toml crate. The TOML stays the source of truth (and what the
//! policy version hashes); `src/builtin.rs` includes both.
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(&std::env::var("OUT_DIR")?).join("packs");
    std::fs::create_dir_all(&out)?;
    println!("cargo::rerun-if-changed=packs");
    for entry in std::fs::read_dir("packs")? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        println!("cargo::rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)?;
        let value: serde_json::Value =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let json = serde_json::to_string(&value)?;
        std::fs::write(
            out.join(path.with_extension("json").file_name().ok_or("no name")?),
            json,
        )?;
    }
    Ok(())
}
