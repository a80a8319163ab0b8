# ---------------------------------------------------------------- Python
PY = '''import sqlite3

from .util import log, cached


class UserRepo:
    """Stores users."""

    def __init__(self, conn):
        self.conn = conn

    def save(self, user):
        cur = self.conn.cursor()
        cur.execute("INSERT INTO users VALUES ('%s')" % user.name)
        self.conn.commit()
        return cur.lastrowid

    def find(self, name):
        cur = self.conn.cursor()
        cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
        return cur.fetchone()


class OrderRepo:
    def __init__(self, conn):
        self.conn = conn

    def save(self, order):
        cur = self.conn.cursor()
        cur.execute("INSERT INTO orders VALUES (?, ?)", (order.id, order.total))
        self.conn.commit()
        return cur.lastrowid


def load_config(path):
    with open(path) as fh:
        data = fh.read()
    log("loaded %s" % path)
    return parse(data)


def load_settings(path):
    with open(path) as fh:
        data = fh.read()
    log("loaded %s" % path)
    return parse_settings(data)


@cached
def compute_total(items):
    total = 0
    for item in items:
        total += item.price * item.qty
    return total


def helper():
    return 42
'''
PY_FIND = '''    def find(self, name):
        cur = self.conn.cursor()
        cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
        return cur.fetchone()
'''
PY_LOAD = '''def load_config(path):
    with open(path) as fh:
        data = fh.read()
    log("loaded %s" % path)
    return parse(data)


'''
PY_HELPER = '''

def helper():
    return 42
'''
PY_CT = '''@cached
def compute_total(items):
    total = 0
    for item in items:
        total += item.price * item.qty
    return total
'''
PY_USAVE = '''    def save(self, user):
        cur = self.conn.cursor()
        cur.execute("INSERT INTO users VALUES ('%s')" % user.name)
        self.conn.commit()
        return cur.lastrowid

'''
PY_OREPO = PY[PY.index("class OrderRepo"):PY.index("def load_config")]
lang("py", "py", PY, [
    dict(id="reformat", edit="reformat", at=("cur.execute(f",), status="found", head=("def find",), name="find",
         after=[(PY_FIND, '''    def find( self,name ):
        # look the user up
        cur=self.conn.cursor()
        cur.execute(
            f"SELECT * FROM users WHERE name = '{name}'"
        )

        return cur.fetchone( )
''')]),
    dict(id="insert_above", edit="insertion_above", at=("@cached",), status="found", head=("def compute_total",), name="compute_total",
         after=[("import sqlite3\n", "import sqlite3\nimport os\nimport json\n\nDEBUG = os.environ.get('DEBUG')\n\n\ndef dump(x):\n    return json.dumps(x)\n")]),
    dict(id="move_within", edit="move_within_file", at=('log("loaded %s" % path)',), status="found", head=("def load_config",), name="load_config",
         after=lambda t: cut(t, PY_LOAD) + "\n\n" + PY_LOAD.rstrip() + "\n"),
    dict(id="move_into_class", edit="move_into_container", at=("return 42",), status="found", head=("def helper",), name="helper",
         after=lambda t: apply(cut(t, PY_HELPER), [("        self.conn = conn\n\n    def save(self, user)", "        self.conn = conn\n\n    @staticmethod\n    def helper():\n        return 42\n\n    def save(self, user)")])),
    dict(id="rename", edit="rename", at=("return parse(data)",), status="renamed", head=("def read_config",), name="read_config",
         after=[("def load_config(path):", "def read_config(path):")]),
    dict(id="renamed_sibling", edit="renamed_sibling", at=("INSERT INTO users",), status="found", head=("def save(self, user)",), name="save",
         after=[("    def find(self, name):", "    def find_by_name(self, name):"), ("    def __init__(self, conn):\n        self.conn = conn\n\n    def save(self, user)", "    def __init__(self, connection):\n        self.conn = connection\n\n    def save(self, user)")]),
    dict(id="light_edit", edit="light_body_edit", at=("total += item.price",), status="found", head=("def compute_total",), name="compute_total",
         after=[("    total = 0\n", "    total = 0.0\n"), ("        total += item.price * item.qty\n", "        if item.qty:\n            total += item.price * item.qty\n")]),
    dict(id="same_name_b", edit="same_name_containers", at=("INSERT INTO orders",), status="found", head=("def save(self, order)",), name="save",
         after=lambda t: apply(cut(t, PY_OREPO), [("class UserRepo:", PY_OREPO + "class UserRepo:")])),
    dict(id="same_name_a", edit="same_name_containers", at=("INSERT INTO users",), status="found", head=("def save(self, user)",), name="save",
         after=lambda t: apply(t, [("INSERT INTO orders VALUES (?, ?)", "INSERT INTO orders VALUES (?, ?) RETURNING id"), ("class UserRepo:\n", "class UserRepo(Base):\n    table = 'users'\n\n")])),
    dict(id="delete", edit="deletion", at=("return 42",), status="orphaned", after=lambda t: cut(t, PY_HELPER)),
    dict(id="delete_lookalike", edit="deletion_with_lookalike", at=("return parse_settings(data)",), status="orphaned",
         after=lambda t: cut(t, t[t.index("def load_settings"):t.index("@cached")])),
    dict(id="delete_lookalike_method", edit="deletion_with_lookalike", at=("INSERT INTO users",), status="orphaned",
         after=lambda t: cut(t, PY_USAVE)),
    dict(id="duplicate", edit="duplicate", at=("total += item.price",), status="ambiguous",
         after=lambda t: t + "\n\n" + PY_CT),
])

