//! A shell word after quote removal and the expansion we can do, shared by the shell
//! normaliser, the interpreter analysis and the path classifier.

/// Stands for text that cannot be known before run time (`$VAR`, `$(…)`).
pub const DYN: char = '\u{1}';

/// One word of a command after quote removal and the expansion we can do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Word {
    /// The text; unknown parts are [`DYN`].
    pub text: String,
    /// Names of the commands whose output makes up part of this word (`$(…)`, `<(…)`).
    pub subst: Vec<String>,
    /// Paths those commands read (`$(cat ~/.ssh/id_rsa)` carries the key into the word).
    pub inputs: Vec<String>,
    /// Variables that could not be resolved (`$GITHUB_TOKEN`).
    pub vars: Vec<String>,
    /// What a process substitution in this word provides, when known (`<(echo …)`).
    pub fed: Option<String>,
    /// Production names the commands producing this word named: the word is one of
    /// their results (`$(aws ec2 describe-instances --filters …Values=prod)`).
    pub named: Vec<String>,
    /// How many of `subst` are known generators of shell set-up code (`ssh-agent -s`,
    /// `pyenv init -`): `eval "$(…)"` of them only sets the environment.
    pub init: usize,
}

impl Word {
    pub fn lit(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            ..Word::default()
        }
    }
    pub fn is_dynamic(&self) -> bool {
        self.text.contains(DYN)
    }
}

/// Text with markers made visible.
pub fn shown(text: &str) -> String {
    text.replace(DYN, "$?")
}
