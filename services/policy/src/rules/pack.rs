//! A parsed pack ([`PolicyPack`]): loading a pack's text with its checks, its label
//! and digest, and what layering it would loosen. Separate from the TOML schema
//! ([`super::file`]) and from compiling packs into a rule set ([`super::set`]).

use super::file::PackFile;
use super::rule::{NamePat, Rule};
use crate::PolicyError;
use lighthouse_schemas::Verdict;
use std::collections::{HashMap, HashSet};

/// Largest pack accepted (packs come from projects and a KV bucket too).
pub const MAX_PACK: usize = 1024 * 1024;

/// A parsed pack, ready to layer.
#[derive(Debug, Clone)]
pub struct PolicyPack {
    pub name: String,
    /// The SHA-256 of the text it came from, hex: what the policy's version and the
    /// pack's label are made of (a built-in pack's was computed when the crate was
    /// built).
    pub(crate) digest: String,
    /// Restricted packs (a project's own `.lighthouse/policy.toml`) may only tighten:
    /// their `disable` list, rule overrides, redefinitions of known commands and
    /// looser tool defaults are ignored. The repository an agent works in must not be
    /// able to switch the guard off.
    pub restricted: bool,
    pub(crate) file: PackFile,
}

impl PolicyPack {
    /// `name@<12 hex of its text's SHA-256>` (plus ` (restricted)`): how a policy, and
    /// every decision it makes, names the pack.
    pub fn label(&self) -> String {
        self.source().label()
    }

    /// What the policy's version and labels are computed from.
    pub(crate) fn source(&self) -> PackSource {
        PackSource {
            name: self.name.clone(),
            digest: self.digest.clone(),
            restricted: self.restricted,
        }
    }

    /// Parses a pack from TOML; the name identifies it in errors and explanations.
    pub fn parse(name: &str, toml_text: &str) -> Result<PolicyPack, PolicyError> {
        if toml_text.len() > MAX_PACK {
            return Err(PolicyError::Pack {
                pack: name.to_owned(),
                message: format!("pack larger than {MAX_PACK} bytes"),
            });
        }
        let mut file: PackFile = toml::from_str(toml_text).map_err(|e| PolicyError::Pack {
            pack: name.to_owned(),
            message: e.to_string(),
        })?;
        for t in &mut file.tool {
            t.written = true;
        }
        let pack = PolicyPack {
            name: name.to_owned(),
            digest: digest_of(toml_text),
            restricted: false,
            file,
        };
        // Check every rule now so a bad one fails at load time, not at the first call.
        for r in &pack.file.rule {
            Rule::validate(r, &pack.name)?;
        }
        Ok(pack)
    }

    /// Parses a pack that may only add restrictions (see [`PolicyPack::restricted`]).
    /// A pack that would loosen through what layering keeps of it (an allow rule, an
    /// allow verdict for production targets, an allow tool default) is refused whole:
    /// a project's pack may only tighten.
    pub fn parse_restricted(name: &str, toml_text: &str) -> Result<PolicyPack, PolicyError> {
        let mut p = PolicyPack::parse(name, toml_text)?;
        p.restricted = true;
        let refuse = |what: String| PolicyError::Pack {
            pack: name.to_owned(),
            message: format!(
                "a project's pack may only tighten the policy, but {what}: remove it, or ask an operator to add it to a central pack"
            ),
        };
        for r in &p.file.rule {
            if r.verdict == Some(Verdict::Allow) {
                return Err(refuse(format!("rule {} has verdict \"allow\"", r.id)));
            }
            if r.production == Some(Verdict::Allow) {
                return Err(refuse(format!("rule {} has production = \"allow\"", r.id)));
            }
        }
        if let Some(t) = p.file.tool.iter().find(|t| t.verdict == Verdict::Allow) {
            return Err(refuse(format!("tool default {} is \"allow\"", t.name)));
        }
        Ok(p)
    }

    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.file.rule.iter().map(|r| r.id.as_str())
    }

    /// How layering this pack over `earlier` would loosen the policy: disabled rules,
    /// allow rules, replaced rules (a replacement can narrow or soften what it
    /// matched), redefined commands (they change how arguments read), and tool
    /// defaults softer than before. Empty: the pack only tightens. Loosening is a human
    /// act: validators accept such a pack only with an admin signature.
    pub fn loosening(&self, earlier: &[PolicyPack]) -> Vec<String> {
        let mut out = Vec::new();
        let known_rules: HashMap<&str, Verdict> = earlier
            .iter()
            .flat_map(|p| p.file.rule.iter())
            .filter_map(|r| Some((r.id.as_str(), r.verdict?)))
            .collect();
        let known_commands: HashSet<&str> = earlier
            .iter()
            .flat_map(|p| p.file.command.iter())
            .flat_map(|c| c.names.iter().map(String::as_str))
            .collect();
        for id in &self.file.disable {
            out.push(format!("disables rule {id}"));
        }
        for r in &self.file.rule {
            match (r.verdict, known_rules.get(r.id.as_str())) {
                (Some(Verdict::Allow), _) => out.push(format!("adds allow rule {}", r.id)),
                (_, Some(_)) => out.push(format!("replaces rule {}", r.id)),
                _ => {}
            }
        }
        for c in &self.file.command {
            for n in &c.names {
                if known_commands.contains(n.as_str()) {
                    out.push(format!("redefines command {n}"));
                }
            }
        }
        for t in &self.file.tool {
            let current = earlier
                .iter()
                .flat_map(|p| p.file.tool.iter())
                .filter(|d| NamePat::new(&d.name).matches(&t.name))
                .map(|d| d.verdict.strictness())
                .max();
            let looser = match current {
                Some(current) => t.verdict.strictness() < current,
                None => t.verdict == Verdict::Allow,
            };
            if looser {
                out.push(format!("softens the default for tool {}", t.name));
            }
        }
        out
    }
}

/// A pack's name, text digest and kind: what identifies it in versions and labels.
#[derive(Debug, Clone)]
pub(crate) struct PackSource {
    pub name: String,
    /// See [`PolicyPack::digest`].
    pub digest: String,
    pub restricted: bool,
}

impl PackSource {
    /// See [`PolicyPack::label`].
    pub fn label(&self) -> String {
        let kind = if self.restricted { " (restricted)" } else { "" };
        format!("{}@{}{kind}", self.name, &self.digest[..12])
    }
}

/// A pack text's SHA-256, hex (see [`PolicyPack::digest`]).
pub(crate) fn digest_of(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}
