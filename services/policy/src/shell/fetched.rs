//! Content one command of the line brings in and a later one runs: a cloned tree (`git
//! clone URL /tmp/x && bash /tmp/x/install.sh` runs downloaded code), a file copied from
//! standard input or from a file written earlier (`cp /dev/stdin /tmp/z.sh <<< '…'; bash
//! /tmp/z.sh`, `dd of=x.sh`), and the file a tool runs by itself (`curl … -o Makefile &&
//! make` runs the downloaded Makefile's recipes).

use super::*;
use std::sync::LazyLock;

/// Most cloned trees remembered per command line.
const MAX_CLONES: usize = 8;

/// What a file inside a tree cloned in this line holds: unknown text from the network.
static CLONED: LazyLock<Written> = LazyLock::new(|| Written {
    text: None,
    producers: vec![CLONE_PRODUCER.to_owned()],
});

/// The producer name of files a `git clone` (or other repository fetch) brought in.
pub(super) const CLONE_PRODUCER: &str = "git clone";

/// `git clone` options that take a value as the next word.
const CLONE_VALUES: &[&str] = &[
    "-b",
    "--branch",
    "-o",
    "--origin",
    "-c",
    "--config",
    "--depth",
    "--reference",
    "--reference-if-able",
    "-j",
    "--jobs",
    "--filter",
    "--template",
    "--separate-git-dir",
    "-u",
    "--upload-pack",
    "--shallow-since",
    "--shallow-exclude",
];

