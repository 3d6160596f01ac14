// Golden fixtures: the bytes of each on-disk format, checked in. A change to an encoder that
// alters them fails here; a deliberate format change bumps the version and regenerates them
// with ALLSOURCE_UPDATE_FIXTURES=1.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import xxhash from 'xxhash-wasm';
import { decodeCheckpoint, encodeCheckpoint } from '../../engine/format/checkpoint.js';
import { hash32, hashString32, initChecksum } from '../../engine/format/checksum.js';
import {
  POSITION_ID_BYTES,
  positionFromId,
  writePositionId,
} from '../../engine/format/event_id.js';
import { eventJson } from '../../engine/format/event_json.js';
import { EventView } from '../../engine/format/event_view.js';
import {
  checkRecord,
  type RecordInput,
  recordLength,
  writeRecord,
} from '../../engine/format/record.js';
import {
  decodeSegmentIndex,
  encodeSegmentIndex,
  IndexKind,
  lookupKey,
} from '../../engine/format/segment_index.js';
import { parseTimestampUs } from '../../engine/format/timestamp.js';
import { limits } from '../../engine/limits.js';
import { ActiveIndex } from '../../engine/log/active_index.js';
import { releaseIndexArrays, takeIndexArrays } from '../../engine/log/index_arrays.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
const update = process.env.ALLSOURCE_UPDATE_FIXTURES === '1';
const T0 = 1_795_737_600_000_000; // 2026-11-27T00:00:00Z in microseconds

function input(over: Partial<RecordInput>): RecordInput {
  const base: RecordInput = {
    id: 'evt-1',
    idBytes: 5,
    clientId: true,
    eventType: 'order.placed',
    typeBytes: 12,
    entityId: 'order-1',
    entityBytes: 7,
    metadata: null,
    payload: Buffer.from('{"total":42}'),
    position: 1,
    timestampUs: T0,
    version: 1,
    followers: 0,
    escape: false,
  };
  return { ...base, ...over };
}

const records: RecordInput[] = [
  input({}),
  input({
    id: 'evt-2',
    position: 2,
    version: 2,
    eventType: 'order.paid',
    typeBytes: 10,
    metadata: Buffer.from('{"by":"card"}'),
    timestampUs: T0 + 1,
    followers: 1,
  }),
  input({
    id: 'evt-3',
    position: 3,
    version: 1,
    entityId: 'quote"d\\',
    entityBytes: 8,
    escape: true,
    timestampUs: T0 + 1,
  }),
];

function encodeAll(): Buffer {
  const buf = Buffer.alloc(records.reduce((s, r) => s + recordLength(r), 0));
  let at = 0;
  for (const r of records) at += writeRecord(buf, at, r);
  return buf;
}

function golden(name: string, bytes: Buffer): Buffer {
  const file = `${fixtures}${name}`;
  if (update) fs.writeFileSync(file, bytes);
  return fs.readFileSync(file);
}

/** A generated id as the record encoder writes it. */
function positionId(position: number): string {
  const bytes = Buffer.alloc(POSITION_ID_BYTES);
  writePositionId(bytes, 0, position);
  return bytes.toString('latin1');
}

