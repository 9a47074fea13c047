import { parseArgs } from 'node:util';
import { formatReport, runChaos } from './chaos';

const HELP = `make chaos / node tools/chaos/dist/main.js: the fault-injection suite.

Runs the whole system locally (every service a process), places orders (a mix that approves,
declines and gets rejected) while SIGKILLing each kind of service at random moments (the runner
restarts them), restarting nats-server once and PostgreSQL once; then checks every invariant:
one final state per accepted order, read model = fold of events, one debit per order, one refund
per cancelled paid order, balances never negative and matching the ledger, every stored event in
JetStream, no version gap. Exits 1 on any violation.

options:
  --orders <n>       orders to place (default 500)
  --rate <n>         orders per second (default 25)
  --concurrency <n>  concurrent clients (default 16)
  --extra-kills <n>  random SIGKILLs beyond one per service kind (default 6)
  --seed <n>         replay a run
  -h, --help`;

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '500' },
    rate: { type: 'string', default: '25' },
    concurrency: { type: 'string', default: '16' },
    'extra-kills': { type: 'string', default: '6' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const int = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number, got "${v}"\n`);
    process.exit(2);
  }
  return n;
};

runChaos({
  orders: int('orders', values.orders),
  rate: int('rate', values.rate) || 1,
  concurrency: int('concurrency', values.concurrency) || 1,
  extraKills: int('extra-kills', values['extra-kills']),
  seed: values.seed === undefined ? undefined : int('seed', values.seed),
})
  .then((report) => {
    process.stdout.write(`${formatReport(report)}\n`);
    process.exit(report.violations.length === 0 ? 0 : 1);
  })
  .catch((err: unknown) => {
    process.stderr.write(
      `chaos run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
