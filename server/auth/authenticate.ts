// Who is calling: credentials from `Authorization` (Bearer JWT, Bearer key, or a bare token),
// `X-API-Key`, or `?token=` on the WebSocket upgrade, resolved to a caller with its tenant and
// permissions. The common case (a key or token seen before) is synchronous and allocates
// nothing: verified tokens and keys are cached, and each carries a prepared caller.
import { HttpError } from '../errors.js';
import { type Accounts, type ApiKey, hashKey, KEY_PREFIX, type User } from './accounts.js';
import { type Role, rolePermissions } from './roles.js';
import type { Claims, Tokens } from './tokens.js';

export interface Caller {
  tenantId: string;
  /** The tenant id as it appears inside a JSON string (tenant ids need no escaping). */
  tenantJson: string;
  role: Role;
  permissions: number;
  userId: string | null;
  keyId: string | null;
}

export interface Credentials {
  authorization: string;
  apiKey: string;
  /** `?token=` of a WebSocket upgrade. */
  token?: string;
}

const unauthorized = () => new HttpError('UNAUTHORIZED', 'missing or invalid credentials');

function makeCaller(
  tenantId: string,
  role: Role,
  userId: string | null,
  keyId: string | null,
): Caller {
  return {
    tenantId,
    tenantJson: tenantId,
    role,
    permissions: rolePermissions[role],
    userId,
    keyId,
  };
}

export interface Authenticator {
  authenticate(credentials: Credentials): Caller | Promise<Caller>;
}

export function createAuthenticator(
  accounts: Accounts,
  tokens: Tokens,
  keyCacheMax: number,
): Authenticator {
  const keyCache = new Map<string, ApiKey>();
  const keyCallers = new WeakMap<ApiKey, Caller>();
  const userCallers = new WeakMap<User, Caller>();

  const callerOf = (user: User): Caller => {
    let caller = userCallers.get(user);
    if (caller === undefined || caller.role !== user.role) {
      caller = makeCaller(user.tenant_id, user.role, user.id, null);
      userCallers.set(user, caller);
    }
    return caller;
  };

  function byKey(key: string): Caller {
    let record = keyCache.get(key);
    if (record === undefined) {
      record = accounts.keyByHash(hashKey(key));
      if (record === undefined) throw unauthorized();
      if (keyCache.size >= keyCacheMax) keyCache.delete(keyCache.keys().next().value!);
      keyCache.set(key, record);
    }
    if (record.revoked) throw unauthorized();
    if (record.expires_at !== null && Date.parse(record.expires_at) <= Date.now())
      throw unauthorized();
    if (record.user_id !== null && accounts.users.get(record.user_id)?.active !== true)
      throw unauthorized();
    let caller = keyCallers.get(record);
    if (caller === undefined) {
      caller = makeCaller(record.tenant_id, record.role, record.user_id, record.id);
      keyCallers.set(record, caller);
    }
    return caller;
  }

  function byClaims(claims: Claims | null): Caller {
    const user = claims === null ? undefined : accounts.users.get(claims.sub);
    // The user's current state counts, not the token's: deactivation works at once.
    if (user === undefined || !user.active) throw unauthorized();
    return callerOf(user);
  }

  return {
    authenticate({ authorization, apiKey, token }) {
      let credential = apiKey !== '' ? apiKey : (token ?? '');
      if (credential === '' && authorization !== '') {
        credential = authorization.startsWith('Bearer ')
          ? authorization.slice(7).trim()
          : authorization.trim();
      }
      if (credential === '') throw unauthorized();
      if (credential.startsWith(KEY_PREFIX)) return byKey(credential);
      const claims = tokens.verify(credential);
      return claims instanceof Promise ? claims.then(byClaims) : byClaims(claims);
    },
  };
}
