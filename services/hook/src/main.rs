//! `lighthouse-hook claude|codex|gemini`: the hook alone, without the CLI's argument
//! parser and commands, so each tool call starts as little as possible.
//!
//! A wrong command line exits 2 with the usage on stderr: 2 blocks the call in every
//! client (64 or any other code is a non-blocking error there, and the call would run),
//! so a mistyped hook registration fails closed. `--help` on a terminal exits 0.

use lighthouse_hook::protocol::Client;
use std::io::IsTerminal as _;
use std::process::ExitCode;

const USAGE: &str = "usage: lighthouse-hook claude|codex|gemini  (the agent's hook JSON on stdin; \
PreToolUse gates the call, PostToolUse records the files it wrote; \
register it with `lighthouse install claude|codex|gemini`)";

/// The exit code every client treats as "block this call".
const EXIT_BLOCK: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [name] = args.as_slice()
        && let Some(client) = Client::from_name(name)
    {
        return lighthouse_hook::entry::main(client);
    }
    if let [flag] = args.as_slice()
        && (flag == "--help" || flag == "-h")
        && std::io::stdin().is_terminal()
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "lighthouse-hook: `{}` is not a hook command line, so this call is blocked; {USAGE}",
        args.join(" ")
    );
    ExitCode::from(EXIT_BLOCK)
}
