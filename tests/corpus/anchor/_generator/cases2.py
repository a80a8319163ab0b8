# ---------------------------------------------------------------- batch 2: other shapes
PY2 = '''"""Account service."""
from dataclasses import dataclass

RATE = 0.05


@dataclass
class Account:
    owner: str
    balance: float = 0.0

    @property
    def label(self):
        return f"{self.owner}: {self.balance:.2f}"

    @label.setter
    def label(self, value):
        self.owner, _ = value.split(":", 1)

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balance += amount
        return self.balance

    def withdraw(self, amount):
        if amount > self.balance:
            raise ValueError("insufficient funds")
        self.balance -= amount
        return self.balance


def make_report(accounts):
    def fmt(a):
        return "%s %.2f" % (a.owner, a.balance)

    lines = [fmt(a) for a in accounts if a.balance > 0]
    return "\\n".join(lines)


def apply_interest(accounts, rate=RATE):
    for a in accounts:
        a.balance *= 1 + rate
    return accounts
'''
PY2_LABEL_GET = '''    @property
    def label(self):
        return f"{self.owner}: {self.balance:.2f}"

'''
PY2_ACC = PY2[PY2.index("@dataclass"):PY2.index("def make_report")]
lang("py2", "py", PY2, [
    dict(id="getter_deleted_setter_remains", edit="deletion_with_lookalike", at=('return f"{self.owner}',), status="orphaned",
         after=lambda t: cut(t, PY2_LABEL_GET)),
    dict(id="setter_after_getter_edit", edit="same_name_containers", at=('self.owner, _ = value.split',), status="found", head=("def label(self, value)",), name="label",
         after=[('return f"{self.owner}: {self.balance:.2f}"', 'return f"{self.owner} ({self.balance:.2f})"')]),
    dict(id="nested_fn_light_edit", edit="light_body_edit", at=('return "%s %.2f"',), status="found", head=("def fmt(a)",), name="fmt",
         after=[('return "%s %.2f" % (a.owner, a.balance)', 'return "%s %.2f EUR" % (a.owner, a.balance)')]),
    dict(id="class_renamed_method_follows", edit="move_into_container", at=('raise ValueError("insufficient funds")',), status="found", head=("def withdraw",), name="withdraw",
         after=[("class Account:", "class BankAccount:")]),
    dict(id="class_line_reformat", edit="reformat", at=("class Account:",), status="found", head=("class Account",), name="Account",
         after=lambda t: t.replace("    owner: str\n    balance: float = 0.0\n", "    owner : str\n    balance : float=0.0 # in EUR\n")),
    dict(id="rename_and_light_edit", edit="rename", at=("a.balance *= 1 + rate",), status="renamed", head=("def add_interest",), name="add_interest",
         after=[("def apply_interest(accounts, rate=RATE):", "def add_interest(accounts, rate=RATE):"), ("    return accounts\n", "    return list(accounts)\n")]),
    dict(id="module_const", edit="insertion_above", at=("RATE = 0.05",), status="found", head=("RATE = 0.05",), name="RATE",
         after=[('from dataclasses import dataclass\n', 'from dataclasses import dataclass\nimport logging\n\nlog = logging.getLogger(__name__)\n')]),
    dict(id="class_attr_is_class", edit="move_within_file", at=("balance: float = 0.0",), status="found", head=("class Account",), name="Account",
         after=lambda t: cut(t, PY2_ACC) + "\n\n" + PY2_ACC.rstrip() + "\n"),
])

