//! `lighthouse-hook claude|codex|gemini`: the hook alone, without the CLI's argument
//! parser and commands, so each tool call starts as little as possible.

use lighthouse_hook::protocol::Client;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match (
        args.next().as_deref().and_then(Client::from_name),
        args.next(),
    ) {
        (Some(client), None) => lighthouse_hook::entry::main(client),
        _ => {
            eprintln!("usage: lighthouse-hook claude|codex|gemini  (hook JSON on stdin)");
            ExitCode::from(lighthouse_hook::entry::EXIT_CONFIG)
        }
    }
}
