// Users and API keys, kept in memory for O(1) lookups and persisted in <data dir>/auth/accounts.json
// with write-temp, fsync, rename, fsync-directory after every change. Passwords are argon2id
// hashes; API keys are stored only as SHA-256 hashes of the key.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import argon2 from 'argon2';
import { createNodeIo, type Io } from '../../engine/index.js';
import { HttpError } from '../errors.js';
import type { Role } from './roles.js';

export interface User {
  id: string;
  username: string;
  email: string;
  role: Role;
  tenant_id: string;
  password_hash: string;
  active: boolean;
  created_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  hash: string;
  role: Role;
  tenant_id: string;
  /** The user who created it, or null for the bootstrap key. */
  user_id: string | null;
  created_at: string;
  expires_at: string | null;
  revoked: boolean;
}

interface Document {
  format: 1;
  users: User[];
  api_keys: ApiKey[];
}

export const KEY_PREFIX = 'ask_';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function newKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export interface Accounts {
  readonly users: Map<string, User>;
  userByName(username: string): User | undefined;
  keyByHash(hash: string): ApiKey | undefined;
  keys(): IterableIterator<ApiKey>;
  createUser(input: {
    username: string;
    email: string;
    password: string;
    role: Role;
    tenantId: string;
  }): Promise<User>;
  /** With null, verifies against a dummy hash (same cost) and answers false. */
  verifyPassword(user: User | null, password: string): Promise<boolean>;
  createKey(input: {
    name: string;
    role: Role;
    tenantId: string;
    userId: string | null;
    expiresAt: string | null;
    key?: string;
  }): Promise<{ record: ApiKey; key: string }>;
  /** Applies a change to a record and persists it. */
  update(change: () => void): Promise<void>;
  deleteUser(id: string): Promise<void>;
}

export async function openAccounts(dataDir: string, io: Io = createNodeIo()): Promise<Accounts> {
  const dir = path.join(dataDir, 'auth');
  const file = path.join(dir, 'accounts.json');
  io.mkdirp(dir);
  const raw = io.readFile(file);
  const doc: Document =
    raw === null
      ? { format: 1, users: [], api_keys: [] }
      : (JSON.parse(raw.toString('utf8')) as Document);
  if (doc.format !== 1) throw new Error(`${file}: unknown format ${String(doc.format)}`);
  const users = new Map(doc.users.map((u) => [u.id, u]));
  const byName = new Map(doc.users.map((u) => [u.username, u]));
  const byHash = new Map(doc.api_keys.map((k) => [k.hash, k]));
  let dummyHash: string | undefined;
  // One write at a time, in order: a later state never loses to an earlier one.
  let writing = Promise.resolve();
  const persist = (): Promise<void> => {
    const body: Document = {
      format: 1,
      users: [...users.values()],
      api_keys: [...byHash.values()],
    };
    writing = writing.then(() =>
      io.writeFileAtomic(file, Buffer.from(JSON.stringify(body, null, 1))),
    );
    return writing;
  };
  return {
    users,
    userByName: (username) => byName.get(username),
    keyByHash: (hash) => byHash.get(hash),
    keys: () => byHash.values(),
    async createUser({ username, email, password, role, tenantId }) {
      if (byName.has(username)) throw new HttpError('ALREADY_EXISTS', 'that username is taken');
      const user: User = {
        id: randomUUID(),
        username,
        email,
        role,
        tenant_id: tenantId,
        password_hash: await argon2.hash(password, { type: argon2.argon2id }),
        active: true,
        created_at: new Date().toISOString(),
      };
      // Checked again after the await: another request may have taken the name meanwhile.
      if (byName.has(username)) throw new HttpError('ALREADY_EXISTS', 'that username is taken');
      users.set(user.id, user);
      byName.set(username, user);
      await persist();
      return user;
    },
    async verifyPassword(user, password) {
      dummyHash ??= await argon2.hash(randomBytes(16).toString('hex'), { type: argon2.argon2id });
      const ok = await argon2.verify(user?.password_hash ?? dummyHash, password);
      return user !== null && ok;
    },
    async createKey({ name, role, tenantId, userId, expiresAt, key }) {
      const plain = key ?? newKey();
      const record: ApiKey = {
        id: randomUUID(),
        name,
        hash: hashKey(plain),
        role,
        tenant_id: tenantId,
        user_id: userId,
        created_at: new Date().toISOString(),
        expires_at: expiresAt,
        revoked: false,
      };
      byHash.set(record.hash, record);
      await persist();
      return { record, key: plain };
    },
    async update(change) {
      change();
      await persist();
    },
    async deleteUser(id) {
      const user = users.get(id);
      if (user === undefined) return;
      users.delete(id);
      byName.delete(user.username);
      for (const k of byHash.values()) if (k.user_id === id) k.revoked = true;
      await persist();
    },
  };
}