# ---------------------------------------------------------------- Rust
RS = '''use std::fmt;
use std::path::Path;

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
'''
RS_USAVE = '''
    pub fn save(&self, db: &mut Db) -> Result<u64, DbError> {
        let sql = format!("INSERT INTO users VALUES ('{}')", self.name);
        db.execute(&sql)?;
        Ok(db.last_id())
    }
'''
RS_LOAD = RS[RS.index("/// Reads the configuration"):RS.index("pub fn load_settings")]
RS_HELPER = '''
fn helper() -> u32 {
    42
}
'''
RS_DISP_USER = RS[RS.index("impl fmt::Display for User"):RS.index("impl fmt::Display for Order")]
lang("rs", "rs", RS, [
    dict(id="reformat", edit="reformat", at=("let sql = format!(\"INSERT INTO orders",), status="found", head=("pub fn save(", 2), name="save",
         after=[('''    pub fn save(&self, db: &mut Db) -> Result<u64, DbError> {
        let sql = format!("INSERT INTO orders VALUES ({}, {})", self.id, self.total);''', '''    pub fn save(
        &self,
        db: &mut Db,
    ) -> Result<u64, DbError> {
        // orders are append-only
        let sql = format!(
            "INSERT INTO orders VALUES ({}, {})",
            self.id, self.total,
        );''')]),
    dict(id="insert_above", edit="insertion_above", at=("total += item.price",), status="found", head=("pub fn compute_total",), name="compute_total",
         after=[("use std::path::Path;\n", "use std::path::Path;\nuse std::io;\n\nconst LIMIT: usize = 10;\n\npub fn clamp(x: usize) -> usize {\n    x.min(LIMIT)\n}\n")]),
    dict(id="move_within", edit="move_within_file", at=("parse_config(&data)",), status="found", head=("pub fn load_config",), name="load_config",
         after=lambda t: cut(t, RS_LOAD) + "\n" + RS_LOAD.rstrip() + "\n"),
    dict(id="move_into_impl", edit="move_into_container", at=("    42",), status="found", head=("fn helper",), name="helper",
         after=lambda t: apply(cut(t, RS_HELPER), [("impl User {\n", "impl User {\n    fn helper() -> u32 {\n        42\n    }\n\n")])),
    dict(id="rename", edit="rename", at=("parse_config(&data)",), status="renamed", head=("pub fn read_config",), name="read_config",
         after=[("pub fn load_config(path", "pub fn read_config(path")]),
    dict(id="renamed_sibling", edit="renamed_sibling", at=("INSERT INTO users",), status="found", head=("pub fn save(&self, db: &mut Db)",), name="save",
         after=[("    pub fn new(name: &str, age: u32) -> Self {", "    pub fn create(name: &str, age: u32) -> Self {")]),
    dict(id="light_edit", edit="light_body_edit", at=("total += item.price",), status="found", head=("pub fn compute_total",), name="compute_total",
         after=[("        total += item.price * item.qty;\n", "        total += item.price.saturating_mul(item.qty);\n")]),
    dict(id="same_name_trait_impl", edit="same_name_containers", at=("write!(f, \"#{}",), status="found", head=("fn fmt(", 1), name="fmt",
         after=lambda t: apply(cut(t, RS_DISP_USER), [("/// Reads the configuration", RS_DISP_USER.replace('"{} ({})"', '"{} aged {}"') + "/// Reads the configuration")])),
    dict(id="same_name_impl", edit="same_name_containers", at=("INSERT INTO orders",), status="found", head=("pub fn save(&self, db: &mut Db)", 1), name="save",
         after=lambda t: apply(cut(t, RS_USAVE), [("pub struct User {", "pub struct Admin;\n\npub struct User {")])),
    dict(id="delete", edit="deletion", at=("    42",), status="orphaned", after=lambda t: cut(t, RS_HELPER)),
    dict(id="delete_lookalike", edit="deletion_with_lookalike", at=("parse_config(&data)",), status="orphaned",
         after=lambda t: cut(t, RS_LOAD)),
    dict(id="delete_lookalike_method", edit="deletion_with_lookalike", at=("INSERT INTO users",), status="orphaned",
         after=lambda t: cut(t, RS_USAVE)),
    dict(id="duplicate", edit="duplicate", at=("write!(f, \"{} ({})\"",), status="ambiguous",
         after=lambda t: t + "\n" + RS_DISP_USER),
])

