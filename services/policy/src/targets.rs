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
        let w = word.to_ascii_lowercase();
        if PRODUCTION_WORDS.contains(&w.as_str()) {
            return Target::Production;
        }
        non_prod |= NON_PRODUCTION_WORDS.contains(&w.as_str());
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
    let n = name.to_ascii_uppercase();
    n.ends_with("ENV")
        || n.ends_with("ENVIRONMENT")
        || n.ends_with("STAGE")
        || n.ends_with("WORKSPACE")
        || n.ends_with("PROFILE")
        || n.ends_with("CONTEXT")
        || n.ends_with("PROJECT")
        || n.ends_with("_URL")
        || n.ends_with("_URI")
        || n.ends_with("HOST")
        || n.ends_with("_DB")
        || n.ends_with("DATABASE")
        || n.ends_with("SETTINGS_MODULE")
        || n.ends_with("STACK")
        || n.starts_with("LH_CONTEXT")
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
        ] {
            assert_eq!(classify(n), Target::NonProduction, "{n}");
        }
        for u in [
            "db.example.com",
            "products",
            "deliver",
            "$DATABASE_URL",
            "reproduce",
        ] {
            assert_eq!(classify(u), Target::Unknown, "{u}");
        }
    }
}
