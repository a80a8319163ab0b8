use std::fmt;
use std::path::Path;
use std::io;

const LIMIT: usize = 10;

pub fn clamp(x: usize) -> usize {
    x.min(LIMIT)
}

pub struct User {
    pub name: String,
    pub age: u32,
}

pub struct Order {
    pub id: u64,
    pub total: u64,
}

impl User {
    pub fn new(name: &str, age: u32) -> Self {
        User { name: name.to_string(), age }
    }

    pub fn save(&self, db: &mut Db) -> Result<u64, DbError> {
        let sql = format!("INSERT INTO users VALUES ('{}')", self.name);
        db.execute(&sql)?;
        Ok(db.last_id())
    }
}

impl Order {
    pub fn save(&self, db: &mut Db) -> Result<u64, DbError> {
        let sql = format!("INSERT INTO orders VALUES ({}, {})", self.id, self.total);
        db.execute(&sql)?;
        Ok(db.last_id())
    }
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.age)
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} = {}", self.id, self.total)
    }
}

/// Reads the configuration file.
pub fn load_config(path: &Path) -> io::Result<Config> {
    let data = std::fs::read_to_string(path)?;
    log::info!("loaded {}", path.display());
    parse_config(&data)
}

pub fn load_settings(path: &Path) -> io::Result<Settings> {
    let data = std::fs::read_to_string(path)?;
    log::info!("loaded {}", path.display());
    parse_settings(&data)
}

#[inline]
pub fn compute_total(items: &[Item]) -> u64 {
    let mut total = 0;
    for item in items {
        total += item.price * item.qty;
    }
    total
}

fn helper() -> u32 {
    42
}
