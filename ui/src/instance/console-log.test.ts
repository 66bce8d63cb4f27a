import { describe, expect, it } from 'vitest';
import { atBottom, clock, consoleEvent, lineLook, MAX_LINES, overflow } from './console-log.ts';

describe('instance console', () => {
  it('reads events as control/api/console.ts sends them and skips anything else', () => {
    const data = JSON.parse('{"seq":17,"at":"2026-03-01T12:00:05.123Z","stream":"stderr","text":"listening on :8080"}');
    expect(consoleEvent(data)).toEqual({ seq: 17, at: '2026-03-01T12:00:05.123Z', stream: 'stderr', text: 'listening on :8080' });
    expect(consoleEvent({ seq: '17', at: 'x', stream: 'stdout', text: '' })).toBeNull();
    expect(consoleEvent({ seq: 1, at: 'x', stream: 'tty', text: '' })).toBeNull();
    expect(consoleEvent(null)).toBeNull();
  });

  it('follows the bottom only when the reader is there, and caps the lines', () => {
    expect(atBottom(800, 200, 1000)).toBe(true);
    expect(atBottom(780, 200, 1000)).toBe(true);
    expect(atBottom(500, 200, 1000)).toBe(false);
    expect(overflow(1990, 5)).toBe(0);
    expect(overflow(1990, 30)).toBe(20);
    expect(overflow(MAX_LINES, 1)).toBe(1);
  });

  it('shows the time of day of a line', () => {
    expect(clock('2026-03-01T12:00:05.123Z')).toBe('12:00:05');
  });

  it('shows stderr as the app\'s output, like stdout (no red "err" label); Wharf\'s events keep theirs', () => {
    // Jupyter logs its ordinary start-up to stderr: it must not read as a failure.
    expect(lineLook('stderr')).toEqual({ className: 'line output', label: null });
    expect(lineLook('stderr')).toEqual(lineLook('stdout'));
    expect(lineLook('event')).toEqual({ className: 'line event', label: 'wharf' });
  });
});
