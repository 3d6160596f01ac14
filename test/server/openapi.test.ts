// /openapi.json against the live server: every route documented and nothing else, every
// reference resolvable, and real responses matching their documented shapes.

import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { RunningServer } from '../../server/server.js';
import { startInProcess } from '../helpers/in_process.js';
import { newTmpDir, removeDir } from '../helpers/tmp.js';

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
};

const KEY = `ask_${'o'.repeat(43)}`;
const dir = newTmpDir();
let server: RunningServer;
let base: string;
let doc: {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content: Record<string, { schema: Schema }> }> }>
  >;
  components: { schemas: Record<string, Schema> };
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** The JSON Schema subset the document uses: $ref, type, properties, required, items. */
function check(schema: Schema, value: unknown, where: string): void {
  if (schema.$ref !== undefined) {
    const target = doc.components.schemas[schema.$ref.split('/').pop()!];
    assert.ok(target !== undefined, `${where}: unresolved ${schema.$ref}`);
    check(target, value, where);
    return;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const kind = kindOf(value);
    assert.ok(
      types.includes(kind) || (kind === 'integer' && types.includes('number')),
      `${where}: ${kind} is not ${types.join('|')}`,
    );
  }
  if (schema.properties !== undefined && kindOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) assert.ok(key in obj, `${where}: missing ${key}`);
    for (const [key, sub] of Object.entries(schema.properties))
      if (key in obj) check(sub, obj[key], `${where}.${key}`);
  }
  if (schema.items !== undefined && Array.isArray(value)) {
    for (const [i, v] of value.entries()) check(schema.items, v, `${where}[${i}]`);
  }
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'x-api-key': KEY },
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

/** Checks a live answer against the schema documented for `method pattern` and its status. */
async function conforms(
  method: string,
  pattern: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) {
  const r = await call(method, path, body, headers);
  const op = doc.paths[pattern.replace(/:([a-z_]+)/g, '{$1}')]?.[method.toLowerCase()];
  assert.ok(op !== undefined, `${method} ${pattern} is not documented`);
  const response = op.responses[String(r.status)] ?? op.responses.default!;
  check(response.content['application/json']!.schema, r.body, `${method} ${path} (${r.status})`);
  return r.body as Record<string, unknown>;
}

before(async () => {
  ({ server, base } = await startInProcess(dir, KEY, 'openapi-admin'));
  doc = (await call('GET', '/openapi.json', undefined, {})).body as typeof doc;
});

after(async () => {
  await server.close();
  removeDir(dir);
});

it('documents exactly the live routes', () => {
  const live = new Set(
    server.routes.map((r) => `${r.method} ${r.pattern.replace(/:([a-z_]+)/g, '{$1}')}`),
  );
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    ),
  );
  assert.deepEqual([...documented].sort(), [...live].sort());
});

it('answers with the shapes it documents', async () => {
  const appended = await conforms('POST', '/api/v1/events', '/api/v1/events', {
    event_type: 'doc.check',
    entity_id: 'e1',
    payload: { a: 1 },
  });
  await conforms('POST', '/api/v1/events/batch', '/api/v1/events/batch', {
    events: [{ event_type: 'doc.check', entity_id: 'e1', payload: { b: 2 } }],
  });
  await conforms('GET', '/api/v1/events/query', '/api/v1/events/query?entity_id=e1');
  await conforms('GET', '/api/v1/events/:event_id', `/api/v1/events/${appended.event_id}`);
  await conforms('GET', '/api/v1/entities/:entity_id/state', '/api/v1/entities/e1/state');
  await conforms('POST', '/api/v1/snapshots', '/api/v1/snapshots', { entity_id: 'e1' });
  await conforms('GET', '/api/v1/snapshots/:entity_id/latest', '/api/v1/snapshots/e1/latest');
  await conforms('GET', '/api/v1/stats', '/api/v1/stats');
  await conforms('GET', '/health', '/health', undefined, {});
  await conforms(
    'POST',
    '/api/v1/auth/login',
    '/api/v1/auth/login',
    { username: 'admin', password: 'openapi-admin' },
    {},
  );
  await conforms('POST', '/api/v1/auth/api-keys', '/api/v1/auth/api-keys', { name: 'doc' });
  await conforms('POST', '/api/v1/tenants', '/api/v1/tenants', { id: 'doc-t', name: 'Doc' });
  await conforms('GET', '/api/v1/tenants/:id/stats', '/api/v1/tenants/doc-t/stats');
  await conforms('PUT', '/api/v1/tenants/:id/retention', '/api/v1/tenants/doc-t/retention', {
    max_age_days: 30,
    max_bytes: 0,
  });
  await conforms('POST', '/api/v1/compaction/trigger', '/api/v1/compaction/trigger');
  await conforms('GET', '/api/v1/compaction/stats', '/api/v1/compaction/stats');
  await conforms('DELETE', '/api/v1/entities/:entity_id', '/api/v1/entities/e1');
  const backup = await conforms('POST', '/api/v1/backups', '/api/v1/backups');
  await conforms('GET', '/api/v1/backups', '/api/v1/backups');
  await conforms('POST', '/api/v1/backups/:id/verify', `/api/v1/backups/${backup.id}/verify`);
  // The checker does refuse what does not match.
  assert.throws(
    () => check(doc.components.schemas.Event!, { id: 'x' }, 'control'),
    /missing event_type/,
  );
  const wrongType = {
    total_events: 'many',
    total_entities: 1,
    total_event_types: 1,
    total_ingested: 1,
  };
  assert.throws(
    () => check(doc.components.schemas.Stats!, wrongType, 'control'),
    /string is not integer/,
  );
  const error = await conforms('GET', '/api/v1/events/:event_id', '/api/v1/events/missing');
  assert.equal(error.code, 'NOT_FOUND');
  await conforms('POST', '/api/v1/events', '/api/v1/events', { entity_id: 'x' });
});
