// The OpenAPI 3.1 document served at /openapi.json. Paths come from the server's own route
// table, so a route cannot exist undocumented; each entry here adds a summary and the shapes of
// its body and answer. A test checks the document against the live routes and responses.
import { SERVICE_VERSION } from './version.js';

type Schema = Record<string, unknown>;

const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const any = {};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
});
const list = (items: unknown) => ({ type: 'array', items });
const nullable = (s: Schema) => ({ ...s, type: [s.type as string, 'null'] });

export const schemas: Record<string, Schema> = {
  Error: obj({ error: str, code: str }),
  Event: obj({
    id: str,
    event_type: str,
    entity_id: str,
    tenant_id: str,
    payload: any,
    timestamp: str,
    metadata: any,
    version: int,
    position: int,
  }),
  NewEvent: obj(
    {
      event_type: str,
      entity_id: str,
      payload: any,
      metadata: any,
      id: str,
      expected_version: { type: ['integer', 'string'] },
    },
    ['event_type', 'entity_id', 'payload'],
  ),
  AppendResult: obj({ event_id: str, timestamp: str, version: int, position: int }),
  BatchResult: obj({ total: int, ingested: int, events: list(ref('AppendResult')) }),
  QueryResult: obj({
    events: list(ref('Event')),
    count: int,
    has_more: bool,
    next_position: nullable(int),
  }),
  EntityState: obj({
    entity_id: str,
    last_updated: str,
    event_count: int,
    as_of: nullable(str),
    current_state: { type: 'object' },
    history: list(obj({ event_id: str, type: str, timestamp: str, payload: any })),
  }),
  Snapshot: obj({
    id: str,
    entity_id: str,
    created_at: str,
    as_of: nullable(str),
    event_count: int,
    size_bytes: int,
    snapshot_type: str,
  }),
  Stats: obj({
    total_events: int,
    total_entities: int,
    total_event_types: int,
    total_ingested: int,
  }),
  Health: obj({
    status: str,
    service: str,
    version: str,
    uptime_seconds: int,
    transport: str,
    storage: { type: 'object' },
  }),
  User: obj({ id: str, username: str, email: str, role: str, tenant_id: str }),
  Login: obj({ token: str, user: ref('User') }),
  ApiKeyCreated: obj({ id: str, name: str, key: str, expires_at: nullable(str) }),
  Tenant: obj({
    id: str,
    name: str,
    description: str,
    quotas: { type: 'object' },
    rate: { type: 'object' },
    created_at: str,
    updated_at: str,
    active: bool,
  }),
  TenantStats: obj({
    tenant_id: str,
    name: str,
    active: bool,
    usage: { type: 'object' },
    quotas: { type: 'object' },
    utilization: { type: 'object' },
    created_at: str,
    updated_at: str,
  }),
};

const backupFields = {
  id: str,
  created_at: str,
  size_bytes: int,
  raw_bytes: int,
  files: int,
  events: int,
  tenants: list(obj({ tenant_id: str, last_position: int, events: int })),
};
schemas.Backup = obj(backupFields);
schemas.BackupCreated = obj({
  ...backupFields,
  duration_ms: int,
  verified: bool,
  pruned: list(str),
});
schemas.BackupList = obj({
  backups: list(ref('Backup')),
  invalid: list(obj({ id: str, error: str })),
});
schemas.BackupVerify = obj(
  { id: str, valid: bool, files: int, raw_bytes: int, events: int, code: str, problem: str },
  ['id', 'valid', 'files', 'raw_bytes', 'events'],
);

schemas.Erased = obj({
  entity_id: str,
  erased: bool,
  tombstone_event_id: str,
  position: int,
  version: int,
  timestamp: str,
});
schemas.CompactionRun = obj({
  files_compacted: int,
  bytes_before: int,
  bytes_after: int,
  events_compacted: int,
  duration_ms: int,
});
schemas.CompactionStats = obj({
  runs: int,
  running: bool,
  last_run_at: nullable(str),
  last_duration_ms: int,
  last_error: nullable(str),
  files_compacted_total: int,
  bytes_before_total: int,
  bytes_after_total: int,
  events_compacted_total: int,
  interval_sec: { type: 'number' },
  retention: obj({ max_age_days: { type: 'number' }, max_bytes: int }),
});

interface Doc {
  summary: string;
  body?: string;
  status?: string;
  answer?: string;
  query?: string[];
}

