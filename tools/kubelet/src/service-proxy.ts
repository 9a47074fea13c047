/**
 * A Service's virtual IP, as kube-proxy provides it: this program runs in one container per
 * ClusterIP Service, answering to the Service's DNS name. It listens on every Service port and
 * forwards each TCP connection to the next ready endpoint (round robin) at that port's
 * targetPort. Endpoints come from a JSON file the emulated kubelet rewrites whenever a pod's
 * readiness changes; a Service with no ready endpoint refuses connections, as kube-proxy's
 * REJECT rule does. Connections already open stay with their pod (as conntrack keeps them).
 *
 * Standalone on purpose: it runs inside the orderflow image with only Node's own modules.
 *
 *   node service-proxy.js /endpoints/<service>.json
 */
import { readFileSync, watchFile } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

interface EndpointsFile {
  service: string;
  ports: { name: string; port: number }[];
  /** Ready endpoints: pod name, IP and the target port number per Service port name. */
  endpoints: { pod: string; ip: string; targets: Record<string, number> }[];
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node service-proxy.js <endpoints.json>\n');
  process.exit(2);
}

let state: EndpointsFile = { service: '?', ports: [], endpoints: [] };
const servers = new Map<number, Server>();
const next = new Map<string, number>();

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${state.service}: ${msg}\n`);
}

function pick(portName: string): { pod: string; ip: string; port: number } | undefined {
  const ready = state.endpoints.filter((e) => e.targets[portName] !== undefined);
  if (ready.length === 0) return undefined;
  const i = (next.get(portName) ?? 0) % ready.length;
  next.set(portName, i + 1);
  const e = ready[i]!;
  return { pod: e.pod, ip: e.ip, port: e.targets[portName]! };
}

function forward(client: Socket, portName: string): void {
  const target = pick(portName);
  if (!target) {
    client.destroy();
    return;
  }
  const upstream = connect({ host: target.ip, port: target.port });
  client.pipe(upstream);
  upstream.pipe(client);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', () => upstream.end());
  upstream.on('close', () => client.end());
}

function reload(): void {
  let fresh: EndpointsFile;
  try {
    fresh = JSON.parse(readFileSync(file!, 'utf8')) as EndpointsFile;
  } catch {
    return;
  }
  const before = state.endpoints.map((e) => e.pod).join(',');
  state = fresh;
  const after = state.endpoints.map((e) => e.pod).join(',');
  if (before !== after) log(`endpoints [${after}]`);
  for (const p of state.ports) {
    if (servers.has(p.port)) continue;
    const server = createServer({ allowHalfOpen: true }, (s) => forward(s, p.name));
    server.on('error', (err) => log(`port ${p.port}: ${err.message}`));
    server.listen(p.port, '0.0.0.0');
    servers.set(p.port, server);
  }
}

reload();
watchFile(file, { interval: 100 }, reload);
process.on('SIGTERM', () => process.exit(0));
