// The request path. Everything a handler needs from uWebSockets.js's request object is read
// here, synchronously (that object is gone after the first await), then the caller and its
// tenant are resolved in one place before any handler runs. Authentication, permissions,
// quotas and rate limits slot in at `resolveCaller`.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { HttpError, toHttpError } from '../errors.js';
import { readBody } from './body.js';
import { type Exchange, sendError } from './reply.js';

export interface Caller {
  tenantId: string;
  /** The tenant id as a JSON string body (without quotes), ready for event output. */
  tenantJson: string;
}

export interface RequestInfo {
  query: string;
  params: string[];
  contentType: string;
  authorization: string;
  apiKey: string;
}

export interface RequestPath {
  readonly shuttingDown: boolean;
  bodyBytesMax: number;
  inFlight: number;
  onResponse(status: number): void;
}

const DEFAULT_CALLER: Caller = { tenantId: 'default', tenantJson: 'default' };

/** Until authentication lands every caller is the default tenant. */
export function resolveCaller(_info: RequestInfo): Caller {
  return DEFAULT_CALLER;
}

export type Handler = (
  ex: Exchange,
  info: RequestInfo,
  caller: Caller,
  body: Buffer | null,
) => void | Promise<void>;

export interface RouteOptions {
  /** The route reads a JSON body. */
  body?: boolean;
  /** Number of :parameters in the pattern. */
  params?: number;
}

function isJson(contentType: string): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType);
}

export function route(path: RequestPath, options: RouteOptions, handler: Handler) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const ex: Exchange = { res, aborted: false, headers: [] };
    res.onAborted(() => {
      ex.aborted = true;
    });
    const params: string[] = [];
    for (let i = 0; i < (options.params ?? 0); i++)
      params.push(decodeURIComponent(req.getParameter(i) ?? ''));
    const info: RequestInfo = {
      query: req.getQuery() ?? '',
      params,
      contentType: req.getHeader('content-type'),
      authorization: req.getHeader('authorization'),
      apiKey: req.getHeader('x-api-key'),
    };
    if (path.shuttingDown) {
      sendError(ex, new HttpError('SHUTTING_DOWN', 'the server is shutting down'), [
        ['connection', 'close'],
      ]);
      return;
    }
    path.inFlight++;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      path.inFlight--;
    };
    const run = (caller: Caller, body: Buffer | null): void => {
      try {
        const result = handler(ex, info, caller, body);
        if (result instanceof Promise) {
          result.catch((error: unknown) => sendError(ex, toHttpError(error))).finally(finish);
        } else finish();
      } catch (error) {
        sendError(ex, toHttpError(error));
        finish();
      }
    };
    try {
      const caller = resolveCaller(info);
      if (!options.body) {
        run(caller, null);
        return;
      }
      if (!isJson(info.contentType)) {
        throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
      }
      res.onAborted(() => {
        ex.aborted = true;
        finish();
      });
      readBody(
        res,
        path.bodyBytesMax,
        (body) => run(caller, body),
        (error) => {
          sendError(ex, error, [['connection', 'close']]);
          finish();
        },
      );
    } catch (error) {
      sendError(ex, toHttpError(error));
      finish();
    }
  };
}
