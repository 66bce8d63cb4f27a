import { describe, expect, it } from 'vitest';
import { withParam } from './live.ts';

describe('live streams', () => {
  it('asks the same question without following, and resumes after an event id', () => {
    expect(withParam('/api/v1/instances?queue=gpu&follow=1', 'follow', undefined)).toBe('/api/v1/instances?queue=gpu');
    expect(withParam('/api/v1/instances/i-1/console?follow=1', 'since', '42')).toBe('/api/v1/instances/i-1/console?follow=1&since=42');
    expect(withParam('/api/v1/instances/i-1/console?follow=1&since=3', 'since', '42')).toBe('/api/v1/instances/i-1/console?follow=1&since=42');
  });
});
