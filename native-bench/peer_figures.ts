// Our server figures as ratios to the peers measured in the same run (the targets of make bench).
import type { NatsResults } from './nats.js';
import type { PeerResults } from './peers.js';
import { type Figure, figure } from './report.js';
import { DURABLE_BARE } from './server.js';

function ours(figures: Figure[], name: string): number[] | null {
  const f = figures.find((x) => x.name === name);
  return f === undefined ? null : [f.median];
}

/** The bare endpoint measured beside one of our figures (its median), if any. */
function ceilingOf(figures: Figure[], name: string): number[] | null {
  const f = figures.find((x) => x.name === name);
  return f?.baseline === undefined ? null : [f.baseline.median];
}

export function comparePeers(figures: Figure[], peers: PeerResults): Figure[] {
  const out: Figure[] = [];
  const settings = {
    peer: 'Redis 7.0 Streams (Debian), AOF on',
    load: 'redis-benchmark -c 64',
    payloadBytes: 250,
  };
  for (const [mode, samples] of Object.entries(peers.xadd)) {
    out.push(figure('peers', `Redis XADD appendfsync ${mode}`, 'ops/s', samples, settings));
  }
  if (peers.xrange.length > 0)
    out.push(figure('peers', 'Redis XRANGE of 100 entries', 'req/s', peers.xrange, settings));
  const pairs: [string, string, string, string][] = [
    [
      'POST /events, 1 event, 64 conns',
      'always -P1',
      'single durable ingest vs Redis XADD always',
      '>= 1.3x',
    ],
    [
      'POST /events/batch, 100 events, 16 conns',
      'always -P16',
      'batch durable ingest vs Redis pipelined XADD always',
      '>= 3x',
    ],
  ];
  for (const [name, mode, label, target] of pairs) {
    const mine = ours(figures, name);
    const theirs = peers.xadd[mode];
    if (mine !== null && theirs !== undefined) {
      out.push(
        figure('peers', label, name.includes('batch') ? 'events/s' : 'req/s', mine, settings, {
          baseline: { name: `Redis XADD ${mode}`, samples: theirs },
          target,
        }),
      );
    }
  }
  const query = ours(figures, 'GET query, 1 entity x 100 events');
  if (query !== null && peers.xrange.length > 0) {
    out.push(
      figure('peers', "one entity's 100 events vs Redis XRANGE", 'req/s', query, settings, {
        baseline: { name: 'Redis XRANGE COUNT 100', samples: peers.xrange },
        target: '>= 2x',
      }),
    );
  }
  // The bare endpoints against the same peers: the ratio a server that did no work of its own
  // would reach over HTTP on this machine in this run. A target above it cannot be met here.
  const ceilings: [string, number[] | null, number[] | undefined, string, string][] = [
    [
      'bare uWS endpoint vs Redis XADD always (ceiling)',
      ceilingOf(figures, 'POST /events, 1 event, 64 conns'),
      peers.xadd['always -P1'],
      'Redis XADD always -P1',
      'req/s',
    ],
    [
      'bare durable uWS endpoint vs Redis XADD always (ceiling)',
      ours(figures, DURABLE_BARE),
      peers.xadd['always -P1'],
      'Redis XADD always -P1',
      'req/s',
    ],
    [
      'bare durable endpoint, batch bodies, vs Redis pipelined XADD always (ceiling)',
      ceilingOf(figures, 'POST /events/batch, 100 events, 16 conns'),
      peers.xadd['always -P16'],
      'Redis XADD always -P16',
      'events/s',
    ],
    [
      'bare uWS answering the same bytes vs Redis XRANGE (ceiling)',
      ceilingOf(figures, 'GET query, 1 entity x 100 events'),
      peers.xrange.length > 0 ? peers.xrange : undefined,
      'Redis XRANGE COUNT 100',
      'req/s',
    ],
  ];
  for (const [label, bare, theirs, peer, unit] of ceilings) {
    if (bare !== null && theirs !== undefined) {
      out.push(
        figure('peers', label, unit, bare, settings, {
          baseline: { name: peer, samples: theirs },
        }),
      );
    }
  }
  return out;
}

export function compareNats(figures: Figure[], nats: NatsResults): Figure[] {
  const settings = {
    peer: 'NATS JetStream 2.9 (Debian), file storage, 1 replica; acknowledges before any fsync',
    load: 'minimal NATS protocol client, publish with ack, 256 in flight',
    payloadBytes: 250,
  };
  const out = [
    figure('peers', 'NATS JetStream publish with ack (no fsync)', 'acks/s', nats.acks, settings),
  ];
  const single = ours(figures, 'POST /events, 1 event, 64 conns');
  if (single !== null) {
    out.push(
      figure(
        'peers',
        'single durable ingest (fsync always) vs NATS publish-ack',
        'req/s',
        single,
        settings,
        {
          baseline: { name: 'NATS JetStream acks (no fsync)', samples: nats.acks },
          target: 'context: NATS does not fsync before its ack',
        },
      ),
    );
  }
  return out;
}
