// /api/v1/auth/...: login, registration, the caller, API keys, user administration.
import { isValidTenantId } from '../../engine/index.js';
import { HttpError } from '../errors.js';
import { parseJsonBody } from '../http/event_input.js';
import { send } from '../http/reply.js';
import { ANONYMOUS, type Handler } from '../http/request.js';
import type { QuotaChecks } from '../tenants/quotas.js';
import type { Registry } from '../tenants/registry.js';
import type { Accounts, ApiKey, User } from './accounts.js';
import type { Caller } from './authenticate.js';
import { type Backoff, createBackoff } from './backoff.js';
import { isRole, Permission, type Role, within } from './roles.js';
import type { Tokens } from './tokens.js';

export interface AuthRouteOptions {
  passwordMinLength: number;
  /** Anonymous registrations allowed per address per hour (auth.allow_registration). */
  registrationsPerHour: number;
  credentialCacheMax: number;
}

function body(raw: Buffer | null): Record<string, unknown> {
  const value = parseJsonBody(raw!);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError('VALIDATION_ERROR', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function text(b: Record<string, unknown>, field: string, max = 256): string {
  const v = b[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new HttpError(
      'VALIDATION_ERROR',
      `${field} is required: a string of 1-${max} characters`,
      { field },
    );
  }
  return v;
}

const userJson = (u: User) => ({
  id: u.id,
  username: u.username,
  email: u.email,
  role: u.role,
  tenant_id: u.tenant_id,
});
const keyJson = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  tenant_id: k.tenant_id,
  created_at: k.created_at,
  expires_at: k.expires_at,
  revoked: k.revoked,
});

/** A role the caller may grant: never more than its own. */
function grantable(caller: Caller, requested: unknown, fallback: Role): Role {
  const role = requested === undefined ? fallback : requested;
  if (!isRole(role))
    throw new HttpError(
      'VALIDATION_ERROR',
      'role must be admin, developer, readonly or serviceaccount',
      { field: 'role' },
    );
  if (!within(role, caller.role))
    throw new HttpError('FORBIDDEN', 'you cannot grant a role above your own');
  return role;
}