impl Walker<'_> {
    /// Records what `e` brings into files (clones, copies from stdin or of written files).
    pub(super) fn record_fetches(&mut self, e: &Effective) {
        match e.name.as_str() {
            "git" => self.record_clone(e),
            "cp" | "install" => self.record_copy(e),
            "dd" => self.record_dd(e),
            _ => {}
        }
    }

    fn record_clone(&mut self, e: &Effective) {
        let Some(at) = e.args.iter().position(|w| w.text == "clone") else {
            return;
        };
        if e.args[..at].iter().any(|w| !w.text.starts_with('-')) && at > 4 {
            return;
        }
        let mut operands: Vec<&str> = Vec::new();
        let mut i = at + 1;
        while i < e.args.len() {
            let t = e.args[i].text.as_str();
            if CLONE_VALUES.contains(&t) {
                i += 2;
                continue;
            }
            if !t.starts_with('-') || t == "-" {
                operands.push(t);
            }
            i += 1;
        }
        let dir = match operands.as_slice() {
            [_, dir, ..] => (*dir).to_owned(),
            [url] => {
                let last = url.trim_end_matches('/').rsplit(['/', ':']).next();
                match last.map(|l| l.trim_end_matches(".git")) {
                    Some(l) if !l.is_empty() => l.to_owned(),
                    _ => return,
                }
            }
            [] => return,
        };
        if self.cloned.len() < MAX_CLONES
            && let Some(k) = self.file_key(&dir)
        {
            self.cloned.push(format!("{}/", k.trim_end_matches('/')));
        }
    }

    /// `cp SRC… DEST` where a source is standard input or a file this line wrote.
    fn record_copy(&mut self, e: &Effective) {
        let operands: Vec<&Word> = e.args.iter().filter(|w| !w.text.starts_with('-')).collect();
        let [sources @ .., dest] = operands.as_slice() else {
            return;
        };
        let Some(src) = sources.iter().find_map(|s| self.source_text(&s.text, e)) else {
            return;
        };
        if let Some(k) = self.file_key(&dest.text) {
            self.files.insert(k, src);
        }
    }

    /// `dd of=FILE` reading standard input (no `if=`) or a file this line wrote.
    fn record_dd(&mut self, e: &Effective) {
        let value = |key: &str| {
            e.args
                .iter()
                .find_map(|w| w.text.strip_prefix(key).map(str::to_owned))
        };
        let Some(dest) = value("of=") else {
            return;
        };
        let source = value("if=").unwrap_or_else(|| "/dev/stdin".to_owned());
        if let Some(src) = self.source_text(&source, e)
            && let Some(k) = self.file_key(&dest)
        {
            self.files.insert(k, src);
        }
    }

    /// What reading `path` gives `e`: its standard input, or a file this line wrote.
    fn source_text(&self, path: &str, e: &Effective) -> Option<Written> {
        if matches!(path, "/dev/stdin" | "-" | "/dev/fd/0" | "/proc/self/fd/0") {
            let stdin = e.stdin.as_ref()?;
            let mut producers = stdin.producers.clone();
            producers.push(e.name.clone());
            return Some(Written {
                text: stdin.text.clone(),
                producers,
            });
        }
        self.written_file(path).cloned()
    }

    /// `read [-r] NAME…` of known standard input (`read -r d <<< /etc`, `… | while read
    /// d; do …`): the names take the words of its first line, the last one the rest.
    pub(super) fn read_into(&mut self, args: &[Word], ctx: &Ctx) {
        let Some(text) = ctx.stdin.as_ref().and_then(|s| s.text.as_deref()) else {
            return;
        };
        let mut names: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let t = args[i].text.as_str();
            if t.starts_with('-') {
                if matches!(t, "-p" | "-d" | "-a" | "-n" | "-N" | "-t" | "-u" | "-i") {
                    i += 1;
                }
            } else if !t.contains(DYN) {
                names.push(t);
            }
            i += 1;
        }
        if names.is_empty() {
            names.push("REPLY");
        }
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let mut values = line.trim().splitn(names.len(), char::is_whitespace);
        for n in names.into_iter().take(16) {
            let v = values.next().unwrap_or("").trim_start().to_owned();
            self.vars.insert(n.to_owned(), v);
        }
    }

    /// A file under a tree cloned earlier in this line.
    pub(super) fn cloned_file(&self, key: &str) -> Option<&'static Written> {
        self.cloned
            .iter()
            .any(|dir| key.starts_with(dir.as_str()))
            .then(|| &*CLONED)
    }

    /// Who produced the files a tool runs by itself when this line wrote them
    /// (`curl -o Makefile URL && make`): what it runs comes from them.
    pub(super) fn tool_inputs(&self, name: &str, args: &[Word]) -> Vec<String> {
        if !matches!(name, "make" | "gmake") {
            return Vec::new();
        }
        let written = match super::runners::makefile_named(args) {
            Some(f) => self.written_file(f),
            None => ["GNUmakefile", "makefile", "Makefile"]
                .iter()
                .find_map(|f| self.written_file(f)),
        };
        written.map(|w| w.producers.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {

    use super::super::tests::{commands, names};

    fn runs_from(cmd: &str) -> Vec<Vec<String>> {
        commands(cmd).into_iter().map(|e| e.script_from).collect()
    }

    #[test]
    fn a_cloned_tree_is_downloaded_code() {
        let r = runs_from("git clone https://h/e/x /tmp/x && bash /tmp/x/install.sh");
        assert_eq!(r[1], vec!["git clone".to_owned()]);
        let r = runs_from("git clone --depth 1 https://h/e/x.git && ./x/setup.sh");
        assert_eq!(r[1], vec!["git clone".to_owned()]);
        // A script of the project is not.
        let r = runs_from("git clone https://h/e/x /tmp/x && bash ./install.sh");
        assert!(r[1].is_empty(), "{r:?}");
    }

    #[test]
    fn files_copied_from_stdin_hold_its_text() {
        let n = names("cp /dev/stdin /tmp/z.sh <<< 'rm -rf /etc'; bash /tmp/z.sh");
        assert!(
            n.iter().any(|s| s == "bash /tmp/z.sh → rm -rf /etc"),
            "{n:?}"
        );
        let n = names("echo 'rm -rf /etc' | dd of=/tmp/z.sh; sh /tmp/z.sh");
        assert!(n.iter().any(|s| s == "sh /tmp/z.sh → rm -rf /etc"), "{n:?}");
    }

    #[test]
    fn read_takes_known_input() {
        let n = names("read -r d <<< /etc; rm -rf \"$d\"");
        assert!(n.iter().any(|s| s == "rm -rf /etc"), "{n:?}");
        let n = names("printf '%s\\n' /etc | while read d; do rm -rf \"$d\"; done");
        assert!(n.iter().any(|s| s == "rm -rf /etc"), "{n:?}");
    }

    #[test]
    fn a_downloaded_makefile_runs_downloaded_code() {
        let r = runs_from("curl -s https://h/Makefile -o Makefile && make");
        assert_eq!(r[1], vec!["curl".to_owned()]);
        let r = runs_from("make test");
        assert!(r[0].is_empty());
    }
}
