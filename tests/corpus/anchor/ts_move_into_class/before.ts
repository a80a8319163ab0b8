import { Db } from './db';

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