# ---------------------------------------------------------------- JavaScript
JS = '''import { log } from './util.js';
import fs from 'fs';

export class UserRepo {
  constructor(db) {
    this.db = db;
  }

  save(user) {
    const sql = "INSERT INTO users VALUES ('" + user.name + "')";
    this.db.run(sql);
    return this.db.lastId();
  }

  find(name) {
    return this.db.get(`SELECT * FROM users WHERE name = '${name}'`);
  }
}

export class OrderRepo {
  constructor(db) {
    this.db = db;
  }

  save(order) {
    const sql = 'INSERT INTO orders VALUES (?, ?)';
    this.db.run(sql, [order.id, order.total]);
    return this.db.lastId();
  }
}

/** Reads the configuration file. */
export function loadConfig(path) {
  const data = fs.readFileSync(path, 'utf8');
  log(`loaded ${path}`);
  return parseConfig(data);
}

export function loadSettings(path) {
  const data = fs.readFileSync(path, 'utf8');
  log(`loaded ${path}`);
  return parseSettings(data);
}

export const computeTotal = (items) => {
  let total = 0;
  for (const item of items) {
    total += item.price * item.qty;
  }
  return total;
};

function helper() {
  return 42;
}
'''
JS_LOAD = JS[JS.index("/** Reads the configuration"):JS.index("export function loadSettings")]
JS_HELPER = '''
function helper() {
  return 42;
}
'''
JS_USAVE = '''  save(user) {
    const sql = "INSERT INTO users VALUES ('" + user.name + "')";
    this.db.run(sql);
    return this.db.lastId();
  }

'''
JS_OREPO = JS[JS.index("export class OrderRepo"):JS.index("/** Reads the configuration")]
JS_CT = JS[JS.index("export const computeTotal"):JS.index("function helper")]
lang("js", "js", JS, [
    dict(id="reformat", edit="reformat", at=("const data = fs.readFileSync", 1), status="found", head=("export function loadConfig",), name="loadConfig",
         after=[(JS_LOAD, '''/** Reads the configuration file. */
export function loadConfig (path)
{
    // sync on purpose: startup only
    const data = fs.readFileSync( path, 'utf8' )
    log( `loaded ${path}` )
    return parseConfig( data )
}

''')]),
    dict(id="insert_above", edit="insertion_above", at=("total += item.price",), status="found", head=("export const computeTotal",), name="computeTotal",
         after=[("import fs from 'fs';\n", "import fs from 'fs';\nimport path from 'path';\n\nconst LIMIT = 10;\n\nfunction clamp(x) {\n  return Math.min(x, LIMIT);\n}\n")]),
    dict(id="move_within", edit="move_within_file", at=("return parseConfig(data)",), status="found", head=("export function loadConfig",), name="loadConfig",
         after=lambda t: cut(t, JS_LOAD) + "\n" + JS_LOAD.rstrip() + "\n"),
    dict(id="move_into_class", edit="move_into_container", at=("return 42",), status="found", head=("helper()",), name="helper",
         after=lambda t: apply(cut(t, JS_HELPER), [("  find(name) {", "  static helper() {\n    return 42;\n  }\n\n  find(name) {")])),
    dict(id="rename", edit="rename", at=("return parseConfig(data)",), status="renamed", head=("export function readConfig",), name="readConfig",
         after=[("export function loadConfig(path)", "export function readConfig(path)")]),
    dict(id="renamed_sibling", edit="renamed_sibling", at=("INSERT INTO orders",), status="found", head=("save(order)",), name="save",
         after=[("export class UserRepo {", "export class UserStore {"), ("  find(name) {", "  findByName(name) {")]),
    dict(id="light_edit", edit="light_body_edit", at=("SELECT * FROM users",), status="found", head=("find(name)",), name="find",
         after=[("    return this.db.get(`SELECT * FROM users WHERE name = '${name}'`);", "    return this.db.get('SELECT * FROM users WHERE name = ?', [name]);")]),
    dict(id="same_name_b", edit="same_name_containers", at=("INSERT INTO orders",), status="found", head=("save(order)",), name="save",
         after=lambda t: apply(cut(t, JS_OREPO), [("export class UserRepo {", JS_OREPO + "export class UserRepo {")])),
    dict(id="same_name_a", edit="same_name_containers", at=("INSERT INTO users",), status="found", head=("save(user)",), name="save",
         after=[("    this.db.run(sql, [order.id, order.total]);\n", "    this.db.run(sql, [order.id, order.total]);\n    log('order saved');\n")]),
    dict(id="delete", edit="deletion", at=("return 42",), status="orphaned", after=lambda t: cut(t, JS_HELPER)),
    dict(id="delete_lookalike", edit="deletion_with_lookalike", at=("return parseConfig(data)",), status="orphaned",
         after=lambda t: cut(t, JS_LOAD)),
    dict(id="delete_lookalike_method", edit="deletion_with_lookalike", at=("INSERT INTO users",), status="orphaned",
         after=lambda t: cut(t, JS_USAVE)),
    dict(id="duplicate", edit="duplicate", at=("for (const item of items)",), status="ambiguous",
         after=lambda t: t + "\n" + JS_CT),
])

