import { log } from './util.js';
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

export const computeTotal = (items) => {
  let total = 0;
  for (const item of items) {
    total += item.price * item.qty;
  }
  return total;
};

