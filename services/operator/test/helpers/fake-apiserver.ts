import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * An in-process fake of the few Kubernetes API endpoints the operator calls. No real API server
 * (nor kind, nor Docker) can run on the build machines, so the Kubernetes adapter is tested
 * against this: list and chunked watch of OrderFlows, status merge patch, ConfigMaps, the
 * Deployment scale subresource and Leases with resourceVersion conflicts; and, for the chart's
 * install tasks (install-tasks.ts), Secrets and the cluster-scoped CustomResourceDefinitions.
 */
type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

export interface Request {
  method: string;
  path: string;
}

export class FakeApiServer {
  private server: Server | undefined;
  private rv = 1;
  readonly objects = new Map<string, Obj>();
  readonly requests: Request[] = [];
  private readonly watchers = new Set<{ ns: string; res: ServerResponse }>();
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.closeWatches();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'operator', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'operator', namespace: 'prod' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Ends every open watch stream, as an API server does at its timeout or on restart. */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  // --- test-side helpers (what kubectl would do) ---------------------------------------------

  applyOrderFlow(ns: string, name: string, spec: unknown): Obj {
    const key = `orderflows/${ns}/${name}`;
    const before = this.objects.get(key);
    const specChanged = !before || JSON.stringify(before['spec']) !== JSON.stringify(spec);
    const obj: Obj = {
      apiVersion: 'orderflow.io/v1alpha1',
      kind: 'OrderFlow',
      ...(before ?? {}),
      metadata: {
        ...(before?.metadata ?? {
          name,
          namespace: ns,
          uid: `uid-${name}`,
          creationTimestamp: new Date().toISOString(),
          generation: 0,
        }),
        generation: Number(before?.metadata['generation'] ?? 0) + (specChanged ? 1 : 0),
        resourceVersion: String(++this.rv),
      },
      spec,
    };
    this.objects.set(key, obj);
    this.notify(ns, before ? 'MODIFIED' : 'ADDED', obj);
    return obj;
  }