# ---------------------------------------------------------------- TypeScript
TS = '''import { Db } from './db';

export interface Repo<T> {
  save(item: T): number;
  find(key: string): T | undefined;
}

export type Money = number;

export class UserRepo implements Repo<User> {
  constructor(private db: Db) {}

  save(user: User): number {
    const sql = `INSERT INTO users VALUES ('${user.name}')`;
    this.db.run(sql);
    return this.db.lastId();
  }

  find(name: string): User | undefined {
    return this.db.get<User>(`SELECT * FROM users WHERE name = '${name}'`);
  }
}

export class OrderRepo implements Repo<Order> {
  constructor(private db: Db) {}

  save(order: Order): number {
    this.db.run('INSERT INTO orders VALUES (?, ?)', [order.id, order.total]);
    return this.db.lastId();
  }

  find(id: string): Order | undefined {
    return this.db.get<Order>('SELECT * FROM orders WHERE id = ?', [id]);
  }
}

export function loadConfig(path: string): Config {
  const data = readFileSync(path, 'utf8');
  console.log(`loaded ${path}`);
  return parseConfig(data);
}

export function loadSettings(path: string): Settings {
  const data = readFileSync(path, 'utf8');
  console.log(`loaded ${path}`);
  return parseSettings(data);
}

export const computeTotal = (items: Item[]): Money => {
  let total = 0;
  for (const item of items) {
    total += item.price * item.qty;
  }
  return total;
};

function helper(): number {
  return 42;
}
'''
TS_LOAD = TS[TS.index("export function loadConfig"):TS.index("export function loadSettings")]
TS_HELPER = '''
function helper(): number {
  return 42;
}
'''
TS_USAVE = TS[TS.index("  save(user: User)"):TS.index("  find(name: string)")]
TS_UREPO = TS[TS.index("export class UserRepo"):TS.index("export class OrderRepo")]
TS_IFACE = TS[TS.index("export interface Repo"):TS.index("export type Money")]
lang("ts", "ts", TS, [
    dict(id="reformat", edit="reformat", at=("INSERT INTO orders",), status="found", head=("save(order: Order)",), name="save",
         after=[("    this.db.run('INSERT INTO orders VALUES (?, ?)', [order.id, order.total]);", "    this.db.run(\n      'INSERT INTO orders VALUES (?, ?)',\n      [order.id, order.total],\n    );")]),
    dict(id="insert_above", edit="insertion_above", at=("find(key: string)",), status="found", head=("find(key: string)",), name="find",
         after=[("import { Db } from './db';\n", "import { Db } from './db';\nimport { readFileSync } from 'fs';\n\nexport enum Level {\n  Low,\n  High,\n}\n")]),
    dict(id="move_within", edit="move_within_file", at=("return parseConfig(data)",), status="found", head=("export function loadConfig",), name="loadConfig",
         after=lambda t: apply(cut(t, TS_LOAD), [("export type Money = number;\n", "export type Money = number;\n\n" + TS_LOAD.rstrip() + "\n")])),
    dict(id="move_into_class", edit="move_into_container", at=("return 42",), status="found", head=("helper(): number",), name="helper",
         after=lambda t: apply(cut(t, TS_HELPER), [("  constructor(private db: Db) {}\n\n  save(order", "  constructor(private db: Db) {}\n\n  private helper(): number {\n    return 42;\n  }\n\n  save(order")])),
    dict(id="rename", edit="rename", at=("SELECT * FROM users",), status="renamed", head=("findByName(name: string)",), name="findByName",
         after=[("  find(name: string): User | undefined {", "  findByName(name: string): User | undefined {")]),
    dict(id="renamed_sibling", edit="renamed_sibling", at=("return parseSettings(data)",), status="found", head=("export function loadSettings",), name="loadSettings",
         after=[("export function loadConfig(path: string)", "export function readConfig(path: string)")]),
    dict(id="light_edit", edit="light_body_edit", at=("INSERT INTO users",), status="found", head=("save(user: User)",), name="save",
         after=[("    const sql = `INSERT INTO users VALUES ('${user.name}')`;\n    this.db.run(sql);", "    const sql = 'INSERT INTO users VALUES (?)';\n    this.db.run(sql, [user.name]);")]),
    dict(id="same_name_find", edit="same_name_containers", at=("SELECT * FROM orders",), status="found", head=("find(id: string)",), name="find",
         after=lambda t: apply(cut(t, TS_UREPO), [("export function loadConfig", TS_UREPO + "export function loadConfig")])),
    dict(id="same_name_iface", edit="same_name_containers", at=("save(item: T)",), status="found", head=("save(item: T)",), name="save",
         after=lambda t: apply(cut(t, TS_IFACE), [("export type Money = number;\n", "export type Money = number;\n\n" + TS_IFACE.rstrip() + "\n")])),
    dict(id="delete", edit="deletion", at=("return 42",), status="orphaned", after=lambda t: cut(t, TS_HELPER)),
    dict(id="delete_lookalike", edit="deletion_with_lookalike", at=("return parseSettings(data)",), status="orphaned",
         after=lambda t: cut(t, t[t.index("export function loadSettings"):t.index("export const computeTotal")])),
    dict(id="delete_lookalike_method", edit="deletion_with_lookalike", at=("INSERT INTO users",), status="orphaned",
         after=lambda t: cut(t, TS_USAVE)),
    dict(id="duplicate", edit="duplicate", at=("parseConfig(data)",), status="ambiguous",
         after=lambda t: t + "\n" + TS_LOAD.rstrip() + "\n"),
])

