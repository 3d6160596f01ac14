// Loading uWebSockets.js. The package we install falls back to a slow pure-JS server when its
// native binary does not load, without failing. We load the binary ourselves and refuse to
// start without it, unless the operator explicitly allows the fallback.

import type * as Uws from 'uWebSockets.js';
import { createRequire } from 'node:module';

export type UwsModule = typeof Uws;
export type Transport = 'uws-native' | 'uws-js-fallback';

const require = createRequire(import.meta.url);

export class TransportError extends Error {
  override name = 'TransportError';
}

export function loadTransport(allowFallback: boolean): { uws: UwsModule; transport: Transport } {
  const binary = `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    return { uws: require(binary) as UwsModule, transport: 'uws-native' };
  } catch (error) {
    if (!allowFallback) {
      const cause = error instanceof Error ? error.message : String(error);
      throw new TransportError(
        `the native uWebSockets.js binary for ${process.platform}-${process.arch} (Node ABI ` +
          `${process.versions.modules}) did not load: ${cause}. Refusing to start on the slow ` +
          'JavaScript fallback; pass --allow-js-fallback (ALLSOURCE_ALLOW_JS_FALLBACK=1) to accept it.',
      );
    }
    process.env.UWS_USE_FALLBACK = '1';
    return { uws: require('uWebSockets.js') as UwsModule, transport: 'uws-js-fallback' };
  }
}
