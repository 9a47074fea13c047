import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The lint fixtures break the import boundaries on purpose (eslint.config.mjs ignores them in
// `make lint`); linted here with the repository's own configuration, each must fail.
const root = join(__dirname, '..', '..');
const fixtures = join(__dirname, 'fixtures');

interface LintResult {
  messages: { ruleId: string | null; message: string }[];
}

// The ESLint CLI in a child process: its flat config is an ES module, which jest's VM cannot load.
function boundaryErrors(file: string): Promise<string[]> {
  const eslint = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const r = spawnSync(
    process.execPath,
    [eslint, '--no-ignore', '-f', 'json', join(fixtures, file)],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  const [result] = JSON.parse(r.stdout) as LintResult[];
  return Promise.resolve(
    (result?.messages ?? [])
      .filter((m) => m.ruleId === 'orderflow/boundaries')
      .map((m) => m.message),
  );
}

test('when a domain file imports pg or reads the clock, then lint fails', async () => {
  const errors = await boundaryErrors('services/fixture-service/src/domain/imports-pg.ts');
  expect(errors).toEqual([
    expect.stringContaining('domain/ imports no I/O (pg)'),
    expect.stringContaining('reads no clock'),
  ]);
}, 60_000);

test('when a domain file imports an adapter, then lint fails', async () => {
  const errors = await boundaryErrors('services/fixture-service/src/domain/imports-adapter.ts');
  expect(errors).toEqual([expect.stringContaining('domain/ does not import adapters/')]);
}, 60_000);

test('when an adapter imports nothing it may not, then lint lets it', async () => {
  expect(await boundaryErrors('services/fixture-service/src/adapters/store.ts')).toEqual([]);
}, 60_000);

test('when a service imports another service, then lint fails', async () => {
  const errors = await boundaryErrors(
    'services/fixture-service/src/application/imports-another-service.ts',
  );
  expect(errors).toEqual([expect.stringContaining('a service does not import another service')]);
}, 60_000);

test('when a shared package imports a service, then lint fails', async () => {
  const errors = await boundaryErrors('packages/fixture-package/src/imports-a-service.ts');
  expect(errors).toEqual([expect.stringContaining('a shared package does not import a service')]);
}, 60_000);
