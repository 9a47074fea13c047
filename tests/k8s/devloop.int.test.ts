import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type AnySchema } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { CHART, RELEASE, ROOT, find, helm, render, type Workload } from './helpers';

/** skaffold.yaml, Tiltfile, kind config, Dockerfile and mk/k8s.mk, checked offline. */

// Vendored copies (tests/k8s/schemas/README.md says where they come from), so any clone can run this.
const SCHEMAS = join(__dirname, 'schemas');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

interface HelmRelease {
  name: string;
  chartPath: string;
  namespace: string;
  valuesFiles?: string[];
  setValueTemplates?: Record<string, string>;
}
interface Skaffold {
  apiVersion: string;
  build: { artifacts: { image: string; docker?: { dockerfile: string } }[] };
  deploy: { helm: { releases: HelmRelease[] } };
  portForward: {
    resourceType: string;
    resourceName: string;
    namespace: string;
    port: number;
    localPort: number;
  }[];
  profiles: {
    name: string;
    activation: { kubeContext: string }[];
    patches: { op: string; path: string; value: string[] }[];
  }[];
}

describe('skaffold.yaml', () => {
  const skaffold = parseYaml(read('skaffold.yaml')) as Skaffold;
  const schemaPath = join(SCHEMAS, 'skaffold-v4beta13.json');

  (existsSync(schemaPath) ? test : test.skip)(
    'when validated against the skaffold v4beta13 JSON schema, then it is valid',
    () => {
      const validate = new Ajv({ strict: false, allErrors: true }).compile(
        JSON.parse(readFileSync(schemaPath, 'utf8')) as AnySchema,
      );
      const ok = validate(skaffold);
      expect(ok ? [] : validate.errors).toEqual([]);
      expect(skaffold.apiVersion).toBe('skaffold/v4beta13');
    },
  );

  test('when skaffold builds and deploys, then the chart gets the built image and its release names match the port-forward', () => {
    const artifact = skaffold.build.artifacts[0];
    expect(artifact?.image).toBe('orderflow');
    expect(existsSync(join(ROOT, artifact?.docker?.dockerfile ?? 'missing'))).toBe(true);
    const release = skaffold.deploy.helm.releases[0];
    expect(release?.chartPath).toBe('charts/orderflow');
    expect(release?.setValueTemplates).toEqual({
      'image.repository': '{{.IMAGE_REPO_orderflow}}',
      'image.tag': '{{.IMAGE_TAG_orderflow}}',
    });
    expect(skaffold.portForward).toContainEqual({
      resourceType: 'service',
      resourceName: `${release?.name}-order-api`,
      namespace: release?.namespace,
      port: 8080,
      localPort: 8080,
    });
  });

  test('when the kube context is kind-orderflow or minikube, then a profile adds the dev values, which exist', () => {
    const byContext = new Map(skaffold.profiles.map((p) => [p.activation[0]?.kubeContext, p]));
    for (const ctx of ['kind-orderflow', 'minikube']) {
      const files =
        byContext.get(ctx)?.patches.find((x) => x.path === '/deploy/helm/releases/0/valuesFiles')
          ?.value ?? [];
      expect(files).toEqual(['charts/orderflow/ci/dev-values.yaml']);
      for (const f of files) expect(existsSync(join(ROOT, f))).toBe(true);
    }
  });

  test('when the chart renders with the skaffold release name, then the forwarded Service exists with port 8080', () => {
    const release = skaffold.deploy.helm.releases[0];
    const r = helm([
      'template',
      release?.name ?? '',
      CHART,
      '-f',
      join(CHART, 'ci', 'dev-values.yaml'),
      '--show-only',
      'templates/component.yaml',
    ]);
    expect(r.stdout).toContain(`name: ${release?.name}-order-api`);
  });
});

