import { parseArgs } from 'node:util';
import { Cluster, StaticCheckError } from './cluster';
import { parseManifests } from './manifests';
import { render } from './render';

const HELP = `kubelet: runs the Helm chart's rendered pods as podman containers, without a cluster

usage: node tools/kubelet/dist/main.js up   [options]   render, check, run until Ctrl-C
       node tools/kubelet/dist/main.js down [--name n]  remove what a run left behind

It renders charts/orderflow with helm template, checks that the rendered env, Service names,
ports and probes fit the image, and runs every Deployment, StatefulSet and Job as podman pods on
one network where Service names resolve, doing the kubelet's part (init containers, probes,
restarts with backoff, securityContext, volumes). No scheduler and no API server: the operator
is left out. See docs/kubernetes.md, "Run the chart's pods without a cluster". \`make kube-up\`
builds the images first and runs this with charts/orderflow/ci/kube-values.yaml.

options:
  --values <file>    a values file (repeatable; default charts/orderflow/ci/kube-values.yaml)
  --set <k=v>        a value (repeatable)
  --release <name>   the release name (default of)
  --namespace <ns>   the namespace (default orderflow)
  --name <name>      names the podman objects of this run (default orderflow)
  --image <ref>      the orderflow image, for the checks and the Service proxies
                     (default localhost/orderflow:dev)
  --publish <svc:port:local>
                     publish a Service port on 127.0.0.1:<local> (like kubectl port-forward;
                     default of-order-api:8080:8080)
  -h, --help         this help
`;

const log = (line: string): void => void process.stdout.write(`${line}\n`);

function options(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      values: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      release: { type: 'string', default: 'of' },
      namespace: { type: 'string', default: 'orderflow' },
      name: { type: 'string', default: 'orderflow' },
      image: { type: 'string', default: 'localhost/orderflow:dev' },
      publish: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** `--publish svc:port:local` pairs, by Service. */
function published(flags: string[]): Record<string, [number, number][]> {
  const publish: Record<string, [number, number][]> = {};
  for (const p of flags) {
    const [svc, port, local] = p.split(':');
    if (!svc || !port || !local)
      throw new Error(`--publish ${p}: expected <service>:<port>:<local port>`);
    (publish[svc] ??= []).push([Number(local), Number(port)]);
  }
  return publish;
}

/** Deletes every pod on Ctrl-C or SIGTERM, printing how each container stopped. */
function stopOnSignal(cluster: Cluster): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log('stopping: deleting every pod (preStop, SIGTERM, grace period)');
    void cluster.down().then((reports) => {
      for (const r of reports)
        log(
          `  ${r.pod}/${r.container}: exit ${r.exitCode} in ${r.seconds.toFixed(1)} s${r.killed ? ' (SIGKILL)' : ''}`,
        );
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function up(values: ReturnType<typeof options>['values']): Promise<number> {
  const publish = published(values.publish ?? [`${values.release}-order-api:8080:8080`]);
  const rendered = render({
    release: values.release,
    namespace: values.namespace,
    valuesFiles: values.values,
    set: values.set,
  });
  const cluster = new Cluster(parseManifests(rendered), {
    name: values.name,
    namespace: values.namespace,
    proxyImage: values.image,
    backoffScale: 0.2,
    publish,
    log,
  });
  try {
    await cluster.check(values.image);
  } catch (err: unknown) {
    if (!(err instanceof StaticCheckError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  stopOnSignal(cluster);
  await cluster.up();
  await cluster.waitReady(10 * 60_000);
  log('\nevery pod is Ready. Services:');
  for (const name of cluster.inv.services.keys()) log(`  ${name}: ${await cluster.resolve(name)}`);
  for (const [svc, ports] of Object.entries(publish))
    for (const [local, port] of ports)
      log(`  ${svc}:${port} published on http://127.0.0.1:${local}`);
  log('Ctrl-C deletes the pods.');
  await new Promise(() => undefined);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = options(argv);
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  if (command === 'down') {
    const opts = { name: values.name, namespace: values.namespace, proxyImage: values.image };
    await new Cluster([], opts).clean();
    return 0;
  }
  if (command === 'up') return up(values);
  process.stderr.write(`unknown command ${command}; see --help\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kubelet: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
