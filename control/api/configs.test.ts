import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from './testing.ts';

/** Three mistakes: two misspelt fields (one nested) and an image that is not a reference. */
const threeMistakes = { app: 'container', image: 'My Image', comand: 'sleep 60', routing: { mode: 'https', prot: 8080 } };

describe('a config with several mistakes (in process)', () => {
  let f: ApiFixture;
  let token: string;

  beforeAll(async () => {
    f = await apiFixture();
    token = (await f.user('bob')).token;
  });
  afterAll(() => f.close());

  it.each(['/api/v1/configs/validate', '/api/v1/instances'])('%s answers 400 listing all of them, each misspelling with the field it is close to', async (url) => {
    const res = await f.call('POST', url, token, threeMistakes);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error).toMatchObject({ code: 'CTL_INVALID', status: 400, field: 'comand' });
    expect(error.errors).toEqual([
      { field: 'comand', message: 'unknown field (did you mean command?)', suggestion: 'command' },
      { field: 'image', message: 'must be a Docker image reference such as wharf/busybox:local' },
      { field: 'routing.prot', message: 'unknown field (did you mean routing.port?)', suggestion: 'routing.port' },
    ]);
    // A client that reads only `message` still sees every one.
    for (const e of error.errors) expect(error.message).toContain(`${e.field}: ${e.message}`);
  });

  it('lists the mistakes only the app kind finds together too', async () => {
    const jupyter = { app: 'jupyter', routing: { mode: 'tcp' }, files: [{ path: '/opt/wharf/boot.sh', content: '' }], containerArgs: '--no-such-flag' };
    const res = await f.call('POST', '/api/v1/configs/validate', token, jupyter);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.errors.map((e: { field: string }) => e.field)).toEqual(['routing.mode', 'files[0].path', 'containerArgs']);
    expect((await f.call('GET', '/api/v1/instances', token)).json().instances).toEqual([]);
  });
});