export function authRoutes(
  accounts: Accounts,
  tokens: Tokens,
  backoff: Backoff,
  registry: Registry,
  quotas: QuotaChecks,
  options: AuthRouteOptions,
) {
  const registrations = createBackoff(
    options.registrationsPerHour,
    3600 * 1000,
    options.credentialCacheMax,
  );
  const userOr404 = (caller: Caller, id: string): User => {
    const user = accounts.users.get(id);
    // Another tenant's user is as absent as a missing one.
    if (
      user === undefined ||
      (user.tenant_id !== caller.tenantId && (caller.permissions & Permission.ManageTenants) === 0)
    ) {
      throw new HttpError('NOT_FOUND', 'no such user');
    }
    return user;
  };

  const login: Handler = async (ex, info, _caller, raw) => {
    const b = body(raw);
    const username = text(b, 'username');
    const password = text(b, 'password', 1024);
    const wait = backoff.retryAfter(username, info.remoteAddress);
    if (wait > 0) {
      throw new HttpError('RATE_LIMITED', 'too many failed logins; try again later', {
        retry_after: wait,
      });
    }
    const user = accounts.userByName(username);
    // A missing or inactive user costs the same argon2 work: timing tells nothing.
    const verified = await accounts.verifyPassword(user?.active ? user : null, password);
    const ok = user?.active === true && verified;
    if (!ok) {
      backoff.failed(username, info.remoteAddress);
      throw new HttpError('UNAUTHORIZED', 'invalid username or password');
    }
    backoff.succeeded(username);
    const token = await tokens.issue({ sub: user.id, tenant_id: user.tenant_id, role: user.role });
    send(ex, '200 OK', JSON.stringify({ token, user: userJson(user) }));
  };

  const register: Handler = async (ex, info, caller, raw) => {
    const b = body(raw);
    if (caller === ANONYMOUS) {
      // Open registration (auth.allow_registration): readonly users of the default tenant only,
      // a bounded number per address, since each one costs an argon2 hash.
      if (
        (b.role !== undefined && b.role !== 'readonly') ||
        (b.tenant_id ?? 'default') !== 'default'
      ) {
        throw new HttpError(
          'FORBIDDEN',
          'open registration creates readonly users of the default tenant only',
        );
      }
      const wait = registrations.retryAfter(info.remoteAddress, info.remoteAddress);
      if (wait > 0) {
        throw new HttpError('RATE_LIMITED', 'too many registrations from this address', {
          retry_after: wait,
        });
      }
      registrations.failed(info.remoteAddress, info.remoteAddress);
    }
    const password = text(b, 'password', 1024);
    if (password.length < options.passwordMinLength) {
      throw new HttpError(
        'VALIDATION_ERROR',
        `password must be at least ${options.passwordMinLength} characters`,
        { field: 'password' },
      );
    }
    const home = caller === ANONYMOUS ? 'default' : caller.tenantId;
    const tenantId = b.tenant_id === undefined ? home : text(b, 'tenant_id', 64);
    if (!isValidTenantId(tenantId))
      throw new HttpError('VALIDATION_ERROR', 'tenant_id must be 1-64 of [A-Za-z0-9_-]', {
        field: 'tenant_id',
      });
    if (tenantId !== home && (caller.permissions & Permission.ManageTenants) === 0) {
      throw new HttpError('FORBIDDEN', 'you cannot create users in another tenant');
    }
    if (registry.get(tenantId) === undefined) {
      throw new HttpError('VALIDATION_ERROR', `no tenant ${tenantId}; create it first`, {
        field: 'tenant_id',
      });
    }
    const user = await accounts.createUser({
      username: text(b, 'username', 64),
      email: text(b, 'email'),
      password,
      role: grantable(caller, b.role, 'readonly'),
      tenantId,
    });
    send(
      ex,
      '201 Created',
      JSON.stringify({
        user_id: user.id,
        username: user.username,
        email: user.email,
        role: user.role,
        tenant_id: user.tenant_id,
      }),
    );
  };

  const me: Handler = (ex, _info, caller) => {
    const user = caller.userId === null ? undefined : accounts.users.get(caller.userId);
    const view =
      user === undefined
        ? {
            id: caller.keyId,
            username: null,
            email: null,
            role: caller.role,
            tenant_id: caller.tenantId,
          }
        : userJson(user);
    send(ex, '200 OK', JSON.stringify(view));
  };

  const createKey: Handler = async (ex, _info, caller, raw) => {
    const b = body(raw);
    const days = b.expires_in_days;
    if (
      days !== undefined &&
      (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 3650)
    ) {
      throw new HttpError('VALIDATION_ERROR', 'expires_in_days must be an integer from 1 to 3650', {
        field: 'expires_in_days',
      });
    }
    const live = [...accounts.keys()].filter(
      (k) => k.tenant_id === caller.tenantId && !k.revoked,
    ).length;
    quotas.beforeApiKey(caller.tenantId, live);
    const { record, key } = await accounts.createKey({
      name: text(b, 'name', 128),
      role: grantable(caller, b.role, caller.role),
      tenantId: caller.tenantId,
      userId: caller.userId,
      expiresAt: days === undefined ? null : new Date(Date.now() + days * 86_400_000).toISOString(),
    });
    send(
      ex,
      '201 Created',
      JSON.stringify({ id: record.id, name: record.name, key, expires_at: record.expires_at }),
    );
  };

  const listKeys: Handler = (ex, _info, caller) => {
    const keys = [...accounts.keys()].filter((k) => k.tenant_id === caller.tenantId).map(keyJson);
    send(ex, '200 OK', JSON.stringify({ api_keys: keys, total: keys.length }));
  };

  const revokeKey: Handler = async (ex, info, caller) => {
    const key = [...accounts.keys()].find(
      (k) => k.id === info.params[0] && k.tenant_id === caller.tenantId,
    );
    if (key === undefined) throw new HttpError('NOT_FOUND', 'no such API key');
    if (!within(key.role, caller.role))
      throw new HttpError('FORBIDDEN', 'you cannot revoke a key above your role');
    await accounts.update(() => {
      key.revoked = true;
    });
    send(ex, '200 OK', JSON.stringify({ id: key.id, revoked: true }));
  };

  const listUsers: Handler = (ex, _info, caller) => {
    const all = (caller.permissions & Permission.ManageTenants) !== 0;
    const users = [...accounts.users.values()]
      .filter((u) => all || u.tenant_id === caller.tenantId)
      .map((u) => ({ ...userJson(u), active: u.active, created_at: u.created_at }));
    send(ex, '200 OK', JSON.stringify({ users, total: users.length }));
  };

  const deleteUser: Handler = async (ex, info, caller) => {
    const user = userOr404(caller, info.params[0]!);
    if (user.id === caller.userId)
      throw new HttpError('VALIDATION_ERROR', 'you cannot delete yourself');
    await accounts.deleteUser(user.id);
    send(ex, '200 OK', JSON.stringify({ id: user.id, deleted: true }));
  };

  const setActive =
    (active: boolean): Handler =>
    async (ex, info, caller) => {
      const user = userOr404(caller, info.params[0]!);
      if (!active && user.id === caller.userId)
        throw new HttpError('VALIDATION_ERROR', 'you cannot deactivate yourself');
      await accounts.update(() => {
        user.active = active;
      });
      send(ex, '200 OK', JSON.stringify({ ...userJson(user), active }));
    };

  return {
    login,
    register,
    me,
    createKey,
    listKeys,
    revokeKey,
    listUsers,
    deleteUser,
    activate: setActive(true),
    deactivate: setActive(false),
  };
}
