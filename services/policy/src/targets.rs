//! Production awareness: whether a command's target is production.
//!
//! A target is what a destructive tool acts on: a host, URL, database, bucket, namespace,
//! kube context, cloud project or profile, compose file, workspace, stack, or an
//! environment variable (`$PROD_DATABASE_URL`) or setting (`RAILS_ENV=production`). Its
//! name decides its class, word by word (`prod-db.internal`, `db.prod.example.com`,
//! `acme-production-assets`, `DATABASE_URL_PRODUCTION`): a word `prod`, `production`,
//! `prd` or `live` makes it production; `localhost`, `*_dev`, `*_test`, `staging` … make
//! it non-production; anything else is unknown. Rules treat unknown as non-production
//! (escalate, not deny), as the charter says.

/// The class of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Production,
    NonProduction,
    Unknown,
}

const PRODUCTION_WORDS: &[&str] = &["prod", "production", "prd", "live", "prodn"];

const NON_PRODUCTION_WORDS: &[&str] = &[
    "dev",
    "development",
    "test",
    "tests",
    "testing",
    "staging",
    "stage",
    "stg",
    "qa",
    "local",
    "localhost",
    "sandbox",
    "uat",
    "preview",
    "demo",
    "ci",
    "preprod",
    "nonprod",
];

/// Classifies one word (a host, URL, name, variable name or setting value).
pub fn classify(text: &str) -> Target {
    if text.len() > 512 {
        return Target::Unknown;
    }
    let mut non_prod = false;
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        // A numbered one is the same word (`prod01`, `db-prod2`, `dev3`).
        let word = match word.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "" => word,
            name => name,
        };
        // Words are ASCII letters and digits: compare without lowercasing a copy.
        let is = |list: &[&str]| list.iter().any(|x| x.eq_ignore_ascii_case(word));
        if is(PRODUCTION_WORDS) {
            return Target::Production;
        }
        non_prod |= is(NON_PRODUCTION_WORDS);
    }
    if non_prod || text.contains("127.0.0.1") || text.contains("[::1]") {
        Target::NonProduction
    } else {
        Target::Unknown
    }
}

/// Environment variables whose value selects an environment or a target
/// (`RAILS_ENV=production`, `TF_WORKSPACE=prod`, `DATABASE_URL=postgres://prod-db/…`).
pub fn is_selector_var(name: &str) -> bool {
    // Asked for every variable at every command: compare in place, no uppercase copy.
    let n = name.as_bytes();
    let ends_with = |suffix: &str| {
        n.len() >= suffix.len()
            && n[n.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    let starts_with = |prefix: &str| {
        n.len() >= prefix.len() && n[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    ends_with("ENV")
        || ends_with("ENVIRONMENT")
        || ends_with("STAGE")
        || ends_with("WORKSPACE")
        || ends_with("PROFILE")
        || ends_with("CONTEXT")
        || ends_with("PROJECT")
        || ends_with("_URL")
        || ends_with("_URI")
        || ends_with("HOST")
        || ends_with("_DB")
        || ends_with("DATABASE")
        || ends_with("SETTINGS_MODULE")
        || ends_with("STACK")
        || ends_with("NAMESPACE")
        || ends_with("CLUSTER")
        || ends_with("SUBSCRIPTION")
        // libpq's service file entry (`PGSERVICE=prod`).
        || ends_with("SERVICE")
        || starts_with("LH_CONTEXT")
        // The cluster config, compose file and project a tool reads its target from.
        || n.eq_ignore_ascii_case(b"KUBECONFIG")
        || starts_with("COMPOSE_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_they_are() {
        for p in [
            "prod-db.internal",
            "db.prod.example.com",
            "acme-prod-assets",
            "app_production",
            "PROD_DATABASE_URL",
            "DATABASE_URL_PRODUCTION",
            "prod-eu",
            "live-db.acme.io",
            "docker-compose.prod.yml",
            "s3://company-production-data",
            "app.settings.production",
            "db-prod2.acme.internal",
            "prod01.db.acme.internal",
        ] {
            assert_eq!(classify(p), Target::Production, "{p}");
        }
        for n in [
            "localhost",
            "app_dev",
            "myapp_test",
            "staging-db.internal",
            "127.0.0.1:5432",
            "preprod-db",
            "dev01-db",
        ] {
            assert_eq!(classify(n), Target::NonProduction, "{n}");
        }
        for u in [
            "db.example.com",
            "products",
            "deliver",
            "$DATABASE_URL",
            "reproduce",
            "2024",
            "v2-products",
        ] {
            assert_eq!(classify(u), Target::Unknown, "{u}");
        }
    }
}
