import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../protocol/instance-status.ts';
import { ControlError, controlErrors, statusOf } from './errors.ts';

describe('control error registry', () => {
  it('gives every code the CTL_ prefix, an HTTP status and a message', () => {
    for (const [code, spec] of Object.entries(controlErrors)) {
      expect(code).toMatch(/^CTL_[A-Z_]+$/);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
      expect(spec.message.length).toBeGreaterThan(20);
    }
  });

  it('carries code and status on a thrown error, with the detail first', () => {
    const err = new ControlError('CTL_LEASE_EXPIRED', 'instance i-1 is leased to another agent');
    expect(err.code).toBe('CTL_LEASE_EXPIRED');
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/^instance i-1 is leased to another agent\. /);
  });

  it('maps protocol\'s illegal-transition error to 409', () => {
    expect(statusOf(new IllegalTransitionError('stopped', 'active'))).toBe(409);
    expect(statusOf(new Error('plain'))).toBeUndefined();
    expect(statusOf(null)).toBeUndefined();
  });
});
