// Admin commands: they talk to a running server over HTTP (URL and API key from flags or the
// environment), print tables for people or --json for scripts, and exit non-zero with the
// server's message when it refuses.
import http from 'node:http';
import https from 'node:https';

export class CliError extends Error {}

export interface Context {
  url: string;
  key: string;
  json: boolean;
}

/**
 * One request to the server. node:http rather than fetch: fetch gives up on an answer after five
 * minutes, and a backup of a large store may take longer than that.
 */
export async function request(
  ctx: Context,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const url = new URL(`${ctx.url}${path}`);
  const client = url.protocol === 'https:' ? https : http;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const { status, text } = await new Promise<{ status: number; text: string }>(
    (resolve, reject) => {
      const req = client.request(
        url,
        {
          method,
          headers: {
            'x-api-key': ctx.key,
            ...(payload === undefined
              ? { 'content-length': '0' }
              : {
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }),
          },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            data += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: data }));
          res.on('error', reject);
        },
      );
      req.on('error', (error) => reject(new CliError(`cannot reach ${ctx.url}: ${error.message}`)));
      req.end(payload);
    },
  );
  let parsed: unknown = {};
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new CliError(`the server answered ${status} with a body that is not JSON`);
  }
  if (status < 200 || status >= 300) {
    const e = parsed as { error?: string; code?: string };
    throw new CliError(`${e.error ?? `status ${status}`} (${e.code ?? status})`);
  }
  return parsed;
}

/** Rows of objects as an aligned table of the given columns. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) =>
    columns.map((c) => (typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c] ?? ''))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function print(
  ctx: Context,
  value: unknown,
  rows?: Record<string, unknown>[],
  columns?: string[],
): void {
  if (ctx.json || rows === undefined || columns === undefined)
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else process.stdout.write(`${table(rows, columns)}\n`);
}

export const need = (value: string | undefined, what: string): string => {
  if (value === undefined || value === '') throw new CliError(`${what} is required`);
  return value;
};

/** Options of the admin commands, by their flag names. */
export interface AdminValues {
  url?: string | undefined;
  'api-key'?: string | undefined;
  json?: boolean | undefined;
  username?: string | undefined;
  email?: string | undefined;
  password?: string | undefined;
  role?: string | undefined;
  tenant?: string | undefined;
  name?: string | undefined;
  preset?: string | undefined;
}

export function contextOf(values: AdminValues): Context {
  return {
    url: (values.url ?? process.env.ALLSOURCE_URL ?? 'http://127.0.0.1:3900').replace(/\/$/, ''),
    key: values['api-key'] ?? process.env.ALLSOURCE_API_KEY ?? '',
    json: values.json === true,
  };
}

export async function admin(
  command: string,
  action: string | undefined,
  target: string | undefined,
  values: AdminValues,
): Promise<void> {
  const ctx = contextOf(values);
  try {
    if (ctx.key === '')
      throw new CliError('an admin API key is required: --api-key or ALLSOURCE_API_KEY');
    if (command === 'stats') {
      const s = (await request(ctx, 'GET', '/api/v1/stats')) as Record<string, unknown>;
      print(ctx, s, [s], Object.keys(s));
    } else if (command === 'user' && action === 'create') {
      const created = await request(ctx, 'POST', '/api/v1/auth/register', {
        username: need(values.username, '--username'),
        email: need(values.email, '--email'),
        password: need(values.password, '--password'),
        ...(values.role === undefined ? {} : { role: values.role }),
        ...(values.tenant === undefined ? {} : { tenant_id: values.tenant }),
      });
      print(
        ctx,
        created,
        [created as Record<string, unknown>],
        ['user_id', 'username', 'role', 'tenant_id'],
      );
    } else if (command === 'user' && action === 'list') {
      const r = (await request(ctx, 'GET', '/api/v1/auth/users')) as {
        users: Record<string, unknown>[];
      };
      print(ctx, r, r.users, ['id', 'username', 'role', 'tenant_id', 'active']);
    } else if (command === 'user' && action === 'delete') {
      print(
        ctx,
        await request(
          ctx,
          'DELETE',
          `/api/v1/auth/users/${encodeURIComponent(need(target, 'a user id'))}`,
        ),
      );
    } else if (command === 'tenant' && action === 'create') {
      const created = await request(ctx, 'POST', '/api/v1/tenants', {
        id: need(target, 'a tenant id'),
        name: values.name ?? target,
        ...(values.preset === undefined ? {} : { quota_preset: values.preset }),
      });
      print(ctx, created, [created as Record<string, unknown>], ['id', 'name', 'active']);
    } else if (command === 'tenant' && action === 'list') {
      const r = (await request(ctx, 'GET', '/api/v1/tenants')) as {
        tenants: Record<string, unknown>[];
      };
      print(ctx, r, r.tenants, ['id', 'name', 'active', 'created_at']);
    } else if (command === 'tenant' && action === 'stats') {
      const s = (await request(
        ctx,
        'GET',
        `/api/v1/tenants/${encodeURIComponent(need(target, 'a tenant id'))}/stats`,
      )) as Record<string, unknown>;
      print(
        ctx,
        s,
        [{ tenant_id: s.tenant_id, active: s.active, ...(s.usage as object) }],
        ['tenant_id', 'active', 'events_today', 'queries_this_hour', 'storage_bytes', 'api_keys'],
      );
    } else if (command === 'tenant' && (action === 'activate' || action === 'deactivate')) {
      const r = await request(
        ctx,
        'POST',
        `/api/v1/tenants/${encodeURIComponent(need(target, 'a tenant id'))}/${action}`,
      );
      print(ctx, r, [r as Record<string, unknown>], ['id', 'name', 'active']);
    } else {
      throw new CliError(`unknown command ${command} ${action ?? ''}`.trim());
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 1;
  }
}
