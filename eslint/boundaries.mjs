// The import boundaries of docs/architecture.md, as one ESLint rule (`orderflow/boundaries`):
//  - a service imports no other service (by package name or by relative path);
//  - a shared package (packages/*) imports no service and no tool;
//  - a domain module (src/domain/**) imports no adapter or application module, no I/O library
//    (pg, NATS, HTTP, gRPC, the file system, the platform package) and reads no clock;
//  - an application module (src/application/**) imports no adapter and no I/O library: its ports
//    come in as parameters.
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dirs = (d) => {
  try {
    return readdirSync(join(root, d), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
};
const services = new Set(dirs('services'));
const tools = new Set(dirs('tools'));

/** I/O libraries a domain or application module may not import. */
const IO = [
  /^pg$/,
  /^pg-/,
  /^@nats-io\//,
  /^fastify$/,
  /^@fastify\//,
  /^nice-grpc/,
  /^@grpc\//,
  /^(node:)?(http|https|http2|net|dgram|fs|fs\/promises|child_process)$/,
  /^@kubernetes\//,
  /^prom-client$/,
  /^pino$/,
];
/** Shared packages with I/O: the platform kit (an application module may use its command handler). */
const IO_PACKAGES = /^@orderflow\/(platform|proto|testkit)$/;

/** Where a file sits: its area (services, packages, tools), workspace, and layer inside src/. */
function placeOf(file) {
  const parts = relative(root, file).split(sep);
  // A lint fixture stands for the path below its fixtures folder.
  const at = parts.indexOf('fixtures');
  const p = at >= 0 ? parts.slice(at + 1) : parts;
  const [area, workspace, src, layer] = p;
  return { area, workspace, layer: src === 'src' ? (layer ?? '') : undefined };
}

/** The service or tool a specifier points into, by package name or by resolved path. */
function targetOf(spec, file) {
  const m = /^@orderflow\/([^/]+)/.exec(spec);
  if (m) {
    if (services.has(m[1])) return { area: 'services', workspace: m[1] };
    if (tools.has(m[1])) return { area: 'tools', workspace: m[1] };
    return { area: 'packages', workspace: m[1] };
  }
  if (!spec.startsWith('.')) return undefined;
  const place = placeOf(resolve(dirname(file), spec));
  return { ...place, relativeLayer: place.layer };
}

function problem(spec, file) {
  const here = placeOf(file);
  const there = targetOf(spec, file);
  const inSrc = here.layer !== undefined;
  if (
    inSrc &&
    here.area === 'services' &&
    there?.area === 'services' &&
    there.workspace !== here.workspace
  )
    return `a service does not import another service (${here.workspace} -> ${there.workspace}); meet through proto/, the event catalogue or @orderflow/contracts`;
  if (here.area === 'packages' && (there?.area === 'services' || there?.area === 'tools'))
    return `a shared package does not import a ${there.area === 'services' ? 'service' : 'tool'} (${there.workspace})`;
  if (here.layer === 'domain' || here.layer === 'application') {
    if (IO.some((re) => re.test(spec)) || (here.layer === 'domain' && IO_PACKAGES.test(spec)))
      return `${here.layer}/ imports no I/O (${spec}): take it as a port, a parameter`;
    const banned = here.layer === 'domain' ? ['adapters', 'application'] : ['adapters'];
    if (
      there?.relativeLayer &&
      banned.includes(there.relativeLayer) &&
      there.workspace === here.workspace
    )
      return `${here.layer}/ does not import ${there.relativeLayer}/`;
  }
  return undefined;
}

const CLOCK = 'domain/ reads no clock: take the time as a parameter';

const rule = {
  meta: { type: 'problem', schema: [], docs: { description: 'orderflow import boundaries' } },
  create(context) {
    const file = context.filename;
    const check = (node, spec) => {
      if (typeof spec !== 'string') return;
      const message = problem(spec, file);
      if (message) context.report({ node, message });
    };
    const inDomain = placeOf(file).layer === 'domain';
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
      'CallExpression[callee.name="require"]': (n) =>
        n.arguments[0]?.type === 'Literal' && check(n, n.arguments[0].value),
      'MemberExpression[object.name=/^(Date|performance)$/][property.name="now"]': (n) =>
        inDomain && context.report({ node: n, message: CLOCK }),
      'NewExpression[callee.name="Date"][arguments.length=0]': (n) =>
        inDomain && context.report({ node: n, message: CLOCK }),
      'CallExpression[callee.name=/^(setTimeout|setInterval)$/]': (n) =>
        inDomain && context.report({ node: n, message: CLOCK }),
    };
  },
};

export default { rules: { boundaries: rule } };