RS2 = '''//! Shapes.

/// A drawable shape.
pub trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String {
        "shape".to_string()
    }
}

#[derive(Debug, Clone)]
pub enum Kind {
    Circle,
    Square,
}

pub struct Circle {
    pub r: f64,
}

pub struct Square {
    pub side: f64,
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.r * self.r
    }
}

impl Shape for Square {
    fn area(&self) -> f64 {
        self.side * self.side
    }
}

pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {
    shapes.iter().map(|s| s.area()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_area() {
        assert_eq!(Square { side: 2.0 }.area(), 4.0);
    }

    #[test]
    fn circle_area() {
        assert!(Circle { r: 1.0 }.area() > 3.14);
    }
}
'''
RS2_SQ = RS2[RS2.index("impl Shape for Square"):RS2.index("pub fn total_area")]
lang("rs2", "rs", RS2, [
    dict(id="trait_impl_method_swap", edit="same_name_containers", at=("self.side * self.side",), status="found", head=("fn area(&self) -> f64 {", 1), name="area",
         after=lambda t: apply(t, [("impl Shape for Circle", "impl Shape for Square"), ("impl Shape for Square {\n    fn area(&self) -> f64 {\n        self.side", "impl Shape for Circle {\n    fn area(&self) -> f64 {\n        self.side")])
         .replace("std::f64::consts::PI * self.r * self.r", "@@").replace("self.side * self.side", "std::f64::consts::PI * self.r * self.r").replace("@@", "self.side * self.side")),
    dict(id="impl_deleted", edit="deletion_with_lookalike", at=("self.side * self.side",), status="orphaned",
         after=lambda t: cut(t, RS2_SQ)),
    dict(id="doc_comment_line", edit="insertion_above", at=("/// A drawable shape.",), status="found", head=("pub trait Shape",), name="Shape",
         after=[("//! Shapes.\n", "//! Shapes.\n\nuse std::fmt;\n")]),
    dict(id="attr_line_enum", edit="light_body_edit", at=("#[derive(Debug, Clone)]",), status="found", head=("pub enum Kind",), name="Kind",
         after=[("    Square,\n}", "    Square,\n    Triangle,\n}")]),
    dict(id="test_fn_renamed", edit="rename", at=("assert_eq!(Square",), status="renamed", head=("fn square_area_is_side_squared",), name="square_area_is_side_squared",
         after=[("    fn square_area() {", "    fn square_area_is_side_squared() {")]),
    dict(id="test_fn_deleted_twin", edit="deletion_with_lookalike", at=("assert!(Circle",), status="orphaned",
         after=lambda t: cut(t, "\n    #[test]\n    fn circle_area() {\n        assert!(Circle { r: 1.0 }.area() > 3.14);\n    }\n")),
    dict(id="free_fn_into_impl", edit="move_into_container", at=("shapes.iter()",), status="found", head=("pub fn total_area",), name="total_area",
         after=lambda t: cut(t, "pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {\n    shapes.iter().map(|s| s.area()).sum()\n}\n\n").replace("pub struct Square {", "impl Circle {\n    pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {\n        shapes.iter().map(|s| s.area()).sum()\n    }\n}\n\npub struct Square {")),
])

JS2 = ''''use strict';

const db = require('./db');

exports.handler = async (event) => {
  const id = event.pathParameters.id;
  const row = await db.query('SELECT * FROM items WHERE id = ' + id);
  return { statusCode: 200, body: JSON.stringify(row) };
};

exports.list = async (event) => {
  const rows = await db.query('SELECT * FROM items');
  return { statusCode: 200, body: JSON.stringify(rows) };
};

class Cache {
  #store = new Map();

  get(key) {
    return this.#store.get(key);
  }

  set(key, value) {
    this.#store.set(key, value);
    return this;
  }

  onEvict = (key) => {
    this.#store.delete(key);
  };
}

module.exports.Cache = Cache;
'''
lang("js2", "js", JS2, [
    dict(id="exports_handler_insert", edit="insertion_above", at=("WHERE id = ' + id",), status="found", head=("exports.handler",), name="handler",
         after=[("const db = require('./db');\n", "const db = require('./db');\nconst log = require('./log');\n\nfunction parse(x) {\n  return JSON.parse(x);\n}\n")]),
    dict(id="exports_handler_deleted_twin", edit="deletion_with_lookalike", at=("SELECT * FROM items'",), status="orphaned",
         after=lambda t: cut(t, "exports.list = async (event) => {\n  const rows = await db.query('SELECT * FROM items');\n  return { statusCode: 200, body: JSON.stringify(rows) };\n};\n\n")),
    dict(id="getter_vs_setter", edit="renamed_sibling", at=("this.#store.set(key, value)",), status="found", head=("  set(key, value)",), name="set",
         after=[("  get(key) {", "  lookup(key) {")]),
    dict(id="arrow_field", edit="reformat", at=("this.#store.delete(key)",), status="found", head=("onEvict",), name="onEvict",
         after=[("  onEvict = (key) => {\n    this.#store.delete(key);\n  };", "  onEvict = key => { this.#store.delete(key) }")]),
])