# ---------------------------------------------------------------- Go
GO = '''package store

import (
	"database/sql"
	"fmt"
	"os"
)

type UserRepo struct {
	db *sql.DB
}

type OrderRepo struct {
	db *sql.DB
}

func (r *UserRepo) Save(u User) (int64, error) {
	q := fmt.Sprintf("INSERT INTO users VALUES ('%s')", u.Name)
	res, err := r.db.Exec(q)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (r *OrderRepo) Save(o Order) (int64, error) {
	res, err := r.db.Exec("INSERT INTO orders VALUES (?, ?)", o.ID, o.Total)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (r *UserRepo) Find(name string) (*User, error) {
	row := r.db.QueryRow("SELECT * FROM users WHERE name = '" + name + "'")
	var u User
	return &u, row.Scan(&u.Name)
}

// LoadConfig reads the configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fmt.Println("loaded", path)
	return parseConfig(data)
}

func LoadSettings(path string) (*Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fmt.Println("loaded", path)
	return parseSettings(data)
}

func ComputeTotal(items []Item) int {
	total := 0
	for _, it := range items {
		total += it.Price * it.Qty
	}
	return total
}

func helper() int {
	return 42
}
'''
GO_LOAD = GO[GO.index("// LoadConfig reads"):GO.index("func LoadSettings")]
GO_HELPER = '''
func helper() int {
	return 42
}
'''
GO_USAVE = GO[GO.index("func (r *UserRepo) Save"):GO.index("func (r *OrderRepo) Save")]
GO_OSAVE = GO[GO.index("func (r *OrderRepo) Save"):GO.index("func (r *UserRepo) Find")]
GO_CT = GO[GO.index("func ComputeTotal"):GO.index("func helper")]
lang("go", "go", GO, [
    dict(id="reformat", edit="reformat", at=("total += it.Price",), status="found", head=("func ComputeTotal",), name="ComputeTotal",
         after=[(GO_CT, '''func ComputeTotal(items []Item) int {
	// sum of line totals
	total := 0

	for _, it := range items { total += it.Price * it.Qty }

	return total
}

''')]),
    dict(id="insert_above", edit="insertion_above", at=("INSERT INTO orders",), status="found", head=("func (r *OrderRepo) Save",), name="Save",
         after=[("type UserRepo struct {", "const limit = 10\n\nfunc clamp(x int) int {\n\tif x > limit {\n\t\treturn limit\n\t}\n\treturn x\n}\n\ntype UserRepo struct {")]),
    dict(id="move_within", edit="move_within_file", at=("return parseConfig(data)",), status="found", head=("func LoadConfig",), name="LoadConfig",
         after=lambda t: apply(cut(t, GO_LOAD), [("type UserRepo struct {", GO_LOAD + "type UserRepo struct {")])),
    dict(id="move_into_receiver", edit="move_into_container", at=("return 42",), status="found", head=("helper() int",), name="helper",
         after=lambda t: cut(t, GO_HELPER) + "\nfunc (r *UserRepo) helper() int {\n\treturn 42\n}\n"),
    dict(id="rename", edit="rename", at=("return parseConfig(data)",), status="renamed", head=("func ReadConfig",), name="ReadConfig",
         after=[("func LoadConfig(path string)", "func ReadConfig(path string)"), ("// LoadConfig reads", "// ReadConfig reads")]),
    dict(id="renamed_sibling", edit="renamed_sibling", at=("SELECT * FROM users",), status="found", head=("func (r *UserRepo) Find",), name="Find",
         after=[("func LoadConfig(path string)", "func ReadConfig(path string)"), ("func (r *OrderRepo) Save(o Order)", "func (r *OrderRepo) Store(o Order)")]),
    dict(id="light_edit", edit="light_body_edit", at=("INSERT INTO users",), status="found", head=("func (r *UserRepo) Save",), name="Save",
         after=[("\tq := fmt.Sprintf(\"INSERT INTO users VALUES ('%s')\", u.Name)\n\tres, err := r.db.Exec(q)", "\tres, err := r.db.Exec(\"INSERT INTO users VALUES (?)\", u.Name)")]),
    dict(id="same_name_b", edit="same_name_containers", at=("INSERT INTO orders",), status="found", head=("func (r *OrderRepo) Save",), name="Save",
         after=lambda t: apply(cut(t, GO_OSAVE), [("func (r *UserRepo) Save", GO_OSAVE + "func (r *UserRepo) Save")])),
    dict(id="same_name_a", edit="same_name_containers", at=("INSERT INTO users",), status="found", head=("func (r *UserRepo) Save",), name="Save",
         after=lambda t: cut(t, GO_USAVE) + "\n" + GO_USAVE.rstrip() + "\n"),
    dict(id="delete", edit="deletion", at=("return 42",), status="orphaned", after=lambda t: cut(t, GO_HELPER)),
    dict(id="delete_lookalike", edit="deletion_with_lookalike", at=("return parseConfig(data)",), status="orphaned",
         after=lambda t: cut(t, GO_LOAD)),
    dict(id="delete_lookalike_method", edit="deletion_with_lookalike", at=("INSERT INTO users",), status="orphaned",
         after=lambda t: cut(t, GO_USAVE)),
    dict(id="duplicate", edit="duplicate", at=("total += it.Price",), status="ambiguous",
         after=lambda t: t + "\n" + GO_CT.rstrip() + "\n"),
])

