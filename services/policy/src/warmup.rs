//! Interpreter one-liners that [`crate::Policy::precompile`] decides once before a
//! worker's first call.
//!
//! Why: the engine's interpreter patterns (and the rules that read the code) run on the
//! regex crate's lazy DFA, which builds its states on first use. Compiling them is not
//! enough: the first code of each kind (`os.environ[…]`, `require('fs')`, `$ENV{…}`)
//! still paid 30–70 µs building the states along its matches. Everyday idioms of each
//! language, written for this list (not taken from any corpus), build the shared ones.

/// Typical one-liners per language: reading config and environment, running tools,
/// files, network and sockets, encodings, dynamic code.
pub(crate) const INTERPRETER_LINES: &[&str] = &[
    r#"python3 -c "import json, os, sys; d = json.load(open('package.json')); print(d['version'], os.environ.get('HOME'), os.getenv('USER'), sys.argv[1:])""#,
    r#"python3 -c "import subprocess, shutil; subprocess.run(['git', 'log', '-1'], check=True); subprocess.check_output('ls -la', shell=True); shutil.copy('a.txt', 'b.txt')""#,
    r#"python3 -c "import urllib.request, base64, socket; r = urllib.request.urlopen('https://example.org/api'); print(base64.b64decode(r.read())); s = socket.socket(); s.connect(('127.0.0.1', 8080)); s.sendall(b'x')""#,
    r#"python -c 'import os, requests; os.system("make test"); os.remove("tmp.txt"); requests.get("https://example.org", params=dict(q=os.environ["PATH"])); exec(compile("x=1", "f", "exec"))'"#,
    r#"node -e "const fs = require('fs'); const cp = require('child_process'); console.log(JSON.parse(fs.readFileSync('package.json', 'utf8')).version); cp.execSync('npm test'); fs.writeFileSync('out.txt', process.env.HOME)""#,
    r#"node -e "require('https').get('https://example.org', r => r.pipe(process.stdout)); fetch('https://example.org/x').then(r => r.text()).then(eval); new Function('return 1')()""#,
    r#"ruby -e 'require "json"; require "socket"; puts JSON.parse(File.read("data.json")).keys; system("bundle exec rake"); File.write("out.txt", ENV["HOME"]); TCPSocket.new("127.0.0.1", 80)'"#,
    r#"perl -e 'use IO::Socket; open(my $fh, "<", "in.txt") or die; while (<$fh>) { print if /x/ } system("make"); unlink "tmp.txt"; print $ENV{HOME}; eval { 1 }'"#,
    r#"php -r '$d = json_decode(file_get_contents("composer.json"), true); echo $d["name"]; exec("ls -la"); file_put_contents("out.txt", getenv("HOME")); fsockopen("127.0.0.1", 80);'"#,
];

#[cfg(test)]
mod tests {
    /// The warm-up is written for the engine, not copied from the labelled corpus (the
    /// corpus measures first calls; warming its own lines would hide them).
    #[test]
    fn no_line_comes_from_the_corpus() {
        let corpus: Vec<String> = crate::corpus_inputs()
            .iter()
            .filter_map(|i| i["command"].as_str().map(str::to_owned))
            .collect();
        for line in super::INTERPRETER_LINES {
            assert!(!corpus.iter().any(|c| c == line), "{line}");
        }
    }
}
