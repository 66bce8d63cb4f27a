import { Type, type Static } from '@sinclair/typebox';

/*
 * What an agent reports about one app container every WHARF_SAMPLE_INTERVAL_S (DESIGN.md
 * "One launch", step 5): `POST /api/v1/agent/instances/:id/samples`. Control keeps the
 * history (`GET /instances/:id/metrics`) and decides idleness from it together with the
 * gateway's traffic. Every field is optional: an agent sends what it could measure.
 */

const Bytes = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'a whole number of bytes' });
const Rate = Type.Number({ minimum: 0, maximum: 1e15, description: 'bytes per second, 0 or more' });

export const GpuSample = Type.Object({
  index: Type.Integer({ minimum: 0, maximum: 1023 }),
  uuid: Type.Optional(Type.String({ maxLength: 128 })),
  name: Type.Optional(Type.String({ maxLength: 256 })),
  utilizationPercent: Type.Number({ minimum: 0, maximum: 100, description: 'a percentage, 0 to 100' }),
  memoryUsedBytes: Type.Optional(Bytes),
  memoryTotalBytes: Type.Optional(Bytes),
}, { additionalProperties: false });

export const ResourceSampleReport = Type.Object({
  at: Type.Optional(Type.Integer({ minimum: 0, maximum: 8.64e15, description: 'a time in Unix milliseconds' })),
  /** Of the container's CPU limit when it has one, else of the whole host: 0 to 100. */
  cpuPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 1e6, description: 'a percentage, 0 or more' })),
  /** The busiest of the app's GPUs; absent on hosts without GPUs. */
  gpuPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'a percentage, 0 to 100' })),
  gpus: Type.Optional(Type.Array(GpuSample, { maxItems: 64 })),
  memoryBytes: Type.Optional(Bytes),
  memoryLimitBytes: Type.Optional(Bytes),
  /** Received plus sent: what the idle threshold `idle.networkMBps` is compared with. */
  networkBytesPerS: Type.Optional(Rate),
  networkRxBytesPerS: Type.Optional(Rate),
  networkTxBytesPerS: Type.Optional(Rate),
  blockReadBytesPerS: Type.Optional(Rate),
  blockWriteBytesPerS: Type.Optional(Rate),
  /** The app's own last activity (Jupyter's last_activity), Unix milliseconds; where the kind has a probe. */
  activityAt: Type.Optional(Type.Integer({ minimum: 0, maximum: 8.64e15 })),
}, { additionalProperties: false });

export type GpuSample = Static<typeof GpuSample>;
export type ResourceSampleReport = Static<typeof ResourceSampleReport>;