# ---------------------------------------------------------------- TSX
TSX = '''import React, { useState } from 'react';

interface Props {
  label: string;
  onSave: (v: string) => void;
}

export function SaveButton({ label, onSave }: Props) {
  const [value, setValue] = useState('');
  return (
    <button onClick={() => onSave(value)}>
      {label}
    </button>
  );
}

export const Greeting = ({ name }: { name: string }) => {
  return <div dangerouslySetInnerHTML={{ __html: name }} />;
};

export class Panel extends React.Component<Props> {
  render() {
    return <section>{this.props.label}</section>;
  }
}

export class Modal extends React.Component<Props> {
  render() {
    return <dialog>{this.props.label}</dialog>;
  }
}
'''
TSX_GREET = TSX[TSX.index("export const Greeting"):TSX.index("export class Panel")]
lang("tsx", "tsx", TSX, [
    dict(id="insert_above", edit="insertion_above", at=("dangerouslySetInnerHTML",), status="found", head=("export const Greeting",), name="Greeting",
         after=[("interface Props {", "const MAX = 3;\n\nexport function Badge() {\n  return <span>new</span>;\n}\n\ninterface Props {")]),
    dict(id="rename", edit="rename", at=("dangerouslySetInnerHTML",), status="renamed", head=("export const Welcome",), name="Welcome",
         after=[("export const Greeting = ", "export const Welcome = ")]),
    dict(id="same_name_render", edit="same_name_containers", at=("<dialog>",), status="found", head=("render()", 2), name="render",
         after=[("    return <section>{this.props.label}</section>;", '    return <section className="panel">{this.props.label}</section>;')]),
    dict(id="delete_lookalike", edit="deletion_with_lookalike", at=("<dialog>",), status="orphaned",
         after=lambda t: t[:t.index("export class Modal")].rstrip() + "\n"),
    dict(id="light_edit", edit="light_body_edit", at=("onClick",), status="found", head=("export function SaveButton",), name="SaveButton",
         after=[("    <button onClick={() => onSave(value)}>", "    <button disabled={!value} onClick={() => onSave(value)}>")]),
])