describe('on-disk formats', () => {
  before(() => initChecksum());

  it('encodes records exactly as the golden file, and decodes every field back', () => {
    const bytes = encodeAll();
    assert.deepEqual(bytes, golden('records-v1.bin', bytes));
    let at = 0;
    const views: EventView[] = [];
    while (at < bytes.length) {
      const length = checkRecord(bytes, at, bytes.length);
      assert.equal(typeof length, 'number');
      views.push(new EventView(bytes.subarray(at, at + (length as number))));
      at += length as number;
    }
    assert.deepEqual(
      views.map((v) => [
        v.id,
        v.eventType,
        v.entityId,
        v.position,
        v.version,
        v.followers,
        v.clientId,
      ]),
      [
        ['evt-1', 'order.placed', 'order-1', 1, 1, 0, true],
        ['evt-2', 'order.paid', 'order-1', 2, 2, 1, true],
        ['evt-3', 'order.placed', 'quote"d\\', 3, 1, 0, true],
      ],
    );
    assert.equal(views[1]!.metadata?.toString(), '{"by":"card"}');
    assert.equal(views[0]!.metadata, null);
    const wire = JSON.parse(eventJson(views[2]!, 'acme').toString());
    assert.deepEqual(wire, {
      id: 'evt-3',
      event_type: 'order.placed',
      entity_id: 'quote"d\\',
      tenant_id: 'acme',
      payload: { total: 42 },
      timestamp: '2026-11-27T00:00:00.000001Z',
      metadata: null,
      version: 1,
      position: 3,
    });
    assert.equal(parseTimestampUs(wire.timestamp), T0 + 1);
  });

  it('detects every single flipped bit of a record', () => {
    const bytes = encodeAll();
    const first = checkRecord(bytes, 0, bytes.length) as number;
    for (let bit = 0; bit < first * 8; bit++) {
      const copy = Buffer.from(bytes.subarray(0, first));
      copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
      assert.equal(typeof checkRecord(copy, 0, copy.length), 'string', `bit ${bit} went unnoticed`);
    }
    const damaged = golden('records-v1-flipped.bin', Buffer.from(bytes).fill(0x20, 60, 61));
    assert.equal(checkRecord(damaged, 0, damaged.length), 'checksum mismatch');
  });

  it('encodes segment indexes and checkpoints exactly as the golden files', () => {
    const bytes = encodeAll();
    const index = new ActiveIndex(1);
    let at = 0;
    for (const r of records) {
      index.add(r.position - 1, at, r.timestampUs, r.id, r.eventType, r.entityId);
      at += recordLength(r);
    }
    index.logBytes = bytes.length;
    const idx = encodeSegmentIndex(index.source());
    assert.deepEqual(idx, golden('segment-v1.idx', idx));
    const decoded = decodeSegmentIndex(idx);
    assert.ok(typeof decoded !== 'string');
    assert.deepEqual([decoded.count, decoded.lastPosition, decoded.logBytes], [3, 3, bytes.length]);
    assert.ok(lookupKey(decoded, IndexKind.Ids, 0).length === 0);
    const damaged = Buffer.from(idx);
    damaged[idx.length - 1] = damaged[idx.length - 1]! ^ 1;
    assert.equal(decodeSegmentIndex(damaged), 'checksum mismatch');

    const checkpoint = encodeCheckpoint({
      coveredPosition: 3,
      totalIngested: 3,
      entities: new Map([['order-1', { version: 2, firstPosition: 1, lastPosition: 2 }]]),
      types: new Map([['order.placed', { count: 2, firstPosition: 1, lastPosition: 3 }]]),
      erased: new Map([['order-9', 3]]),
    });
    assert.deepEqual(checkpoint, golden('checkpoint-v3.ckpt', checkpoint));
    const back = decodeCheckpoint(checkpoint);
    assert.ok(typeof back !== 'string');
    assert.deepEqual(back.entities.get('order-1'), {
      version: 2,
      firstPosition: 1,
      lastPosition: 2,
    });
    assert.deepEqual([...back.erased], [['order-9', 3]]);
    const flipped = Buffer.from(checkpoint);
    flipped[45] = flipped[45]! ^ 1;
    assert.equal(decodeCheckpoint(flipped), 'checksum mismatch');
    // Format 2 files (checksum first) and format 1 files (no erased table either) are read.
    const v2 = decodeCheckpoint(fs.readFileSync(`${fixtures}checkpoint-v2.ckpt`));
    assert.deepEqual(v2, back, 'format 2 holds the same totals');
    const v1 = decodeCheckpoint(fs.readFileSync(`${fixtures}checkpoint-v1.ckpt`));
    assert.ok(typeof v1 !== 'string', String(v1));
    assert.deepEqual([v1.entities.size, v1.erased.size], [1, 0]);
  });

  it('makes generated ids that are UUIDv8 and carry their position', () => {
    for (const position of [1, 2, 65_535, 65_536, 2 ** 40 + 7, 2 ** 48 - 1]) {
      const id = positionId(position);
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(positionFromId(id), position);
    }
    assert.notEqual(positionId(5), positionId(5), 'random bits differ');
    assert.equal(positionFromId('not-an-id'), null);
    assert.equal(positionFromId('550e8400-e29b-41d4-a716-446655440000'), null, 'v4 is not ours');
  });

  it('keeps the positions of keys whose hashes collide in one sorted run', () => {
    // Two entity ids with the same xxh32, found by search: their positions share one run.
    const [a, b] = ['k94515', 'k167820'];
    assert.equal(hashString32(a), hashString32(b));
    const index = new ActiveIndex(1);
    const owner = ['x', a, b, a, 'y', b, b, a];
    owner.forEach((entity, i) => {
      index.add(i, i * 100, T0 + i, null, i % 2 === 0 ? 't.even' : 't.odd', entity);
    });
    index.logBytes = owner.length * 100;
    const decoded = decodeSegmentIndex(encodeSegmentIndex(index.source()));
    assert.ok(typeof decoded !== 'string');
    assert.deepEqual(lookupKey(decoded, IndexKind.Entities, hashString32(a)), [1, 2, 3, 5, 6, 7]);
    assert.deepEqual(lookupKey(decoded, IndexKind.Entities, hashString32('x')), [0]);
    assert.deepEqual(lookupKey(decoded, IndexKind.Types, hashString32('t.odd')), [1, 3, 5, 7]);
    // The in-memory index stays exact per key.
    assert.deepEqual(index.entity(b, owner.length), [2, 5, 6]);
  });

  it('hashes long inputs piece by piece to the same xxh32 as one call', async () => {
    const oneShot = (await xxhash()).h32Raw;
    for (const bytes of [0, 1, 65_535, 65_536, 65_537, 300_001]) {
      const buf = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) buf[i] = (i * 131 + 7) & 0xff;
      assert.equal(hash32(buf), oneShot(buf) >>> 0, `${bytes} bytes`);
    }
  });
});

describe('index arrays', () => {
  it('gives a released set to the next index that fits it, and never one far too large', () => {
    const first = takeIndexArrays(5000);
    assert.equal(first.capacity, 8192);
    releaseIndexArrays(first);
    assert.equal(takeIndexArrays(1024).capacity, 1024, 'a set 8x too large is not handed out');
    const again = takeIndexArrays(4097);
    assert.equal(again, first, 'the released set is reused');
    assert.ok(again.timestamps.buffer instanceof SharedArrayBuffer);
    releaseIndexArrays(again);
    const over = takeIndexArrays(limits.indexArraysIdleBytes / 8);
    releaseIndexArrays(over);
    assert.notEqual(takeIndexArrays(limits.indexArraysIdleBytes / 8), over, 'over the idle cap');
  });
});
