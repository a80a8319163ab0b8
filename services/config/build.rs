//! Converts the defaults (`src/defaults.toml`) to JSON at build time: every hook process
//! loads its settings once per tool call, and serde_json reads the same data several
//! times faster than the toml crate (which a call without a config file then never
//! touches). The TOML stays the source of truth and the documented reference.
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source = Path::new("src/defaults.toml");
    println!("cargo::rerun-if-changed={}", source.display());
    let value: serde_json::Value = toml::from_str(&std::fs::read_to_string(source)?)?;
    let out = Path::new(&std::env::var("OUT_DIR")?).join("defaults.json");
    std::fs::write(out, serde_json::to_string(&value)?)?;
    Ok(())
}
