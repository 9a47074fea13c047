import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { connect } from '@nats-io/transport-node';
import {
  createLogger,
  loadConfig,
  natsConnectOptions,
  redactNatsUrl,
  runMain,
} from '@orderflow/platform';
import { createJetStreamAdapter } from './adapters/jetstream';
import { configSchema, natsUrlFromEnv } from './config';
import { applyCrd, ensureSecrets, type EnsureSecretsSpec } from './install-tasks';
import { startOperator } from './operator';
import { plan, readOrderFlowYaml } from './plan';

export const HELP = `orderflow operator: reconciles OrderFlow resources (orderflow.io/v1alpha1)

Usage:
  node services/operator/dist/main.js
      Run the operator: watch OrderFlow resources in WATCH_NAMESPACE, manage the JetStream
      stream and consumers, write the <name>-runtime ConfigMap, scale <name>-order-query-worker
      on consumer lag, report status. Configured by environment (docs/operator.md).

  node services/operator/dist/main.js --dry-run --file <orderflow.yaml> [--nats <url>]
      Plan mode: read the resource from the file, compare it with the JetStream at --nats
      (default: NATS_URL or nats://127.0.0.1:4222) and print the JetStream and Kubernetes changes
      the operator would make. Changes nothing; needs no Kubernetes.

  node services/operator/dist/main.js ensure-secrets --spec '<json>'
      Install task (the chart's pre-install/pre-upgrade hook): create the Secrets the spec names
      in its namespace when missing; add missing random keys; never change an existing key.
      Spec: {"namespace": "...", "labels": {...}, "secrets": [{"name": "...", "random": ["key", ...]},
      {"name": "...", "files": {"key": "/path", ...}}]}. Prints names only, never values.

  node services/operator/dist/main.js apply-crd --file <crd.yaml>
      Install task (the chart's pre-upgrade hook): create or replace the CustomResourceDefinition.

  Both talk to the API server of the pod's service account (in cluster), else of the kubeconfig.

Options:
  --dry-run        plan mode (needs --file)
  -f, --file       YAML file holding an OrderFlow resource (plan mode) or the CRD (apply-crd)
  --spec           the ensure-secrets spec, JSON
  --nats           NATS server URL(s), comma-separated
  -h, --help       this text

Environment: NATS_URL, NATS_STREAM, WATCH_NAMESPACE, POD_NAME, LEASE_NAME (orderflow-operator),
  LEASE_DURATION_SECONDS (15), LEASE_RENEW_DEADLINE_SECONDS (10), LEASE_RETRY_PERIOD_SECONDS (2),
  RESYNC_SECONDS (15), WATCH_RESTART_DELAY_SECONDS (5), OPS_HOST (0.0.0.0), OPS_PORT (9090), LOG_LEVEL (info).
`;

async function runPlan(file: string, natsUrl: string): Promise<number> {
  const resource = readOrderFlowYaml(readFileSync(file, 'utf8'));
  const nc = await connect({
    ...natsConnectOptions(natsUrl),
    reconnect: false,
    timeout: 5000,
  });
  try {
    process.stdout.write(await plan(resource, createJetStreamAdapter(nc), redactNatsUrl(natsUrl)));
  } finally {
    await nc.close();
  }
  return 0;
}

/** ensure-secrets and apply-crd: their own file (install-tasks.ts), run to completion. */
function runInstallTask(task: 'ensure-secrets' | 'apply-crd', argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: { spec: { type: 'string' }, file: { type: 'string', short: 'f' } },
    strict: true,
  });
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const log = (line: string): void => void process.stdout.write(`${task}: ${line}\n`);
  const run =
    task === 'ensure-secrets'
      ? ensureSecrets(kc, JSON.parse(values.spec ?? 'null') as EnsureSecretsSpec, log)
      : applyCrd(kc, values.file ?? '', log);
  run.then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${task} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

function main(argv: string[]): void {
  if (argv[0] === 'ensure-secrets' || argv[0] === 'apply-crd') {
    try {
      runInstallTask(argv[0], argv.slice(1));
    } catch (err: unknown) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
      process.exit(2);
    }
    return;
  }
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'dry-run': { type: 'boolean', default: false },
        file: { type: 'string', short: 'f' },
        nats: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err: unknown) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  if (args['dry-run']) {
    if (!args.file) {
      process.stderr.write('--dry-run needs --file <orderflow.yaml>\n');
      process.exit(2);
    }
    const natsUrl = args.nats ?? natsUrlFromEnv();
    runPlan(args.file, natsUrl).then(
      (code) => process.exit(code),
      (err: unknown) => {
        process.stderr.write(`plan failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
    return;
  }
  runMain(async () => {
    const config = loadConfig(configSchema);
    return startOperator(config, { logger: createLogger('operator', config.LOG_LEVEL) });
  });
}

if (require.main === module) main(process.argv.slice(2));
