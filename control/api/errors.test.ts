import Fastify from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../protocol/validate.ts';
import { ControlError } from '../errors.ts';
import { installErrorHandling } from './errors.ts';

describe('error answers', () => {
  const app = Fastify();
  installErrorHandling(app, pino({ level: 'silent' }));
  app.get('/invalid', async () => { throw new ValidationError('routing.port', 'must be a port from 1 to 65535'); });
  app.get('/invalid-whole', async () => { throw new ValidationError('', 'an app config must be a JSON object'); });
  app.get('/several', async () => {
    throw ValidationError.of([
      { field: 'comand', message: 'unknown field (did you mean command?)', suggestion: 'command' },
      { field: 'image', message: 'must be a Docker image reference such as wharf/busybox:local' },
    ]);
  });
  app.get('/control', async () => { throw new ControlError('CTL_NOT_FOUND', 'no instance "x"'); });

  it('names the invalid field in `field` as well as at the start of the message', async () => {
    const out = await app.inject({ url: '/invalid' });
    expect(out.statusCode).toBe(400);
    expect(out.headers['x-wharf-error']).toBe('CTL_INVALID');
    expect(out.json()).toEqual({ error: {
      code: 'CTL_INVALID', status: 400, message: 'routing.port: must be a port from 1 to 65535', field: 'routing.port',
      errors: [{ field: 'routing.port', message: 'must be a port from 1 to 65535' }],
    } });
  });

  it('lists every mistake in `errors`, with the suggestion for an unknown field, and says them all in the message', async () => {
    const out = await app.inject({ url: '/several' });
    expect(out.statusCode).toBe(400);
    expect(out.json().error).toEqual({
      code: 'CTL_INVALID', status: 400, field: 'comand',
      message: 'comand: unknown field (did you mean command?); image: must be a Docker image reference such as wharf/busybox:local',
      errors: [
        { field: 'comand', message: 'unknown field (did you mean command?)', suggestion: 'command' },
        { field: 'image', message: 'must be a Docker image reference such as wharf/busybox:local' },
      ],
    });
  });

  it('leaves `field` out when the error is about the whole body, or is not a validation error', async () => {
    expect((await app.inject({ url: '/invalid-whole' })).json().error).not.toHaveProperty('field');
    const other = await app.inject({ url: '/control' });
    expect(other.json().error.code).toBe('CTL_NOT_FOUND');
    expect(other.json().error).not.toHaveProperty('field');
  });
});
