// Quota presets and rate tiers of the API reference. 0 means unlimited.

export interface Quotas {
  max_events_per_day: number;
  max_storage_bytes: number;
  max_queries_per_hour: number;
  max_api_keys: number;
  max_projections: number;
  max_pipelines: number;
}

const GiB = 1024 ** 3;

export const quotaPresets: Record<string, Quotas> = {
  free: {
    max_events_per_day: 10_000,
    max_storage_bytes: GiB,
    max_queries_per_hour: 1_000,
    max_api_keys: 2,
    max_projections: 5,
    max_pipelines: 2,
  },
  professional: {
    max_events_per_day: 1_000_000,
    max_storage_bytes: 100 * GiB,
    max_queries_per_hour: 100_000,
    max_api_keys: 25,
    max_projections: 100,
    max_pipelines: 50,
  },
  unlimited: {
    max_events_per_day: 0,
    max_storage_bytes: 0,
    max_queries_per_hour: 0,
    max_api_keys: 0,
    max_projections: 0,
    max_pipelines: 0,
  },
  standard: {
    max_events_per_day: 1_000_000,
    max_storage_bytes: 10 * GiB,
    max_queries_per_hour: 100_000,
    max_api_keys: 10,
    max_projections: 50,
    max_pipelines: 20,
  },
};

export interface Rate {
  requests_per_minute: number;
  burst_size: number;
}

export const rateTiers: Record<string, Rate> = {
  free: { requests_per_minute: 60, burst_size: 100 },
  professional: { requests_per_minute: 600, burst_size: 1000 },
  unlimited: { requests_per_minute: 10_000, burst_size: 20_000 },
  dev: { requests_per_minute: 100_000, burst_size: 200_000 },
};

/** The rate tier a quota preset comes with. */
export const tierOfPreset: Record<string, string> = {
  free: 'free',
  professional: 'professional',
  unlimited: 'unlimited',
  standard: 'professional',
};

export const QUOTA_KEYS = Object.keys(quotaPresets.standard!) as (keyof Quotas)[];
