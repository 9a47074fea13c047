import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { fail } from '../../domain/problems';
import { methodNotAllowed } from './routes';
import type { OperationDoc } from './openapi';

/**
 * The pages for people: the console (`/`, plain TypeScript bundled by esbuild at build time into
 * dist/web), the API reference (`/docs`, Swagger UI from swagger-ui-dist, served from here: no CDN
 * at run time) and the document itself (`/openapi.json`). No authentication: the pages hold no
 * data; what they show comes from the /api routes, with the caller's token.
 */

export interface PagesOptions {
  authMode: 'oidc' | 'dev' | 'none';
  /** The development issuer (AUTH_MODE=dev): the console asks it for a token. */
  issuer: string | undefined;
  /** The OpenAPI document, made once the routes are registered. */
  document: () => unknown;
}

interface Asset {
  body: Buffer | string;
  type: string;
}

/** The package's root from src/adapters/http (tests) and dist/adapters/http alike. */
const PACKAGE_ROOT = resolve(__dirname, '..', '..', '..');
const WEB_DIST = join(PACKAGE_ROOT, 'dist', 'web');

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>orderflow</title>
<p>The console is not built: run <code>make build</code>. The API reference is at <a href="/docs">/docs</a>.</p></html>`;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function file(path: string, type: string): Asset | undefined {
  return existsSync(path) ? { body: readFileSync(path), type } : undefined;
}

/** Every asset by name: the console's bundle, Swagger UI's, the page scripts. */
function loadAssets(): Map<string, Asset> {
  const swagger = dirname(require.resolve('swagger-ui-dist/package.json'));
  const entries: [string, Asset | undefined][] = [
    ['console.js', file(join(WEB_DIST, 'console.js'), 'text/javascript; charset=utf-8')],
    ['console.css', file(join(WEB_DIST, 'console.css'), 'text/css; charset=utf-8')],
    ['docs.js', file(join(WEB_DIST, 'docs.js'), 'text/javascript; charset=utf-8')],
    [
      'swagger-ui-bundle.js',
      file(join(swagger, 'swagger-ui-bundle.js'), 'text/javascript; charset=utf-8'),
    ],
    ['swagger-ui.css', file(join(swagger, 'swagger-ui.css'), 'text/css; charset=utf-8')],
    ['favicon.png', file(join(swagger, 'favicon-32x32.png'), 'image/png')],
  ];
  return new Map(entries.filter((e): e is [string, Asset] => e[1] !== undefined));
}

/** A page from dist/web with the instance's settings filled in (`{{AUTH_MODE}}`, `{{ISSUER}}`). */
function page(name: string, opts: PagesOptions): string {
  const path = join(WEB_DIST, name);
  if (!existsSync(path)) return NOT_BUILT;
  return readFileSync(path, 'utf8')
    .replaceAll('{{AUTH_MODE}}', escapeHtml(opts.authMode))
    .replaceAll('{{ISSUER}}', escapeHtml(opts.authMode === 'dev' ? (opts.issuer ?? '') : ''));
}

/** Scripts and styles from this origin only; the console may ask the development issuer for a token. */
function contentSecurityPolicy(opts: PagesOptions): string {
  const issuer = opts.authMode === 'dev' && opts.issuer ? ` ${new URL(opts.issuer).origin}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Swagger UI sets style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self'${issuer}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

const html = (reply: FastifyReply, body: string, csp: string) =>
  reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .send(body);

const htmlDoc = (summary: string, description: string, operationId: string): OperationDoc => ({
  operationId,
  summary,
  description,
  tag: 'console',
  public: true,
  responses: {
    200: { description: 'The page.', content: { 'text/html': { schema: z.string() } } },
  },
  failures: [],
});

const consoleDoc = htmlDoc(
  'The console',
  'Place an order from a menu, follow it live through its states with the events of its stream, list a customer’s orders.',
  'console',
);
const docsDoc = htmlDoc(
  'This reference, as a page',
  'Swagger UI over /openapi.json.',
  'apiReference',
);

const openApiDoc: OperationDoc = {
  operationId: 'openApiDocument',
  summary: 'This document',
  description: 'OpenAPI 3.1, generated from the routes and the zod schemas that validate them.',
  tag: 'console',
  public: true,
  responses: {
    200: {
      description: 'The OpenAPI document.',
      content: { 'application/json': { schema: z.looseObject({ openapi: z.literal('3.1.0') }) } },
    },
  },
  failures: [],
};

function assetDoc(names: string[]): OperationDoc {
  return {
    operationId: 'asset',
    summary: 'A script, style sheet or image of the pages',
    description: 'Served from the image (bundled at build time; no CDN).',
    tag: 'console',
    public: true,
    params: z.object({ file: z.enum(names as [string, ...string[]]) }),
    responses: {
      200: {
        description: 'The file.',
        content: {
          'text/javascript': { schema: z.string() },
          'text/css': { schema: z.string() },
          'image/png': { schema: z.string() },
        },
      },
    },
    failures: ['route-not-found'],
  };
}

export function registerPages(app: FastifyInstance, opts: PagesOptions): void {
  const assets = loadAssets();
  const csp = contentSecurityPolicy(opts);
  const consolePage = page('index.html', opts);
  const docsPage = page('docs.html', opts);
  app.get('/', { config: { openapi: consoleDoc } }, (_req, reply) => html(reply, consolePage, csp));
  app.get('/docs', { config: { openapi: docsDoc } }, (_req, reply) => html(reply, docsPage, csp));
  app.get('/openapi.json', { config: { openapi: openApiDoc } }, (_req, reply) =>
    reply.header('cache-control', 'no-cache').send(opts.document()),
  );
  app.get<{ Params: { file: string } }>(
    '/assets/:file',
    { config: { openapi: assetDoc([...assets.keys()]) } },
    (req, reply) => {
      const asset = assets.get(req.params.file);
      if (!asset) throw fail({ code: 'route-not-found', method: req.method, path: req.url });
      return reply
        .type(asset.type)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(asset.body);
    },
  );
  for (const url of ['/', '/docs', '/openapi.json', '/assets/:file'])
    methodNotAllowed(app, url, ['GET', 'HEAD']);
}
