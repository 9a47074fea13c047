import type { V1Container } from '@kubernetes/client-node';
import {
  endpointsIn,
  expand,
  inventory,
  quantity,
  resolveEnv,
  serviceHost,
  staticChecks,
  type KubeObject,
  type PodPlan,
} from '../src';

const svc = (name: string, ports: number[], selector = { app: name }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector, ports: ports.map((port) => ({ port, name: `p${port}` })) },
});

const deployment = (name: string, container: V1Container): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [container] } },
  },
});

describe('the emulated kubelet', () => {
  test('when env values reference earlier variables, then $(VAR) is expanded, $$(VAR) escaped and unknown references kept', () => {
    const vars = new Map([['PASSWORD', 's3cret']]);
    expect(expand('postgresql://u:$(PASSWORD)@db/x', vars)).toBe('postgresql://u:s3cret@db/x');
    expect(expand('$$(PASSWORD) $(MISSING)', vars)).toBe('$(PASSWORD) $(MISSING)');
  });

  test('when a container takes values from Secrets, ConfigMaps and the pod, then they resolve as on a cluster', () => {
    const inv = inventory(
      [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's' },
          data: { pw: Buffer.from('pw1').toString('base64') },
        },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { mode: 'fast' } },
      ],
      'ns',
    );
    const plan = {
      name: 'pod-0',
      namespace: 'ns',
      labels: {},
      annotations: {},
    } as unknown as PodPlan;
    const { vars } = resolveEnv(
      {
        name: 'c',
        resources: { limits: { memory: '256Mi' } },
        env: [
          { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
          { name: 'URL', value: 'x://u:$(PW)@h' },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cm', key: 'mode' } } },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          {
            name: 'MEM',
            valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
          },
        ],
      },
      inv,
      { plan, podIP: '10.0.0.1', serviceAccountName: 'default' },
    );
    expect(Object.fromEntries(vars)).toEqual({
      PW: 'pw1',
      URL: 'x://u:pw1@h',
      MODE: 'fast',
      POD: 'pod-0',
      MEM: '256',
    });
    expect(() =>
      resolveEnv(
        {
          name: 'c',
          env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'nope' } } }],
        },
        inv,
        { plan, podIP: '', serviceAccountName: 'default' },
      ),
    ).toThrow('X: key "nope" not in secret "s"');
  });

  test('when quantities are read, then suffixes scale as Kubernetes defines them', () => {
    expect([quantity('500m'), quantity('2'), quantity('256Mi'), quantity('1G')]).toEqual([
      0.5,
      2,
      256 * 1024 ** 2,
      1e9,
    ]);
  });

  test('when env values carry addresses, then host and port are found in bare, URL and list forms', () => {
    expect(endpointsIn('of-eventstore:50051')).toEqual([{ host: 'of-eventstore', port: 50051 }]);
    expect(endpointsIn('nats://a:4222, nats://b.ns.svc:4222')).toEqual([
      { host: 'a', port: 4222 },
      { host: 'b.ns.svc', port: 4222 },
    ]);
    expect(endpointsIn('postgresql://u:p@db:5432/x?sslmode=disable')).toEqual([
      { host: 'db', port: 5432 },
    ]);
    expect(endpointsIn('info')).toEqual([]);
  });

  test('when a host is named the ways a pod may name it, then it maps to the Service (or to outside the cluster)', () => {
    const inv = inventory([svc('nats', [4222]), svc('nats-headless', [4222])], 'prod');
    expect(serviceHost('nats', inv, 'cluster.local')).toEqual({ inCluster: true, service: 'nats' });
    expect(serviceHost('nats.prod', inv, 'cluster.local')).toEqual({
      inCluster: true,
      service: 'nats',
    });
    expect(serviceHost('nats.prod.svc.cluster.local', inv, 'cluster.local')).toEqual({
      inCluster: true,
      service: 'nats',
    });
    expect(serviceHost('nats-0.nats-headless', inv, 'cluster.local')).toEqual({
      inCluster: true,
      service: 'nats-headless',
    });
    expect(serviceHost('crdb.example.internal', inv, 'cluster.local')).toEqual({
      inCluster: false,
    });
    expect(serviceHost('localhost', inv, 'cluster.local')).toEqual({ inCluster: false });
  });

  test('when the rendered env, Services and probes fit each other, then there is no problem; when they do not, each is named', () => {
    const api = (env: V1Container['env'], probePort: string | number = 'ops'): KubeObject =>
      deployment('api', {
        name: 'api',
        command: ['node', 'services/order-api/dist/main.js'],
        env,
        ports: [{ name: 'ops', containerPort: 9090 }],
        readinessProbe: { httpGet: { path: '/readyz', port: probePort } },
      });
    const names = new Map([['order-api', new Set(['EVENTSTORE_ADDRESS', 'LOG_LEVEL'])]]);
    const es = deployment('es', { name: 'es', ports: [{ name: 'grpc', containerPort: 50051 }] });
    const good = inventory(
      [
        es,
        svc('es', [50051]),
        svc('api', [9090]),
        api([{ name: 'EVENTSTORE_ADDRESS', value: 'es:50051' }]),
      ],
      'ns',
    );
    expect(staticChecks(good, names, 'cluster.local')).toEqual([]);

    const bad = inventory(
      [
        es,
        svc('es', [50051]),
        svc('api', [9090]),
        api(
          [
            { name: 'EVENTSTORE_ADDRESS', value: 'es:50052' },
            { name: 'EVENTSTORE_ADRESS', value: 'es:50051' },
            { name: 'LOG_LEVEL', value: 'x://nowhere:1' },
            { name: 'OTEL_SERVICE_NAME', value: 'api' },
          ],
          'opz',
        ),
      ],
      'ns',
    );
    expect(staticChecks(bad, names, 'cluster.local')).toEqual([
      'Deployment/api/api: sets EVENTSTORE_ADRESS, which order-api does not read (it reads EVENTSTORE_ADDRESS, LOG_LEVEL)',
      'Deployment/api/api: EVENTSTORE_ADDRESS=es:50052: Service es has no port 50052 (it has 50051)',
      'Deployment/api/api: LOG_LEVEL=x://nowhere:1 names nowhere, which is no Service',
      'Deployment/api/api: readiness probe names port opz, which the container does not declare',
    ]);
  });
});
