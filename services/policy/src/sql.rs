//! SQL as the rules read it: what a database client runs, with its string literals
//! blanked, so text inside a literal (`SELECT 'DROP TABLE users'`, `WHERE query LIKE
//! '%DROP TABLE%'`) reads as data, not as a statement.

/// Clients whose arguments, code and input are SQL (or CQL) statements. A list in code,
/// not a tag in the packs: a project pack (which the agent can write) may define specs
/// for commands the built-in packs do not know, and a tag there would let it hide any
/// command's quoted text from the text rules.
const CLIENTS: &[&str] = &[
    "psql",
    "mysql",
    "mariadb",
    "sqlite3",
    "sqlcmd",
    "cockroach",
    "clickhouse-client",
    "clickhouse",
    "duckdb",
    "snowsql",
    "cqlsh",
    "pgcli",
    "mycli",
    "usql",
    "litecli",
];

/// Whether `name` runs SQL it is given.
pub(crate) fn is_client(name: &str) -> bool {
    CLIENTS.contains(&name)
}

/// `text` with the inside of every single-quoted SQL literal removed (`''` inside one
/// is an escaped quote). An unclosed quote keeps the rest as it is.
pub(crate) fn blank_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('\'') {
        out.push_str(&rest[..=open]);
        let body = &rest[open + 1..];
        let Some(close) = literal_end(body) else {
            out.push_str(body);
            return out;
        };
        out.push('\'');
        rest = &body[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Where the literal whose body starts `body` closes: the first `'` that is not
/// doubled.
fn literal_end(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\'', Some(b'\'')) => i += 2,
            (b'\'', _) => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_blanked_and_statements_kept() {
        assert_eq!(blank_literals("SELECT 'DROP TABLE users'"), "SELECT ''");
        assert_eq!(
            blank_literals("DELETE FROM t WHERE a = 'it''s' AND b = 'x'; DROP TABLE t"),
            "DELETE FROM t WHERE a = '' AND b = ''; DROP TABLE t"
        );
        assert_eq!(blank_literals("DROP TABLE x"), "DROP TABLE x");
        assert_eq!(blank_literals("SELECT 'open"), "SELECT 'open");
    }
}
