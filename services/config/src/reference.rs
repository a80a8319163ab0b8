//! The settings reference (`docs/SETTINGS.md`), generated from the embedded defaults so
//! the documentation cannot drift from what the binaries load. A test compares the
//! committed file with [`settings_reference`]; `LIGHTHOUSE_BLESS=1 cargo test -p
//! lighthouse-config settings_reference` rewrites it after a change to `defaults.toml`.

/// The markdown of `docs/SETTINGS.md`.
pub fn settings_reference() -> String {
    format!(
        "# Settings reference\n\n\
         Generated from `services/config/src/defaults.toml` (the defaults every binary\n\
         embeds); `LIGHTHOUSE_BLESS=1 cargo test -p lighthouse-config settings_reference`\n\
         regenerates it. Do not edit by hand.\n\n\
         Layered, later wins: these defaults → the file `$LIGHTHOUSE_CONFIG` or\n\
         `~/.config/lighthouse/config.toml` → environment variables\n\
         `LIGHTHOUSE__<SECTION>__<KEY>` (nested sections nest with `__`:\n\
         `LIGHTHOUSE__NATS__SERVER_BIN=/usr/local/bin/nats-server`,\n\
         `LIGHTHOUSE__ESCALATION__DEADLINE_MS=60000`). Unknown keys are errors (exit 64).\n\
         Commented keys are unset by default; the comment says what unset means.\n\n\
         ```toml\n{}```\n",
        crate::settings::DEFAULTS
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn settings_reference_matches_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SETTINGS.md");
        let expected = super::settings_reference();
        if std::env::var_os("LIGHTHOUSE_BLESS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == expected,
            "docs/SETTINGS.md differs from defaults.toml: regenerate it with \
             `LIGHTHOUSE_BLESS=1 cargo test -p lighthouse-config settings_reference`"
        );
    }
}
