#!/usr/bin/env node
import { run } from './cli';

run(process.argv.slice(2), {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  env: process.env,
  cwd: process.cwd(),
}).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`deadletters: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
