//! Whether a `pkill`/`pgrep`/`killall -r` pattern (an extended regex, matched anywhere
//! in a process name or command line) can reach the guard's own processes:
//! `pkill -f 'lighth[o]use'` stops Lighthouse like `pkill lighthouse`.
//!
//! A small matcher, not the regex crate: no compile per call. It reads literals, `.`,
//! bracket classes, `* + ?`, `{m,n}` (as `*`), `^ $` and escapes; a `|` splits the
//! pattern into alternatives each tried alone and parentheses are dropped, so it may
//! match more than grep would (a guard errs that way), never less for these forms.

/// The guard's process names (Lighthouse's binaries and the NATS server it runs on).
pub const GUARD_PROCESSES: &[&str] = &["lighthouse", "nats-server"];

/// The ports the pipeline's NATS server listens on by default: clients, cluster,
/// monitoring, leaf nodes.
pub const GUARD_PORTS: &[&str] = &["4222", "6222", "8222", "7422"];

/// Whether `pattern`, read as a process-matching regex, matches a guard process name.
pub fn names_guard(pattern: &str) -> bool {
    if pattern.is_empty() || pattern.len() > 256 {
        return false;
    }
    let flat: String = pattern.chars().filter(|c| *c != '(' && *c != ')').collect();
    flat.split('|').any(|alt| {
        let Some(atoms) = parse(alt) else {
            return false;
        };
        // `pkill -f 4222`: the server's command line or config names its port.
        let ports = GUARD_PORTS.iter();
        GUARD_PROCESSES.iter().chain(ports).any(|name| {
            let hay: Vec<char> = name.chars().collect();
            (0..=hay.len()).any(|s| matches_at(&atoms, &hay[s..], s == 0))
        })
    })
}

#[derive(Debug)]
enum Atom {
    Any,
    Lit(char),
    Class(Vec<(char, char)>, bool),
    Start,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rep {
    One,
    Opt,
    Star,
    Plus,
}

fn parse(p: &str) -> Option<Vec<(Atom, Rep)>> {
    let mut out: Vec<(Atom, Rep)> = Vec::new();
    let mut it = p.chars().peekable();
    while let Some(c) = it.next() {
        let atom = match c {
            '.' => Atom::Any,
            '^' => Atom::Start,
            '$' => Atom::End,
            '\\' => Atom::Lit(it.next()?),
            '[' => {
                let negated = it.peek() == Some(&'^');
                if negated {
                    it.next();
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let a = it.next()?;
                    if a == ']' && !first {
                        break;
                    }
                    first = false;
                    if it.peek() == Some(&'-') {
                        it.next();
                        match it.next()? {
                            ']' => {
                                ranges.push((a, a));
                                ranges.push(('-', '-'));
                                break;
                            }
                            b => ranges.push((a, b)),
                        }
                    } else {
                        ranges.push((a, a));
                    }
                }
                Atom::Class(ranges, negated)
            }
            '*' | '+' | '?' | '{' => {
                let rep = match c {
                    '?' => Rep::Opt,
                    '+' => Rep::Plus,
                    _ => Rep::Star,
                };
                if c == '{' {
                    // `{m,n}`: read as any count.
                    for d in it.by_ref() {
                        if d == '}' {
                            break;
                        }
                    }
                }
                let last = out.last_mut()?;
                last.1 = rep;
                continue;
            }
            c => Atom::Lit(c),
        };
        out.push((atom, Rep::One));
    }
    Some(out)
}

fn one(a: &Atom, c: char) -> bool {
    match a {
        Atom::Any => true,
        Atom::Lit(l) => l.eq_ignore_ascii_case(&c),
        Atom::Class(r, neg) => r.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *neg,
        Atom::Start | Atom::End => false,
    }
}

/// Backtracking match of `atoms` at the start of `s` (`at_start`: `s` begins the name).
fn matches_at(atoms: &[(Atom, Rep)], s: &[char], at_start: bool) -> bool {
    let Some(((atom, rep), rest)) = atoms.split_first() else {
        return true;
    };
    match atom {
        Atom::Start => return at_start && matches_at(rest, s, at_start),
        Atom::End => return s.is_empty() && matches_at(rest, s, at_start),
        _ => {}
    }
    let (min, max) = match rep {
        Rep::One => (1, 1),
        Rep::Opt => (0, 1),
        Rep::Star => (0, usize::MAX),
        Rep::Plus => (1, usize::MAX),
    };
    let run = s.iter().take_while(|c| one(atom, **c)).count().min(max);
    (min..=run)
        .rev()
        .any(|n| matches_at(rest, &s[n..], at_start && n == 0))
}

#[cfg(test)]
mod tests {
    use super::names_guard;

    #[test]
    fn reads_patterns_as_regexes() {
        for p in [
            "lighthouse",
            "lighth[o]use",
            "l.ghthouse",
            "^light",
            "house$",
            "LIGHTHOUSE",
            "li?ghthouse",
            "l[a-z]+e",
            "nats-serv",
            "(foo|lighthouse)",
            "light\\w*",
        ] {
            assert!(names_guard(p), "{p}");
        }
        for p in [
            "vite",
            "node",
            "^house",
            "light$",
            "[^l]ighthouse",
            "python3 -m http",
        ] {
            assert!(!names_guard(p), "{p}");
        }
    }
}
