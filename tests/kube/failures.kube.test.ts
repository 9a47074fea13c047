import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Cluster, ROOT, StaticCheckError, parseManifests, render } from '@orderflow/kubelet';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { IMAGE, NAMESPACE, RELEASE, buildImages, script } from './helpers';

/**
 * `make kube-test` must fail when the Kubernetes path is broken. Each case breaks one thing on
 * purpose, the way a chart or image change could, and asserts the failure and its message:
 * the static checks (env names against the image's config schemas, Service names and ports) and,
 * for what only running shows, a pod whose readiness probe asks the wrong path, and an image
 * whose build fails.
 */

beforeAll(async () => {
  await buildImages();
}, 15 * 60_000);

async function problemsOf(set: string[]): Promise<string[]> {
  const c = Cluster.fromYaml(render({ release: RELEASE, namespace: NAMESPACE, set }), {
    name: 'kube-failures',
    namespace: NAMESPACE,
    proxyImage: IMAGE,
  });
  try {
    await c.check(IMAGE);
    return [];
  } catch (err: unknown) {
    if (err instanceof StaticCheckError) return err.problems;
    throw err;
  }
}

test('when the kube value set is rendered as it is, then the static checks pass', async () => {
  expect(await problemsOf([])).toEqual([]);
});

test('when the chart sets an env var name that no service reads, then the check fails naming it', async () => {
  const problems = await problemsOf(['orderApi.env.EVENTSTORE_ADRESS=of-eventstore:50051']);
  expect(problems).toEqual([
    expect.stringMatching(
      /^Deployment\/of-order-api\/order-api: sets EVENTSTORE_ADRESS, which order-api does not read/,
    ),
  ]);
});

test('when an address names a Service port that does not exist, then the check fails naming the Service and its ports', async () => {
  const problems = await problemsOf(['orderApi.env.EVENTSTORE_ADDRESS=of-eventstore:50052']);
  expect(problems).toEqual([
    'Deployment/of-order-api/order-api: EVENTSTORE_ADDRESS=of-eventstore:50052: Service of-eventstore has no port 50052 (it has 50051, 9090)',
  ]);
});

test('when an address names a Service that does not exist, then the check fails', async () => {
  const problems = await problemsOf(['payment.env.NATS_URL=nats://of-natz:4222']);
  // The migrate init container gets the same environment as the service.
  expect(problems).toEqual([
    'Deployment/of-payment/migrate: NATS_URL=nats://of-natz:4222 names of-natz, which is no Service',
    'Deployment/of-payment/payment: NATS_URL=nats://of-natz:4222 names of-natz, which is no Service',
  ]);
});

test('when a readiness probe asks the wrong path, then the pod never becomes Ready and the run fails saying why', async () => {
  // Only NATS (its StatefulSet, config, Services and its users' passwords Secret), with its
  // readiness path changed after rendering.
  const objects = parseManifests(render({ release: RELEASE, namespace: NAMESPACE })).filter(
    (o) => o.metadata.name.startsWith('of-nats') || o.metadata.name === 'nats-auth',
  );
  const sts = objects.find((o) => o.kind === 'StatefulSet') as unknown as V1StatefulSet;
  sts.spec!.template.spec!.containers[0]!.readinessProbe!.httpGet!.path = '/not-healthz';
  sts.spec!.template.spec!.containers[0]!.readinessProbe!.periodSeconds = 2;
  const c = new Cluster(objects, {
    name: 'kube-failures',
    namespace: NAMESPACE,
    proxyImage: IMAGE,
  });
  try {
    await c.up();
    await expect(c.waitReady(20_000)).rejects.toThrow(
      /of-nats-0 \(Running, IP [\d.]+\)\n {2}nats: running, restarts 0, readiness probe failed: GET \/not-healthz: HTTP 404/,
    );
  } finally {
    await c.down();
  }
});

test('when a source file does not compile, then the image build fails with the compiler error', async () => {
  const context = mkdtempSync(join(tmpdir(), 'orderflow-broken-'));
  try {
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((f) => f && !f.startsWith('.run/'));
    for (const f of files) {
      mkdirSync(dirname(join(context, f)), { recursive: true });
      try {
        cpSync(join(ROOT, f), join(context, f));
      } catch {
        // A file deleted in the working tree but still tracked.
      }
    }
    const main = join(context, 'services', 'payment', 'src', 'main.ts');
    writeFileSync(main, `${readFileSync(main, 'utf8')}\nconst broken: number = 'not a number';\n`);
    await expect(
      script(
        ['scripts/containers/build-image.sh', '--tag', 'orderflow:broken', '--context', context],
        'broken-image.log',
      ),
    ).rejects.toThrow(/error TS2322: Type 'string' is not assignable to type 'number'/);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
});