/** A small Starlark tokenizer: enough to find every call, its keyword arguments and balance. */
interface Call {
  name: string;
  keywords: string[];
  topLevel: boolean;
  line: number;
}
function starlarkCalls(src: string): Call[] {
  const tokens: { t: string; line: number }[] = [];
  const re =
    /(#[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|([A-Za-z_][\w.]*)|(\d+(?:\.\d+)?)|(==|!=|<=|>=|\*\*|[()[\]{},:=+\-*/%<>.])|(\n)|([ \t\r]+)|(.)/g;
  let line = 1;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const [text, comment, str, ident, num, punct, nl, , bad] = m;
    if (bad) throw new Error(`unexpected character ${JSON.stringify(bad)} on line ${line}`);
    if (nl) line++;
    if (comment || nl || (!str && !ident && !num && !punct)) continue;
    tokens.push({ t: str ? '"str"' : text, line });
    if (str) line += (str.match(/\n/g) ?? []).length;
  }
  const calls: Call[] = [];
  const stack: { call?: Call; open: string }[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  tokens.forEach((tok, i) => {
    const next = tokens[i + 1]?.t;
    if (
      /^[A-Za-z_]/.test(tok.t) &&
      next === '(' &&
      !['if', 'for', 'in', 'and', 'or', 'not', 'return', 'def'].includes(tok.t)
    ) {
      const call = { name: tok.t, keywords: [], topLevel: stack.length === 0, line: tok.line };
      calls.push(call);
      stack.push({ call, open: '(' });
      tokens[i + 1] = { t: '(consumed', line: tok.line };
      return;
    }
    if (tok.t === '(' || tok.t === '[' || tok.t === '{') stack.push({ open: tok.t });
    else if (tok.t in pairs) {
      const top = stack.pop();
      if (!top || top.open !== pairs[tok.t])
        throw new Error(`unbalanced ${tok.t} on line ${tok.line}`);
    } else if (/^[A-Za-z_]\w*$/.test(tok.t) && next === '=') {
      const frame = stack[stack.length - 1];
      if (frame?.call) frame.call.keywords.push(tok.t);
    }
  });
  if (stack.length) throw new Error('unbalanced brackets at end of file');
  return calls;
}

describe('Tiltfile', () => {
  const api = JSON.parse(readFileSync(join(SCHEMAS, 'tiltfile-api.json'), 'utf8')) as Record<
    string,
    string[]
  >;
  const calls = starlarkCalls(read('Tiltfile'));

  test('when tokenised, then every call is a Tilt builtin and every keyword is one of its parameters', () => {
    expect(calls.length).toBeGreaterThan(5);
    const problems = calls.flatMap((c) => {
      const params = api[c.name];
      if (!params) return [`line ${c.line}: ${c.name} is not a Tilt builtin`];
      return c.keywords
        .filter((k) => !params.includes(k))
        .map((k) => `line ${c.line}: ${c.name} has no parameter ${k}`);
    });
    expect(problems).toEqual([]);
  });

  test('when the tokenizer meets an unknown function or a bad keyword, then it reports them', () => {
    const bad = starlarkCalls("k8s_resourse('x')\nk8s_resource('y', portforwards=['1:1'])\n");
    expect(bad.map((c) => [c.name, c.keywords])).toEqual([
      ['k8s_resourse', []],
      ['k8s_resource', ['portforwards']],
    ]);
    expect(api['k8s_resourse']).toBeUndefined();
    expect(api['k8s_resource']).not.toContain('portforwards');
    expect(() => starlarkCalls('helm(["a"]')).toThrow(/unbalanced/);
  });

  test('when Tilt builds and deploys, then it builds the image the chart names and forwards the order API', () => {
    const src = read('Tiltfile');
    expect(calls.filter((c) => c.topLevel).map((c) => c.name)).toEqual(
      expect.arrayContaining(['docker_build', 'k8s_yaml', 'k8s_resource']),
    );
    expect(src).toMatch(/docker_build\('orderflow', '\.'/);
    expect(src).toMatch(
      /helm\('charts\/orderflow', 'orderflow', 'orderflow', \['charts\/orderflow\/ci\/dev-values\.yaml'\]/,
    );
    expect(src).toMatch(/k8s_resource\('orderflow-order-api', port_forwards=\['8080:8080'\]/);
    // Every k8s_resource names a workload the chart renders for release "orderflow".
    const names = new Set(
      render('ci/dev-values.yaml', ['--set', 'image.tag=dev'])
        .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))
        .map((o) => o.metadata.name.replace(`${RELEASE}-`, 'orderflow-')),
    );
    const resources = [...src.matchAll(/k8s_resource\('([^']+)'/g)].map((m) => m[1]);
    expect(resources.filter((r) => !names.has(r ?? ''))).toEqual([]);
  });
});

describe('kind and minikube', () => {
  test('when kind reads k8s/kind/cluster.yaml, then the cluster is named for the kind-orderflow context', () => {
    const cfg = parseYaml(read('k8s/kind/cluster.yaml')) as {
      kind: string;
      apiVersion: string;
      name: string;
      nodes: { role: string; extraPortMappings?: { containerPort: number }[] }[];
    };
    expect([cfg.kind, cfg.apiVersion, cfg.name]).toEqual([
      'Cluster',
      'kind.x-k8s.io/v1alpha4',
      'orderflow',
    ]);
    expect(cfg.nodes[0]?.extraPortMappings?.[0]?.containerPort).toBe(30080);
    expect(read('k8s/minikube.md')).toContain('skaffold dev');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages[stages.length - 1] ?? '';

  test('when the image builds, then the last stage runs Node 24 as uid 65532 with production dependencies only', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=(docker\.io\/library\/)?node:24-bookworm-slim$/m);
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(runtime).toMatch(/^\$\{NODE_IMAGE\} AS runtime/);
    expect(runtime).toContain('npm ci --omit=dev');
    expect(runtime).toMatch(/^USER 65532:65532$/m);
    expect(runtime).toContain('COPY --from=build /out/ ./');
    expect(runtime).not.toMatch(/^(CMD|ENTRYPOINT) [^[]/m); // exec form only: no shell at run time
    for (const label of ['title', 'source', 'licenses', 'version', 'revision'])
      expect(runtime).toContain(`org.opencontainers.image.${label}=`);
    const build = stages.find((s) => s.includes('AS build')) ?? '';
    expect(build).toContain('RUN npm ci');
    // The image's workspaces are compiled by build-runtime-tree.sh (bench is outside the context).
    expect(build).toContain('scripts/build-runtime-tree.sh --compile');
    expect(build).toContain('scripts/build-runtime-tree.sh /out --files');
  });

  test('when the build context is sent, then .dockerignore keeps out node_modules, dist, git and local tools', () => {
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.git', '.tools']) expect(ignore).toContain(p);
  });

  test('when the chart runs the image, then the container user matches the image user', () => {
    const pod = find<Workload>(render(), 'Deployment', `${RELEASE}-order-api`).spec.template.spec;
    expect(pod.containers[0]?.securityContext?.runAsUser).toBe(65532);
  });
});

describe('mk/k8s.mk', () => {
  const dryRun = (target: string): string => {
    const r = spawnSync('make', ['-n', target], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };

  test('when kind-up runs, then it creates the cluster from k8s/kind, builds and loads the image and installs the dev values', () => {
    const out = dryRun('kind-up');
    const steps = [
      'kind create cluster --config k8s/kind/cluster.yaml',
      'docker build -t orderflow:dev',
      'kind load docker-image orderflow:dev --name orderflow',
      'upgrade --install orderflow charts/orderflow',
      '-f charts/orderflow/ci/dev-values.yaml',
    ];
    for (const s of steps) expect(out).toContain(s);
    expect(steps.slice(0, 4).map((s) => out.indexOf(s))).toEqual(
      [...steps.slice(0, 4).map((s) => out.indexOf(s))].sort((a, b) => a - b),
    );
  });

  test('when deploy, port-forward, chart-check and tools run, then they call helm, kubectl and the chart tests', () => {
    expect(dryRun('deploy')).toContain(
      'upgrade --install orderflow charts/orderflow --namespace orderflow',
    );
    expect(dryRun('port-forward')).toContain(
      'kubectl -n orderflow port-forward service/orderflow-order-api 8080:8080',
    );
    expect(dryRun('chart-check')).toContain('tests/k8s/');
    expect(dryRun('tools')).toContain('scripts/fetch-helm.sh');
  });
});

describe('the dev loop on a laptop', () => {
  /** A quantity ("100m", "128Mi", "1Gi", "2") in cores or bytes. */
  const quantity = (q: string | number | undefined): number => {
    if (q === undefined) return 0;
    const m = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(String(q));
    if (!m) throw new Error(`unreadable quantity ${q}`);
    const unit = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ''] ?? 1;
    return Number(m[1]) * unit;
  };

  test('when the dev values render, then one replica of everything requests at most 1.5 CPU and 3 GiB in all', () => {
    const objects = render('ci/dev-values.yaml', ['--set', 'image.tag=dev']).filter(
      (o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet',
    );
    expect(objects.filter((w) => (w.spec.replicas ?? 1) !== 1).map((w) => w.metadata.name)).toEqual(
      [],
    );
    let cpu = 0;
    let memory = 0;
    for (const w of objects)
      for (const c of w.spec.template.spec.containers) {
        cpu += quantity(c.resources?.requests?.['cpu']);
        memory += quantity(c.resources?.requests?.['memory']);
      }
    expect(cpu).toBeLessThanOrEqual(1.5);
    expect(memory).toBeLessThanOrEqual(3 * 1024 ** 3);
    // And not the token requests of an idle cluster: enough that the scheduler places it honestly.
    expect(cpu).toBeGreaterThanOrEqual(1);
  });

  test('when skaffold deploys, then its status check waits out a first CockroachDB start instead of failing fast', () => {
    const s = parseYaml(read('skaffold.yaml')) as {
      deploy: {
        statusCheck?: boolean;
        statusCheckDeadlineSeconds?: number;
        tolerateFailuresUntilDeadline?: boolean;
      };
    };
    expect(s.deploy.statusCheck).toBe(true);
    expect(s.deploy.tolerateFailuresUntilDeadline).toBe(true);
    expect(s.deploy.statusCheckDeadlineSeconds).toBeGreaterThanOrEqual(600);
  });

  test('when Tilt deploys to a fresh cluster, then the namespace it renders into is created', () => {
    const src = read('Tiltfile');
    const ns = /blob\('([^']+)'\)/.exec(src)?.[1]?.replace(/\\n/g, '\n') ?? '';
    expect(parseYaml(ns)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'orderflow' },
    });
    expect(src).toMatch(/helm\('charts\/orderflow', 'orderflow', 'orderflow'/);
  });
});