/** Keyed "METHOD pattern". */
const docs: Record<string, Doc> = {
  'POST /api/v1/events': { summary: 'Append one event', body: 'NewEvent', answer: 'AppendResult' },
  'POST /api/v1/events/batch': {
    summary: 'Append a batch atomically',
    body: 'NewEvent[]',
    answer: 'BatchResult',
  },
  'GET /api/v1/events/query': {
    summary: 'Query events',
    answer: 'QueryResult',
    query: [
      'entity_id',
      'event_type',
      'event_type_prefix',
      'since',
      'until',
      'as_of',
      'after_position',
      'order',
      'offset',
      'limit',
    ],
  },
  'GET /api/v1/events/:event_id': { summary: 'One event by id', answer: 'Event' },
  'GET /api/v1/entities/:entity_id/state': {
    summary: "An entity's state",
    answer: 'EntityState',
    query: ['as_of'],
  },
  'GET /api/v1/entities/:entity_id/snapshot': {
    summary: "An entity's current state as a projection",
    answer: 'object',
  },
  'POST /api/v1/snapshots': {
    summary: 'Take a snapshot of an entity',
    body: 'object',
    answer: 'object',
  },
  'GET /api/v1/snapshots': {
    summary: "An entity's snapshots",
    answer: 'object',
    query: ['entity_id'],
  },
  'GET /api/v1/snapshots/:entity_id/latest': {
    summary: "An entity's newest snapshot",
    answer: 'Snapshot',
  },
  'GET /api/v1/stats': { summary: "The caller's tenant's totals", answer: 'Stats' },
  'POST /api/v1/auth/login': { summary: 'Log in for a token', body: 'object', answer: 'Login' },
  'POST /api/v1/auth/register': {
    summary: 'Create a user',
    body: 'object',
    status: '201',
    answer: 'object',
  },
  'GET /api/v1/auth/me': { summary: 'The caller', answer: 'object' },
  'POST /api/v1/auth/api-keys': {
    summary: 'Create an API key (shown once)',
    body: 'object',
    status: '201',
    answer: 'ApiKeyCreated',
  },
  'GET /api/v1/auth/api-keys': { summary: "The tenant's API keys", answer: 'object' },
  'DELETE /api/v1/auth/api-keys/:id': { summary: 'Revoke an API key', answer: 'object' },
  'GET /api/v1/auth/users': { summary: 'Users', answer: 'object' },
  'DELETE /api/v1/auth/users/:id': { summary: 'Delete a user', answer: 'object' },
  'POST /api/v1/auth/users/:id/activate': { summary: 'Activate a user', answer: 'object' },
  'POST /api/v1/auth/users/:id/deactivate': { summary: 'Deactivate a user', answer: 'object' },
  'POST /api/v1/tenants': {
    summary: 'Create a tenant',
    body: 'object',
    status: '201',
    answer: 'Tenant',
  },
  'GET /api/v1/tenants': { summary: 'Tenants', answer: 'object' },
  'GET /api/v1/tenants/:id': { summary: 'A tenant', answer: 'Tenant' },
  'GET /api/v1/tenants/:id/stats': {
    summary: "A tenant's usage and quotas",
    answer: 'TenantStats',
  },
  'PUT /api/v1/tenants/:id/quotas': {
    summary: "Change a tenant's quotas and rate",
    body: 'object',
    answer: 'Tenant',
  },
  'POST /api/v1/tenants/:id/activate': { summary: 'Activate a tenant', answer: 'Tenant' },
  'POST /api/v1/tenants/:id/deactivate': { summary: 'Deactivate a tenant', answer: 'Tenant' },
  'DELETE /api/v1/tenants/:id': { summary: 'Delete a tenant and its data', answer: 'object' },
  'DELETE /api/v1/entities/:entity_id': {
    summary:
      'Erase an entity: its earlier events and snapshots are hidden now, removed at the next compaction',
    answer: 'Erased',
  },
  'PUT /api/v1/tenants/:id/retention': {
    summary: "Set a tenant's retention ({max_age_days, max_bytes}) or null to inherit",
    body: 'object',
    answer: 'Tenant',
  },
  'POST /api/v1/compaction/trigger': {
    summary: 'Run a compaction pass now',
    answer: 'CompactionRun',
  },
  'GET /api/v1/compaction/stats': { summary: 'Compaction figures', answer: 'CompactionStats' },
  'POST /api/v1/backups': {
    summary: 'Back up every tenant while the server runs',
    status: '201',
    answer: 'BackupCreated',
  },
  'GET /api/v1/backups': { summary: 'Backups, newest first', answer: 'BackupList' },
  'POST /api/v1/backups/:id/verify': {
    summary: "Recompute a backup's checksums",
    answer: 'BackupVerify',
  },
  'GET /health': { summary: 'Liveness and storage', answer: 'Health' },
  'GET /metrics': { summary: 'Prometheus metrics (text)', answer: 'text' },
  'GET /openapi.json': { summary: 'This document', answer: 'object' },
  'GET /docs': { summary: 'Interactive API documentation (HTML)', answer: 'html' },
  'GET /docs/init.js': { summary: 'Script of the documentation page', answer: 'javascript' },
  'GET /docs/swagger-ui-bundle.js': { summary: 'Swagger UI (script)', answer: 'javascript' },
  'GET /docs/swagger-ui.css': { summary: 'Swagger UI (styles)', answer: 'css' },
};

function schemaOf(name: string): Schema {
  if (name === 'object') return { type: 'object' };
  if (name.endsWith('[]')) return obj({ events: list(ref(name.slice(0, -2))) });
  return ref(name);
}

export function openApiDocument(
  routes: readonly { method: string; pattern: string; permission: number | null }[],
) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const key = `${route.method} ${route.pattern}`;
    const doc = docs[key];
    if (doc === undefined) throw new Error(`no OpenAPI entry for ${key}`);
    const path = route.pattern.replace(/:([a-z_]+)/g, '{$1}');
    const params = [...route.pattern.matchAll(/:([a-z_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: str,
    }));
    const query = (doc.query ?? []).map((name) => ({
      name,
      in: 'query',
      required: false,
      schema: str,
    }));
    const media: Record<string, string> = {
      text: 'text/plain',
      html: 'text/html',
      javascript: 'text/javascript',
      css: 'text/css',
    };
    const answer =
      doc.answer !== undefined && media[doc.answer] !== undefined
        ? { [media[doc.answer]!]: { schema: str } }
        : { 'application/json': { schema: schemaOf(doc.answer ?? 'object') } };
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: doc.summary,
      operationId: key.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, ''),
      ...(route.permission === null ? { security: [] } : {}),
      parameters: [...params, ...query],
      ...(doc.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schemaOf(doc.body) } },
            },
          }),
      responses: {
        [doc.status ?? '200']: { description: 'success', content: answer },
        default: {
          description: 'error',
          content: { 'application/json': { schema: ref('Error') } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'AllSource', version: SERVICE_VERSION, description: 'Event store HTTP API' },
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
  };
}