TS2 = '''export enum Role {
  Admin = 'admin',
  User = 'user',
}

export type Handler = (req: Request) => Promise<Response>;

export interface Store {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

export abstract class Base {
  abstract name(): string;

  describe(): string {
    return `${this.name()} v1`;
  }
}

export namespace Auth {
  export function check(role: Role, token: string): boolean {
    if (role === Role.Admin) {
      return token.startsWith('adm_');
    }
    return token.length > 0;
  }
}

export function check(role: Role): boolean {
  return role !== Role.User;
}
'''
lang("ts2", "ts", TS2, [
    dict(id="namespace_fn_vs_top", edit="same_name_containers", at=("token.startsWith('adm_')",), status="found", head=("export function check(role: Role, token",), name="check",
         after=lambda t: cut(t, "export function check(role: Role): boolean {\n  return role !== Role.User;\n}\n").replace("export enum Role {", "export function check(role: Role): boolean {\n  return role !== Role.User;\n}\n\nexport enum Role {")),
    dict(id="namespace_fn_deleted", edit="deletion_with_lookalike", at=("token.startsWith('adm_')",), status="orphaned",
         after=lambda t: cut(t, t[t.index("export namespace Auth"):t.index("export function check(role: Role): boolean")])),
    dict(id="enum_member_added", edit="light_body_edit", at=("User = 'user',",), status="found", head=("export enum Role",), name="Role",
         after=[("  User = 'user',\n", "  User = 'user',\n  Guest = 'guest',\n")]),
    dict(id="type_alias_renamed", edit="rename", at=("export type Handler",), status="renamed", head=("export type RequestHandler",), name="RequestHandler",
         after=[("export type Handler =", "export type RequestHandler =")]),
    dict(id="abstract_method_insert", edit="insertion_above", at=("return `${this.name()} v1`",), status="found", head=("describe(): string",), name="describe",
         after=[("  abstract name(): string;\n", "  abstract name(): string;\n\n  version(): number {\n    return 1;\n  }\n")]),
])

GO2 = '''package server

import "net/http"

var defaultMux = http.NewServeMux()

func init() {
	defaultMux.HandleFunc("/health", health)
}

func init() {
	defaultMux.HandleFunc("/users", listUsers)
}

type Handler interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request)
}

type Server struct {
	mux  *http.ServeMux
	addr string
}

func health(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
}

func listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	rows, _ := db.Query("SELECT name FROM users WHERE name LIKE '%" + q + "%'")
	writeJSON(w, rows)
}
'''
lang("go2", "go", GO2, [
    dict(id="init_homonym_deleted", edit="deletion_with_lookalike", at=('HandleFunc("/users"',), status="orphaned",
         after=lambda t: cut(t, 'func init() {\n\tdefaultMux.HandleFunc("/users", listUsers)\n}\n\n')),
    dict(id="init_homonym_edit", edit="same_name_containers", at=('HandleFunc("/users"',), status="found", head=("func init()", 2), name="init",
         after=[('\tdefaultMux.HandleFunc("/health", health)\n', '\tdefaultMux.HandleFunc("/healthz", health)\n')]),
    dict(id="struct_field_added", edit="light_body_edit", at=("addr string",), status="found", head=("type Server struct",), name="Server",
         after=[("\taddr string\n", "\taddr string\n\tlog  *log.Logger\n")]),
    dict(id="rename_handler", edit="rename", at=("LIKE '%",), status="renamed", head=("func searchUsers",), name="searchUsers",
         after=[("func listUsers(w", "func searchUsers(w"), ('HandleFunc("/users", listUsers)', 'HandleFunc("/users", searchUsers)')]),
    dict(id="fn_to_method", edit="move_into_container", at=("LIKE '%",), status="found", head=("listUsers(w",), name="listUsers",
         after=[("func listUsers(w http.ResponseWriter", "func (s *Server) listUsers(w http.ResponseWriter")]),
])

