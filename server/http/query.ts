// Query parameters of GET /api/v1/events/query, checked and turned into an engine ReadQuery.
import { limits, parseTimestampUs, type ReadQuery } from '../../engine/index.js';
import { HttpError } from '../errors.js';

function invalid(field: string, message: string): HttpError {
  return new HttpError('VALIDATION_ERROR', `${field} ${message}`, { field });
}

export function timestampParam(params: URLSearchParams, field: string): number | undefined {
  const raw = params.get(field);
  if (raw === null || raw === '') return undefined;
  const us = parseTimestampUs(raw);
  if (us === null) throw invalid(field, 'must be an RFC 3339 timestamp');
  return us;
}

function integerParam(params: URLSearchParams, field: string, max: number): number | undefined {
  const raw = params.get(field);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) > max)
    throw invalid(field, `must be an integer from 0 to ${max}`);
  return Number(raw);
}

function stringParam(params: URLSearchParams, field: string): string | undefined {
  const raw = params.get(field);
  return raw === null || raw === '' ? undefined : raw;
}

export function toReadQuery(query: string): ReadQuery {
  const params = new URLSearchParams(query);
  const order = params.get('order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw invalid('order', 'must be asc or desc');
  const until = timestampParam(params, 'until');
  const asOf = timestampParam(params, 'as_of');
  return {
    entityId: stringParam(params, 'entity_id'),
    eventType: stringParam(params, 'event_type'),
    eventTypePrefix: stringParam(params, 'event_type_prefix'),
    sinceUs: timestampParam(params, 'since'),
    untilUs: until !== undefined && asOf !== undefined ? Math.min(until, asOf) : (until ?? asOf),
    afterPosition: integerParam(params, 'after_position', Number.MAX_SAFE_INTEGER),
    order,
    offset: integerParam(params, 'offset', Number.MAX_SAFE_INTEGER),
    limit: integerParam(params, 'limit', limits.readLimitMax),
  };
}
