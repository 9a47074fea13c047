import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROMTOOL, RULES_DIR, allPanels, loadDashboards, loadRuleFiles } from './support';

// promtool is a real binary (Debian `prometheus`), hence an integration test.
const promtool = (...args: string[]) =>
  spawnSync(PROMTOOL, args, { cwd: RULES_DIR, encoding: 'utf8', timeout: 60_000 });

describe('alert rules', () => {
  it('when promtool checks the rule files, then they are valid', () => {
    const files = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual([
      'cockroachdb.rules.yaml',
      'nats.rules.yaml',
      'orderflow.rules.yaml',
    ]);
    const r = promtool('check', 'rules', ...files);
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('when promtool runs the rule unit tests, then every test passes', () => {
    const tests = readdirSync(join(RULES_DIR, 'tests')).filter((f) => f.endsWith('.yaml'));
    expect(tests.length).toBeGreaterThan(0);
    const r = promtool('test', 'rules', ...tests.map((t) => join('tests', t)));
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/FAILED/);
    expect(r.status).toBe(0);
  });

  it('when the rules are read, then the outbox, lag, stuck-saga, error, dead-letter and readiness alerts exist, each with a severity and a summary', () => {
    const alerts = loadRuleFiles()
      .flatMap((f) => f.groups.flatMap((g) => g.rules))
      .filter((r) => r.alert);
    for (const name of [
      'OrderflowOutboxStale',
      'OrderflowOutboxBacklogGrowing',
      'OrderflowConsumerLagRising',
      'OrderflowSagaStuck',
      'OrderflowDeadLetters',
      'OrderflowHttpErrorRate',
      'OrderflowServiceNotReady',
      'OrderflowServiceDown',
      'OrderflowServiceTargetMissing',
      'NatsJetStreamStorageNearLimit',
      'NatsJetStreamConsumerLagGrowing',
      'CockroachdbNodeDown',
    ])
      expect(alerts.map((a) => a.alert)).toContain(name);
    for (const a of alerts) {
      expect(a.labels?.['severity']).toMatch(/^(critical|warning|info)$/);
      expect(a.annotations?.['summary']).toBeTruthy();
    }
  });
});

describe('dashboards', () => {
  it('when a dashboard is loaded, then it has schemaVersion >= 36, a prometheus ${datasource} variable, unique panel ids and every query on that datasource', () => {
    const all = loadDashboards();
    expect(all.map((d) => d.file).sort()).toEqual([
      'cockroachdb.json',
      'nats-jetstream.json',
      'orderflow-overview.json',
      'orderflow-service.json',
    ]);
    for (const { file, dashboard } of all) {
      expect([file, dashboard.schemaVersion >= 36]).toEqual([file, true]);
      expect(dashboard.templating.list).toContainEqual(
        expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
      );
      const panels = allPanels(dashboard.panels);
      expect(new Set(panels.map((p) => (p as { id?: number }).id)).size).toBe(panels.length);
      for (const p of panels.filter((x) => x.type !== 'row')) {
        expect([file, p.title, p.datasource]).toEqual([
          file,
          p.title,
          { type: 'prometheus', uid: '${datasource}' },
        ]);
        expect(p.targets?.length).toBeGreaterThan(0);
        // The services' dashboards read orderflow_* and Node's process_*/nodejs_*; the stateful
        // tier's are checked against the exporters' series in stateful-metrics.int.test.ts.
        if (file.startsWith('orderflow-'))
          for (const t of p.targets ?? [])
            expect(t.expr).toMatch(/orderflow_|process_|nodejs_|\bup\b/);
      }
    }
  });
});
