//! Lists the definitions the engine sees in a file, one per line:
//! `cargo run -p lighthouse-anchor --example defs -- path/to/file.py`.

use lighthouse_anchor::{Language, ParsedFile};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1).map(PathBuf::from) {
        let lang = Language::from_path(&path)?;
        let src = std::fs::read_to_string(&path)?;
        let file = ParsedFile::parse(&src, lang)?;
        println!("{} ({}):", path.display(), lang.name());
        for d in file.definitions() {
            println!(
                "  {:>4}-{:<4} (from {:>4}) {:<10} {}",
                d.line, d.end_line, d.start_line, d.kind, d.qualified_name
            );
        }
    }
    Ok(())
}
