import { describe, expect, it } from 'vitest';
import { defaultValues, type FormValues } from './form-values.ts';
import { keyOfField, serverError, serverErrors, splitMessage, validateForm } from './form-errors.ts';

function container(patch: Record<string, string> = {}): FormValues {
  const v = defaultValues('container');
  Object.assign(v.text, { image: 'wharf/busybox:local', 'routing.port': '8080' }, patch);
  return v;
}

describe('launch form errors', () => {
  it('a valid form has none', () => {
    expect(validateForm(container())).toEqual([]);
    expect(validateForm(defaultValues('jupyter'))).toEqual([]);
  });

  it('maps an error on routing.port to the port input', () => {
    expect(keyOfField('routing.port', container())).toBe('routing.port');
    expect(validateForm(container({ 'routing.port': '70000' }))).toEqual([
      { key: 'routing.port', field: 'routing.port', message: 'must be a port from 1 to 65535' },
    ]);
    expect(validateForm(container({ 'routing.port': '' }))).toEqual([
      { key: 'routing.port', field: 'routing.port', message: 'is required when routing.mode is "https"' },
    ]);
    expect(validateForm(container({ 'routing.port': '', 'routing.mode': 'none' }))).toEqual([]);
  });

  it('finds every error at once, not only the first', () => {
    const v = container({ image: '', 'routing.port': '0', 'idle.maxHours': '0', queue: 'a b', tags: 'ok\n\nok', workdir: 'rel' });
    v.files = [{ path: 'relative', mode: '0644', content: '' }, { path: '/ok', mode: '4755', content: '' }];
    v.env = [{ name: '1BAD', value: 'x' }, { name: 'GOOD', value: 'x' }];
    const keys = validateForm(v).map((e) => e.key);
    expect(keys).toEqual(expect.arrayContaining(['image', 'routing.port', 'idle.maxHours', 'queue', 'tags', 'workdir', 'files[0].path', 'files[1].mode', 'env[0].name']));
    expect(keys).toHaveLength(9);
  });

  it('maps list items to their list, saying which line', () => {
    const v = defaultValues('jupyter');
    v.text.extraPackages = 'pandas\nnot a package';
    expect(validateForm(v)).toEqual([{ key: 'extraPackages', field: 'extraPackages[1]', message: expect.stringMatching(/^line 2: must be a pip requirement/) }]);
  });

  it('maps env errors to the row of that name, and two rows of one name to the second', () => {
    const v = container();
    v.env = [{ name: 'A', value: 'x' }, { name: 'B', value: 'nul\0' }, { name: 'A', value: 'y' }];
    expect(validateForm(v).map((e) => e.key)).toEqual(['env[2].name', 'env[1].value']);
    expect(keyOfField('env.NOPE', v)).toBe('env');
  });

  it('maps cross-field errors to the field named (git.branch needs git.repo)', () => {
    const v = defaultValues('jupyter');
    v.text['git.branch'] = 'main';
    expect(validateForm(v)).toEqual([{ key: 'git.branch', field: 'git.branch', message: 'needs git.repo' }]);
  });

  it('does not blame the branch for an invalid repo', () => {
    const v = defaultValues('jupyter');
    Object.assign(v.text, { 'git.repo': 'http://insecure', 'git.branch': 'main' });
    expect(validateForm(v).map((e) => e.key)).toEqual(['git.repo']);
  });

  it('maps a file error to the file row, or the files group when the row is gone', () => {
    const v = container();
    v.files = [{ path: '/a', mode: '0644', content: '' }];
    expect(keyOfField('files[0].content', v)).toBe('files[0].content');
    expect(keyOfField('files[0]', v)).toBe('files[0].path');
    expect(keyOfField('files[3].path', v)).toBe('files');
  });

  it('maps a server answer by the field at the start of its message, else to the form', () => {
    expect(splitMessage('routing.port: must be a port')).toEqual({ field: 'routing.port', message: 'must be a port' });
    expect(serverError('containerArgs: --privileged needs an admin', container())).toEqual({ key: 'containerArgs', field: 'containerArgs', message: '--privileged needs an admin' });
    expect(serverError('workspace.restoreFrom: no instance "x" of yours to restore from', container())).toMatchObject({ key: 'workspace.restoreFrom' });
    expect(serverError('no agent serves queue "gpu"', container())).toEqual({ key: null, field: '', message: 'no agent serves queue "gpu"' });
    expect(serverError('kind: must be "wharf.app-config"', container())).toMatchObject({ key: null, message: 'kind: must be "wharf.app-config"' });
  });

  it('maps a server answer by its `field` when it has one', () => {
    expect(serverError('routing.port: must be a port from 1 to 65535', container(), 'routing.port'))
      .toEqual({ key: 'routing.port', field: 'routing.port', message: 'must be a port from 1 to 65535' });
    // A message that does not start with the field is kept whole; `field` alone finds the input.
    expect(serverError('the image cannot be pulled', container(), 'image')).toEqual({ key: 'image', field: 'image', message: 'the image cannot be pulled' });
    // An env variable's field says which row; a list item which line.
    const v = container();
    v.env = [{ name: 'A', value: 'x' }];
    expect(serverError('env.A: must not contain NUL', v, 'env.A')).toMatchObject({ key: 'env[0].value', message: 'must not contain NUL' });
    v.text.tags = 'ok\nnot ok';
    expect(serverError('tags[1]: must be a tag', v, 'tags[1]')).toEqual({ key: 'tags', field: 'tags[1]', message: 'line 2: must be a tag' });
    // A field the form has no input for: the form as a whole, with the message as control said it.
    expect(serverError('kind: must be "wharf.app-config"', container(), 'kind')).toEqual({ key: null, field: 'kind', message: 'kind: must be "wharf.app-config"' });
  });

  it('maps every mistake of a server answer that lists them to its input', () => {
    const answer = {
      message: 'containerArgs: unsupported flag --x; kind: must be "wharf.app-config"', field: 'containerArgs',
      errors: [{ field: 'containerArgs', message: 'unsupported flag --x' }, { field: 'kind', message: 'must be "wharf.app-config"' }],
    };
    expect(serverErrors(answer, container())).toEqual([
      { key: 'containerArgs', field: 'containerArgs', message: 'unsupported flag --x' },
      { key: null, field: 'kind', message: 'kind: must be "wharf.app-config"' },
    ]);
    // An answer without the list (an older control, another error): the one its message names.
    expect(serverErrors({ message: 'image: must be x', field: 'image' }, container())).toEqual([{ key: 'image', field: 'image', message: 'must be x' }]);
  });

  it('finds what a first error hides (a missing port behind an invalid mode)', () => {
    const v = container({ 'routing.mode': 'udp', 'routing.port': '' });
    expect(validateForm(v).map((e) => e.field)).toEqual(['routing.mode', 'routing.port']);
  });
});
