/** The two response bodies every HTTP case fetches: per-request cost vs bulk transfer. */
export const BODIES = {
  small: { path: '/small', bytes: 100, label: '100 B' },
  large: { path: '/large.bin', bytes: 1024 * 1024, label: '1 MiB' },
} as const;

export type BodyName = keyof typeof BODIES;
export const BODY_NAMES: BodyName[] = ['small', 'large'];

/** The Host every HTTPS case sends, so that request heads are the same size for every peer. */
export const APP_HOST = 'r1.apps.localhost';
