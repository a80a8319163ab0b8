//! The set of path classes ([`Classes`]): locations and attributes as bits, their
//! names as rules spell them, and set operations. Separate because it is the vocabulary
//! the classifier, the rules and explanations share.

use std::fmt;

/// A set of path classes.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Classes(pub(super) u32);

/// Class names as used in policy packs, in bit order.
pub const NAMES: &[&str] = &[
    "root",
    "system",
    "home",
    "home_sub",
    "project",
    "project_root",
    "temp",
    "outside",
    "secret",
    "persistence",
    "guard",
    "device",
    "net_device",
    "dev_null",
    "unknown",
    "system_top",
    "build_output",
    "project_source",
    "ci_config",
    "accounts",
    "dotenv",
    "agent_config",
    "agent_prompt",
];

impl Classes {
    pub const ROOT: Classes = Classes(1 << 0);
    pub const SYSTEM: Classes = Classes(1 << 1);
    pub const HOME: Classes = Classes(1 << 2);
    pub const HOME_SUB: Classes = Classes(1 << 3);
    pub const PROJECT: Classes = Classes(1 << 4);
    pub const PROJECT_ROOT: Classes = Classes(1 << 5);
    pub const TEMP: Classes = Classes(1 << 6);
    pub const OUTSIDE: Classes = Classes(1 << 7);
    pub const SECRET: Classes = Classes(1 << 8);
    pub const PERSISTENCE: Classes = Classes(1 << 9);
    pub const GUARD: Classes = Classes(1 << 10);
    pub const DEVICE: Classes = Classes(1 << 11);
    pub const NET_DEVICE: Classes = Classes(1 << 12);
    pub const DEV_NULL: Classes = Classes(1 << 13);
    pub const UNKNOWN: Classes = Classes(1 << 14);
    /// A top-level system directory itself (`/etc`, `/usr`), not a file inside it.
    pub const SYSTEM_TOP: Classes = Classes(1 << 15);
    /// Inside a build or cache directory, or a build by-product (`target/`, `*.pyc`).
    pub const BUILD_OUTPUT: Classes = Classes(1 << 16);
    /// Inside the project, below its root, and not a build output: its own source.
    pub const PROJECT_SOURCE: Classes = Classes(1 << 17);
    /// CI/CD and deployment configuration, git hooks: code that runs elsewhere or later.
    pub const CI_CONFIG: Classes = Classes(1 << 18);
    /// Who may log in and as whom: account databases, sudoers, PAM, `authorized_keys`,
    /// the loader's preload list. Also persistence, but any write there is denied.
    pub const ACCOUNTS: Classes = Classes(1 << 19);
    /// An env file (`.env`, `.env.local`, `.envrc`; not a template): agent clients and
    /// tools load its variables into their environment at start-up.
    pub const DOTENV: Classes = Classes(1 << 20);
    /// The agent client's own project configuration that makes it run things: MCP
    /// servers, extensions (E5).
    pub const AGENT_CONFIG: Classes = Classes(1 << 21);
    /// The client's custom agents, skills and commands: prompts, unless their text
    /// declares hooks, grants tools or runs shell lines.
    pub const AGENT_PROMPT: Classes = Classes(1 << 22);

    pub fn empty() -> Classes {
        Classes(0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn intersects(self, other: Classes) -> bool {
        self.0 & other.0 != 0
    }
    pub fn contains(self, other: Classes) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn union(self, other: Classes) -> Classes {
        Classes(self.0 | other.0)
    }
    /// These classes but `other`'s.
    pub fn without(self, other: Classes) -> Classes {
        Classes(self.0 & !other.0)
    }
    /// Parses a class name as written in packs.
    pub fn from_name(name: &str) -> Option<Classes> {
        NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Classes(1 << i))
    }
    pub fn names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

impl std::ops::BitOr for Classes {
    type Output = Classes;
    fn bitor(self, rhs: Classes) -> Classes {
        self.union(rhs)
    }
}

impl std::ops::BitOrAssign for Classes {
    fn bitor_assign(&mut self, rhs: Classes) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Classes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.names().join("|"))
    }
}
