'use strict';

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
