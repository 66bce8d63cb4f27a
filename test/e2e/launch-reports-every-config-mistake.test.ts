import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, startStack, type Stack } from '../support/stack.ts';

// `wharf launch -f` as a process against a real control: a config with several mistakes is
// refused with all of them, one line each, a misspelt field with the field it was meant to be.
describe('wharf launch -f with a config that has several mistakes', () => {
  let stack: Stack;
  beforeAll(async () => { stack = await startStack({ noAgent: true }); });
  afterAll(() => stack?.stop());

  const write = (name: string, config: object) => {
    const file = join(stack.home, name);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };

  it('prints every mistake on a line of its own, with "did you mean", and launches nothing', async () => {
    const file = write('typos.json', { app: 'container', image: BUSYBOX, comand: 'sleep 600', routing: { mode: 'https', prot: 8080 }, idle: { maxHours: -1 } });
    const out = await stack.cli(['launch', '-f', file]);
    expect(out.code).not.toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr.trim().split('\n')).toEqual([
      `wharf: ${file} has 3 mistakes:`,
      '  comand: unknown field (did you mean command?)',
      '  routing.prot: unknown field (did you mean routing.port?)',
      expect.stringMatching(/^ {2}idle\.maxHours: must be a number of hours above 0/),
    ]);
    expect((await stack.api('GET', '/api/v1/instances')).json.instances).toEqual([]);
  });

  it('keeps a single mistake to one line', async () => {
    const out = await stack.cli(['launch', '-f', write('one.json', { app: 'container', image: BUSYBOX, routing: { port: 8080 }, evn: {} })]);
    expect(out.code).not.toBe(0);
    expect(out.stderr.trim()).toBe('wharf: evn: unknown field (did you mean env?) (CTL_INVALID)');
  });
});
