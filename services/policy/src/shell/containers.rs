//! A container's command as the host sees it: what `docker run -v HOST:CTR IMAGE CMD…`
//! does to the host through its bind mounts. `docker run -v /:/host alpine rm -rf
//! /host/home` deletes the host's `/home`; `-v "$PWD":/src … rm -rf /src` deletes the
//! project. Paths under a mount are mapped back to the host, and a path above a mount
//! point (`rm -rf /` in the container) reaches all of the mount. A command that touches
//! no mounted path changes only the container and is not judged here.

use super::Word;
use crate::mcp::quote;

/// `docker|podman run` options that take a value as the next word.
const VALUE_OPTIONS: &[&str] = &[
    "-v",
    "--volume",
    "--mount",
    "-w",
    "--workdir",
    "-e",
    "--env",
    "--env-file",
    "--name",
    "-p",
    "--publish",
    "--network",
    "--net",
    "--entrypoint",
    "-u",
    "--user",
    "-l",
    "--label",
    "--platform",
    "--cpus",
    "-m",
    "--memory",
    "--add-host",
    "--device",
    "--cap-add",
    "--cap-drop",
    "--security-opt",
    "--ulimit",
    "--tmpfs",
    "-h",
    "--hostname",
    "--restart",
    "--log-driver",
    "--log-opt",
    "--pull",
    "--shm-size",
    "--gpus",
    "--ipc",
    "--pid",
    "--userns",
    "--volumes-from",
    "--dns",
    "--expose",
    "--link",
    "--runtime",
    "--stop-signal",
    "--stop-timeout",
    "--health-cmd",
    "--label-file",
    "--cidfile",
    "--group-add",
    "--cgroupns",
    "--uts",
    "--isolation",
    "--memory-swap",
];

/// The container's command with the paths it reaches through bind mounts written as
/// host paths, as a shell line; `None` when it reaches none (or is not `run`).
pub(super) fn host_view(args: &[Word]) -> Option<String> {
    let (run, rest) = args.split_first()?;
    if run.text != "run" {
        return None;
    }
    let (i, mut mounts) = run_options(rest);
    // The image, then the command.
    let command = rest.get(i + 1..)?;
    if mounts.is_empty() || command.is_empty() {
        return None;
    }
    // The deepest mount point first: `/data/x` under both `/data` and `/`.
    mounts.sort_by_key(|(_, ctr)| std::cmp::Reverse(ctr.len()));
    let mut mapped = false;
    let line: Vec<String> = command
        .iter()
        .map(|w| match on_host(&w.text, &mounts) {
            Some(host) => {
                mapped = true;
                quote(&host)
            }
            None => quote(&w.text),
        })
        .collect();
    mapped.then(|| line.join(" "))
}

/// Where the image of `run`'s words `rest` is, and the bind mounts its options make.
fn run_options(rest: &[Word]) -> (usize, Vec<(String, String)>) {
    let mut mounts: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let t = rest[i].text.as_str();
        if !t.starts_with('-') || t == "-" {
            break;
        }
        let (name, inline) = match t.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (t, None),
        };
        let value = match inline {
            Some(v) => Some(v),
            None if VALUE_OPTIONS.contains(&name) => {
                i += 1;
                rest.get(i).map(|w| w.text.clone())
            }
            None => None,
        };
        if let Some(v) = value {
            match name {
                "-v" | "--volume" => mounts.extend(volume(&v)),
                "--mount" => mounts.extend(mount(&v)),
                _ => {}
            }
        }
        i += 1;
    }
    (i, mounts)
}

/// Whether `docker run IMAGE CMD…` (`args` from `run`) prints what it downloads: a
/// downloader image (`curlimages/curl -s URL`) or a downloader command run in any image
/// (`alpine wget -qO- URL`). Its output is then network content.
pub(super) fn downloads(args: &[Word]) -> bool {
    let Some((run, rest)) = args.split_first() else {
        return false;
    };
    if run.text != "run" {
        return false;
    }
    let (i, _) = run_options(rest);
    let Some(image) = rest.get(i) else {
        return false;
    };
    let base = image.text.rsplit('/').next().unwrap_or("");
    let base = base.split([':', '@']).next().unwrap_or("");
    let command = rest.get(i + 1..).unwrap_or(&[]);
    let url = command.iter().any(|w| w.text.contains("://"));
    let downloader = |n: &str| super::DOWNLOADERS.contains(&n);
    url && (downloader(base) || command.first().is_some_and(|c| downloader(&c.text)))
}

/// `-v HOST:CTR[:OPTIONS]` with a host path (not a named volume).
fn volume(spec: &str) -> Option<(String, String)> {
    let mut parts = spec.splitn(3, ':');
    let (host, ctr) = (parts.next()?, parts.next()?);
    host_path(host).then(|| (host.to_owned(), ctr.trim_end_matches('/').to_owned()))
}

/// `--mount type=bind,source=HOST,target=CTR`.
fn mount(spec: &str) -> Option<(String, String)> {
    let (mut host, mut ctr, mut bind) = (None, None, false);
    for field in spec.split(',') {
        match field.split_once('=') {
            Some(("type", t)) => bind = t == "bind",
            Some(("source" | "src", s)) => host = Some(s),
            Some(("target" | "destination" | "dst", d)) => ctr = Some(d),
            _ => {}
        }
    }
    let (host, ctr) = (host?, ctr?);
    (bind && host_path(host)).then(|| (host.to_owned(), ctr.trim_end_matches('/').to_owned()))
}

/// Whether a volume source names a host path rather than a named volume.
fn host_path(source: &str) -> bool {
    source.starts_with(['/', '.', '~', '$'])
}

/// What the container path `path` is on the host, through the first mount that covers
/// it; a path above a mount point stands for all of the mount.
fn on_host(path: &str, mounts: &[(String, String)]) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let path = path.trim_end_matches('/');
    mounts.iter().find_map(|(host, ctr)| {
        let under = path
            .strip_prefix(ctr.as_str())
            .filter(|rest| rest.is_empty() || rest.starts_with('/'));
        match under {
            Some(rest) => Some(format!("{}{rest}", host.trim_end_matches('/'))),
            None if ctr.starts_with(path) && ctr[path.len()..].starts_with('/') => {
                Some(host.clone())
            }
            None => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(line: &str) -> Option<String> {
        let args: Vec<Word> = line.split_whitespace().map(Word::lit).collect();
        host_view(&args)
    }

    #[test]
    fn mounted_paths_are_host_paths() {
        assert_eq!(
            view("run --rm -v /:/host alpine rm -rf /host/home").as_deref(),
            Some("'rm' '-rf' '/home'")
        );
        assert_eq!(
            view("run -v ~/proj:/src:ro node rm -rf /").as_deref(),
            Some("'rm' '-rf' '~/proj'")
        );
        assert_eq!(
            view("run --mount type=bind,source=/etc,target=/cfg alpine rm -rf /cfg/ssh").as_deref(),
            Some("'rm' '-rf' '/etc/ssh'")
        );
    }

    #[test]
    fn what_stays_in_the_container_is_not_judged_here() {
        assert_eq!(view("run --rm alpine rm -rf /"), None);
        assert_eq!(view("run -v data:/data alpine rm -rf /data"), None);
        assert_eq!(view("run -v /srv/x:/x node npm ci"), None);
        assert_eq!(view("run -v /srv/x:/x alpine rm -rf /tmp/y"), None);
        assert_eq!(view("ps -a"), None);
    }
}
