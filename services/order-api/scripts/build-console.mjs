// Builds the console and the /docs page into dist/web: the TypeScript of web/src bundled by
// esbuild (the `eventsource` package included), the HTML and CSS copied. `make build` and the
// image build (scripts/build-runtime-tree.sh --compile) run it; the API serves dist/web.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: {
    console: join(root, 'web', 'src', 'console.ts'),
    docs: join(root, 'web', 'src', 'docs.ts'),
  },
  outdir: out,
  bundle: true,
  format: 'iife',
  target: ['es2022'],
  platform: 'browser',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'docs.html', 'console.css'])
  copyFileSync(join(root, 'web', f), join(out, f));
