import { join } from 'node:path';
import { formatReport, runChaos } from '@orderflow/chaos';

// The short form of `make chaos` (which places 500 orders): every kind of service is SIGKILLed
// at least once, nats-server and PostgreSQL are restarted once each, and the checker must find
// no violation.
test('when processes are killed and NATS and PostgreSQL restart while orders flow, then every invariant holds', async () => {
  const report = await runChaos({
    orders: Number(process.env['CHAOS_ORDERS'] ?? 150),
    rate: 20,
    concurrency: 12,
    extraKills: 2,
    root: join(__dirname, '..', '..'),
    log: () => undefined,
  });
  process.stdout.write(`${formatReport(report)}\n`);
  expect(report.violations).toEqual([]);
  expect(report.counts['accepted']).toBeGreaterThan(0);
  expect(report.natsRestarts).toBe(1);
  expect(report.postgresRestarts).toBe(1);
  const unkilled = [
    'eventstore',
    'order-api',
    'payment',
    'restaurant',
    'order-query-worker',
    'saga',
  ].filter((service) => (report.kills[service] ?? 0) < 1);
  expect(unkilled).toEqual([]);
}, 600_000);
