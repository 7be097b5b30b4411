// SQL for the seed's users table. Always parameterized; ids are bounded by the
// schemas before they get here.
import type { Database } from './database.ts';
import type { User, UserInput } from './schemas.ts';

const COLUMNS = 'id, title, name';

export interface UserPageResult {
  items: User[];
  nextAfter: number | null;
}

export class UsersRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Keyset pagination: stable under concurrent inserts, cost independent of depth. */
  async list(after: number, limit: number): Promise<UserPageResult> {
    // One extra row tells whether another page exists without a count(*).
    const { rows } = await this.#db.query<User>(`SELECT ${COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit + 1]);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextAfter: rows.length > limit && last ? last.id : null };
  }

  async get(id: number): Promise<User | undefined> {
    const { rows } = await this.#db.query<User>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0];
  }

  async create(input: UserInput): Promise<User> {
    const { rows } = await this.#db.query<User>(`INSERT INTO users (title, name) VALUES ($1, $2) RETURNING ${COLUMNS}`, [input.title, input.name ?? null]);
    const created = rows[0];
    if (!created) throw new Error('INSERT ... RETURNING returned no row');
    return created;
  }

  /** Replaces title and name; undefined when no such user. */
  async update(id: number, input: UserInput): Promise<User | undefined> {
    const { rows } = await this.#db.query<User>(`UPDATE users SET title = $2, name = $3 WHERE id = $1 RETURNING ${COLUMNS}`, [id, input.title, input.name ?? null]);
    return rows[0];
  }
}
