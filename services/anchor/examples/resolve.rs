//! What `lighthouse anchor resolve` will print, before the CLI is wired:
//! `cargo run -p lighthouse-anchor --example resolve -- BEFORE AFTER LINE [--json]`.

use lighthouse_anchor::{render_human, resolve_cli};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [before, after, line, rest @ ..] = args.as_slice() else {
        return Err("usage: resolve BEFORE AFTER LINE [--json]".into());
    };
    let r = resolve_cli(Path::new(before), Path::new(after), line.parse()?)?;
    if rest.iter().any(|a| a == "--json") {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("{}", render_human(&r));
    }
    Ok(())
}
