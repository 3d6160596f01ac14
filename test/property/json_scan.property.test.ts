// The ingest scanner accepts exactly what JSON.parse accepts, and hands back payload bytes
// that mean the same JSON value that was sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpError } from '../../server/errors.js';
import { scanBatch, scanSingle } from '../../server/http/event_scan.js';
import { JsonScanner } from '../../server/http/json_scan.js';

const runs = Number(process.env.ALLSOURCE_PROPERTY_RUNS ?? 300);
const seed =
  process.env.ALLSOURCE_SEED === undefined ? undefined : Number(process.env.ALLSOURCE_SEED);
const params = { numRuns: runs, ...(seed === undefined ? {} : { seed }) };
const limits = { jsonDepthMax: 1000, batchEventsMax: 100 };

function scannerAccepts(text: string): boolean {
  const s = new JsonScanner(Buffer.from(text), 1000);
  try {
    s.value(1);
    s.end();
    return true;
  } catch (error) {
    if (error instanceof HttpError) return false;
    throw error;
  }
}

function parseAccepts(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const alphabet = fc.constantFrom(
  ...'{}[]",:\\ -+.0123456789eEtrufalsn\n\t\u0001\u00e9ux'.split(''),
);
const mutated = fc.tuple(fc.json(), fc.nat(), fc.nat(3), alphabet).map(([text, at, op, ch]) => {
  const i = text.length === 0 ? 0 : at % text.length;
  if (op === 0) return text.slice(0, i) + ch + text.slice(i);
  if (op === 1) return text.slice(0, i) + text.slice(i + 1);
  if (op === 2) return text.slice(0, i) + ch + text.slice(i + 1);
  return text;
});

describe('ingest JSON scanner', () => {
  it('accepts every valid JSON text', () => {
    fc.assert(
      fc.property(fc.json(), (text) => scannerAccepts(text)),
      params,
    );
  });

  it('agrees with JSON.parse on mutated texts', () => {
    fc.assert(
      fc.property(mutated, (text) => scannerAccepts(text) === parseAccepts(text)),
      params,
    );
  });

  it('returns payload and metadata bytes that parse to what was sent', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.string(), (payload, metadata, entity) => {
        const body = {
          event_type: 'a.b',
          entity_id: entity,
          payload,
          metadata,
          expected_version: 3,
        };
        const event = scanSingle(Buffer.from(JSON.stringify(body, null, 1)), limits);
        assert.equal(event.entityId, entity);
        assert.equal(event.expectedVersion, 3);
        assert.deepEqual(
          JSON.parse(Buffer.from(event.payload).toString()),
          JSON.parse(JSON.stringify(payload)),
        );
        if (metadata === null) assert.equal(event.metadata, null);
        else
          assert.deepEqual(
            JSON.parse(Buffer.from(event.metadata!).toString()),
            JSON.parse(JSON.stringify(metadata)),
          );
      }),
      params,
    );
  });

  it('knows field names however they are spelled, and only the exact names', () => {
    // An escaped name is the same name to JSON.parse; a name that differs in one byte is not.
    const escaped = scanSingle(
      Buffer.from('{"event\\u005ftype":"a.b","entity\\u005Fid":"e","p\\u0061yload":[1]}'),
      limits,
    );
    assert.equal(escaped.eventType, 'a.b');
    assert.equal(escaped.entityId, 'e');
    assert.equal(Buffer.from(escaped.payload).toString(), '[1]');
    assert.throws(
      () => scanSingle(Buffer.from('{"event_type":"a.b","entity_ie":"e","payload":1}'), limits),
      (e: unknown) => e instanceof HttpError && e.extra.field === 'entity_id',
    );
    const withId = scanSingle(
      Buffer.from('{"ID":"x","id":"k-1","event_type":"a.b","entity_id":"e","payload":1}'),
      limits,
    );
    assert.equal(withId.id, 'k-1');
  });

  it('reads every event of a batch as JSON.parse does, repeated or not', () => {
    // Few distinct names, so that events repeat, differ in one byte, or spell one name
    // escaped and unescaped: the scanner reuses a repeated name without decoding it again.
    const name = fc.constantFrom('a.b', 'a.c', 'b.b', 'e-1', 'e-2', 'e\u002d1', 'caf\u00e9', 'x"y');
    fc.assert(
      fc.property(fc.array(fc.tuple(name, name), { minLength: 1, maxLength: 30 }), (pairs) => {
        const text = `{"events":[${pairs
          .map(
            ([t, e]) =>
              `{"event_type":"${t.replace('"', '\\"')}","entity_id":"${e.replace('"', '\\"')}","payload":1}`,
          )
          .join(',')}]}`;
        const want = (JSON.parse(text) as { events: { event_type: string; entity_id: string }[] })
          .events;
        const got = scanBatch(Buffer.from(text), limits);
        assert.deepEqual(
          got.map((e) => [e.eventType, e.entityId]),
          want.map((e) => [e.event_type, e.entity_id]),
        );
      }),
      params,
    );
  });

  it('reads batches and enforces their limits and nesting', () => {
    const events = Array.from({ length: 3 }, (_, i) => ({
      event_type: 'a.b',
      entity_id: `e${i}`,
      payload: [i],
    }));
    assert.equal(
      scanBatch(Buffer.from(JSON.stringify({ events, other: { x: 1 } })), limits).length,
      3,
    );
    assert.throws(
      () => scanBatch(Buffer.from(JSON.stringify({ events })), { ...limits, batchEventsMax: 2 }),
      (e) => e instanceof HttpError && e.code === 'LIMIT_EXCEEDED',
    );
    const deep = `{"event_type":"a.b","entity_id":"e","payload":${'['.repeat(65)}${']'.repeat(65)}}`;
    assert.throws(
      () => scanSingle(Buffer.from(deep), { ...limits, jsonDepthMax: 64 }),
      (e) => e instanceof HttpError && e.code === 'VALIDATION_ERROR',
    );
    assert.throws(
      () => scanSingle(Buffer.from('{"event_type":"a.b","entity_id":"e","payload":1} x'), limits),
      (e) => e instanceof HttpError && e.code === 'INVALID_JSON',
    );
  });
});