  deleteOrderFlow(ns: string, name: string): void {
    const key = `orderflows/${ns}/${name}`;
    const obj = this.objects.get(key);
    if (!obj) return;
    this.objects.delete(key);
    this.notify(ns, 'DELETED', {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(++this.rv) },
    });
  }

  putDeployment(ns: string, name: string, replicas: number): void {
    this.objects.set(`deployments/${ns}/${name}`, {
      metadata: { name, namespace: ns, resourceVersion: String(++this.rv) },
      spec: { replicas },
    });
  }

  putConfigMap(ns: string, name: string, data: Record<string, string>): void {
    this.objects.set(`configmaps/${ns}/${name}`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, resourceVersion: String(++this.rv) },
      data,
    });
  }

  get(kind: string, ns: string, name: string): Obj | undefined {
    return this.objects.get(`${kind}/${ns}/${name}`);
  }

  // --- HTTP -----------------------------------------------------------------------------------

  private notify(ns: string, type: string, object: Obj): void {
    for (const w of this.watchers)
      if (w.ns === ns) w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  /**
   * POST, GET and PUT of a namespaced object stored as sent (ConfigMaps, Leases). A PUT that
   * carries a resourceVersion other than the stored one is a 409, as on a real API server.
   */
  private namedObject(
    kind: string,
    ns: string,
    name: string | undefined,
    method: string,
    body: Obj | undefined,
    send: (code: number, obj: unknown) => void,
    status: (code: number, reason: string) => void,
  ): void {
    const stamped = (b: Obj): Obj => ({
      ...b,
      metadata: { ...b.metadata, namespace: ns, resourceVersion: String(++this.rv) },
    });
    if (method === 'POST' && body) {
      const key = `${kind}/${ns}/${String(body.metadata['name'])}`;
      if (this.objects.has(key)) return status(409, 'AlreadyExists');
      const obj = stamped(body);
      this.objects.set(key, obj);
      return send(201, obj);
    }
    const key = `${kind}/${ns}/${name}`;
    const obj = this.objects.get(key);
    if (!obj) return status(404, 'NotFound');
    if (method === 'GET') return send(200, obj);
    if (method === 'PUT' && body) {
      const version = body.metadata['resourceVersion'];
      if (version !== undefined && version !== obj.metadata['resourceVersion'])
        return status(409, 'Conflict');
      const next = stamped(body);
      this.objects.set(key, next);
      return send(200, next);
    }
    return status(405, 'MethodNotAllowed');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body =
      chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj) : undefined;
    const send = (code: number, obj: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const status = (code: number, reason: string) =>
      send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code });

    let m = url.pathname.match(
      /^\/apis\/orderflow\.io\/v1alpha1\/namespaces\/([^/]+)\/orderflows(?:\/([^/]+))?(\/status)?$/,
    );
    if (m) {
      const [, ns = '', name, sub] = m;
      if (!name && method === 'GET') {
        if (url.searchParams.get('watch') === 'true') {
          res.writeHead(200, {
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
          });
          res.flushHeaders();
          const watcher = { ns, res };
          this.watchers.add(watcher);
          req.on('close', () => this.watchers.delete(watcher));
          return;
        }
        const items = [...this.objects.entries()]
          .filter(([k]) => k.startsWith(`orderflows/${ns}/`))
          .map(([, v]) => v);
        return send(200, {
          apiVersion: 'orderflow.io/v1alpha1',
          kind: 'OrderFlowList',
          metadata: { resourceVersion: String(this.rv) },
          items,
        });
      }
      const key = `orderflows/${ns}/${name}`;
      const obj = this.objects.get(key);
      if (!obj) return status(404, 'NotFound');
      if (method === 'GET') return send(200, obj);
      if (method === 'PATCH' && sub && body) {
        if (req.headers['content-type'] !== 'application/merge-patch+json')
          return status(415, 'UnsupportedMediaType');
        // The status subresource ignores everything but status.
        const next: Obj = {
          ...obj,
          status: mergePatch(obj['status'], body['status']),
          metadata: { ...obj.metadata, resourceVersion: String(++this.rv) },
        };
        this.objects.set(key, next);
        this.notify(ns, 'MODIFIED', next);
        return send(200, next);
      }
      return status(405, 'MethodNotAllowed');
    }

    m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/);
    if (m) return this.namedObject('configmaps', m[1] ?? '', m[2], method, body, send, status);

    m = url.pathname.match(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/);
    if (m) {
      const [, ns = '', name = ''] = m;
      const key = `deployments/${ns}/${name}`;
      const obj = this.objects.get(key);
      if (!obj) return status(404, 'NotFound');
      const scale = () => {
        const d = this.objects.get(key)!;
        return {
          apiVersion: 'autoscaling/v1',
          kind: 'Scale',
          metadata: { name, namespace: ns, resourceVersion: d.metadata['resourceVersion'] },
          spec: { replicas: (d['spec'] as { replicas: number }).replicas },
          status: { replicas: (d['spec'] as { replicas: number }).replicas },
        };
      };
      if (method === 'GET') return send(200, scale());
      if (method === 'PATCH' && body) {
        const replicas = (body['spec'] as { replicas?: number } | undefined)?.replicas;
        if (typeof replicas !== 'number') return status(422, 'Invalid');
        this.objects.set(key, {
          ...obj,
          spec: { ...(obj['spec'] as object), replicas },
          metadata: { ...obj.metadata, resourceVersion: String(++this.rv) },
        });
        return send(200, scale());
      }
      return status(405, 'MethodNotAllowed');
    }

    m = url.pathname.match(
      /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/,
    );
    if (m) return this.namedObject('leases', m[1] ?? '', m[2], method, body, send, status);

    m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/);
    if (m) return this.namedObject('secrets', m[1] ?? '', m[2], method, body, send, status);

    m = url.pathname.match(
      /^\/apis\/apiextensions\.k8s\.io\/v1\/customresourcedefinitions(?:\/([^/]+))?$/,
    );
    if (m)
      return this.namedObject('customresourcedefinitions', '', m[1], method, body, send, status);
    return status(404, 'NotFound');
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