JS3 = '''const express = require('express');
const router = express.Router();

router.get('/users', async (req, res) => {
  const rows = await db.query(`SELECT * FROM users WHERE name = '${req.query.q}'`);
  res.json(rows);
});

router.get('/orders', async (req, res) => {
  const rows = await db.query(`SELECT * FROM orders WHERE ref = '${req.query.q}'`);
  res.json(rows);
});

describe('router', () => {
  it('lists users', async () => {
    const res = await request(app).get('/users');
    expect(res.status).toBe(200);
  });
});

module.exports = router;
'''
lang("js3", "js", JS3, [
    dict(id="route_insert_above", edit="insertion_above", at=("FROM users",), status="found", head=("router.get('/users'",), name="router.get('/users')",
         after=[("const router = express.Router();\n", "const router = express.Router();\nrouter.use(auth);\n\nrouter.post('/login', (req, res) => {\n  res.sendStatus(204);\n});\n")]),
    dict(id="route_deleted_twin", edit="deletion_with_lookalike", at=("FROM users",), status="orphaned",
         after=lambda t: cut(t, t[t.index("router.get('/users'"):t.index("router.get('/orders'")])),
    dict(id="route_path_renamed", edit="rename", at=("FROM users",), status="renamed", head=("router.get('/members'",), name="router.get('/members')",
         after=[("router.get('/users', async", "router.get('/members', async")]),
    dict(id="route_reformat_quotes", edit="reformat", at=("FROM orders",), status="found", head=('router.get("/orders"',), name="router.get('/orders')",
         after=[("router.get('/orders', async (req, res) => {\n  const rows = await db.query(`SELECT * FROM orders WHERE ref = '${req.query.q}'`);", 'router.get("/orders", async (req, res) => {\n  const rows = await db.query(\n    `SELECT * FROM orders WHERE ref = \'${req.query.q}\'`\n  );')]),
    dict(id="nested_test_light_edit", edit="light_body_edit", at=("expect(res.status)",), status="found", head=("it('lists users'",), name="it('lists users')",
         after=[("    expect(res.status).toBe(200);\n", "    expect(res.status).toBe(200);\n    expect(res.body).toHaveLength(2);\n")]),
])

# Small definitions whose parameters change as they move: the body carries them.
lang("py3", "py", PY, [
    dict(id="tiny_fn_into_class_with_self", edit="move_into_container", at=("return 42",), status="found", head=("def helper(self)",), name="helper",
         after=lambda t: apply(cut(t, PY_HELPER), [("    def find(self, name):", "    def helper(self):\n        return 42\n\n    def find(self, name):")])),
    dict(id="rename_with_new_param", edit="rename", at=("return parse(data)",), status="renamed", head=("def read_config",), name="read_config",
         after=[("def load_config(path):\n    with open(path) as fh:", "def read_config(path, encoding=\"utf-8\"):\n    with open(path, encoding=encoding) as fh:")]),
])
lang("rs3", "rs", RS, [
    dict(id="tiny_fn_into_impl_with_self", edit="move_into_container", at=("    42",), status="found", head=("fn helper(&self)",), name="helper",
         after=lambda t: apply(cut(t, RS_HELPER), [("impl Order {\n", "impl Order {\n    fn helper(&self) -> u32 {\n        42\n    }\n\n")])),
])
lang("go3", "go", GO, [
    dict(id="fn_into_receiver_renamed_param", edit="move_into_container", at=("total += it.Price",), status="found", head=("ComputeTotal(items []Item)",), name="ComputeTotal",
         after=lambda t: apply(t, [("func ComputeTotal(items []Item) int {", "func (r *OrderRepo) ComputeTotal(items []Item) int {")])),
])
lang("py4", "py", PY, [
    dict(id="black_quotes_and_rename", edit="rename", at=('return parse_settings(data)',), status="renamed", head=("def read_settings",), name="read_settings",
         after=[('def load_settings(path):\n    with open(path) as fh:\n        data = fh.read()\n    log("loaded %s" % path)', "def read_settings(path):\n    with open(path) as fh:\n        data = fh.read()\n    log('loaded %s' % path)")]),
])
