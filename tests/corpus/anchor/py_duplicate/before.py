import sqlite3

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
