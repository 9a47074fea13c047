import { request } from 'node:http';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { Podman } from './podman';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** A named or numbered port of a container, as probes and Services name them. */
export function containerPort(c: V1Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * One probe, as the kubelet runs it: httpGet from outside the pod to its IP (success is a status
 * from 200 to 399), tcpSocket (a connection opens), exec (`podman exec`, exit 0), each within
 * `timeoutSeconds`. gRPC probes are not emulated (the static checks refuse them).
 */
export async function runProbe(
  probe: V1Probe,
  c: V1Container,
  podIP: string,
  containerId: string,
  podman: Podman,
): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) return execProbe(podman, containerId, probe.exec.command ?? [], timeoutMs);
  const target = probe.httpGet ?? probe.tcpSocket;
  if (!target) return { ok: false, detail: 'probe kind not emulated' };
  const port = containerPort(c, target.port);
  if (port === undefined) return { ok: false, detail: `no port named ${target.port}` };
  const host = target.host ?? podIP;
  if (!probe.httpGet) return tcpProbe(host, port, timeoutMs);
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/emulated' };
  for (const h of probe.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
  return httpProbe(host, port, probe.httpGet.path ?? '/', headers, timeoutMs);
}

async function execProbe(
  podman: Podman,
  containerId: string,
  command: string[],
  timeoutMs: number,
): Promise<ProbeResult> {
  const r = await podman.exec(['exec', containerId, ...command], { timeoutMs });
  return {
    ok: r.code === 0,
    detail: `exec exit ${r.code}${r.stderr ? `: ${r.stderr.trim()}` : ''}`,
  };
}

function httpProbe(
  host: string,
  port: number,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((done) => {
    const req = request({ host, port, path, headers, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      done({ ok: status >= 200 && status < 400, detail: `GET ${path}: HTTP ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => done({ ok: false, detail: `GET ${path}: ${err.message}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((done) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      done({ ok: true, detail: `tcp ${port} open` });
    });
    s.once('timeout', () => {
      s.destroy();
      done({ ok: false, detail: `tcp ${port}: timed out` });
    });
    s.once('error', (err) => done({ ok: false, detail: `tcp ${port}: ${err.message}` }));
  });
}
