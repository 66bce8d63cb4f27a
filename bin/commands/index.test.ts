import { describe, expect, it } from 'vitest';
import { commands } from './index.ts';

describe('the commands table', () => {
  it('loads every command with its help text and its run function', async () => {
    for (const [name, load] of Object.entries(commands)) {
      const command = await load();
      expect(typeof command.help, name).toBe('string');
      expect(command.help, name).toContain(`wharf ${name}`);
      expect(typeof command.run, name).toBe('function');
    }
  });
});
