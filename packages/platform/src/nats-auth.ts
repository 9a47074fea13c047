import { subjects } from '@orderflow/contracts';
/**
 * Who may do what on NATS: one user per service, each allowed exactly the subjects its work needs.
 * This table is the one source: `make up` (tools/runner) starts nats-server with it, the
 * permission tests run a real nats-server with it, and a chart test checks that the nats.conf the
 * chart renders (charts/orderflow/templates/_nats.tpl) grants the same.
 *
 * The subjects are those nats.js 3.x sends (node_modules/@nats-io/jetstream/lib):
 *   $JS.API.INFO                              jetstreamManager() and the readiness check (account info)
 *   $JS.API.STREAM.INFO.<stream>              streams.info() (ensureStreams, the operator's observe)
 *   $JS.API.STREAM.CREATE.<stream>            streams.add()
 *   $JS.API.STREAM.UPDATE.<stream>            streams.update()
 *   $JS.API.CONSUMER.INFO.<stream>.<durable>  consumers.info(), consumers.get(), and a pull
 *                                             consumer after missed heartbeats
 *   $JS.API.CONSUMER.CREATE.<stream>.<durable>[.<filter>]
 *                                             consumers.add()/update() on servers >= 2.9
 *   $JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable>
 *                                             the same on older servers
 *   $JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>
 *                                             a pull consumer's fetch requests (consume())
 *   $JS.ACK.<stream>.<durable>.>              ack, nak, working and term of a delivered message
 *   _INBOX.>                                  replies: every request above, JetStream publish acks
 *                                             and pulled messages arrive on the client's inbox
 *
 * Who: the event store publishes order events and creates the two streams when they are missing
 * (the operator may not run); each consumer reads the streams' info, creates and pulls its own
 * durable, acks its own messages and dead-letters to its own subject; the operator manages the
 * streams and every durable (never deletes either); `admin` (the local tools, a person) may do
 * anything. Nobody but `admin` may delete a stream, purge it, or read messages by sequence.
 *
 * Not narrowed: subscribe on `_INBOX.>` is shared, so a service could read replies meant for
 * another service's requests (it cannot ack, nak or publish for it); the event store's pipelined
 * publisher uses the default inbox prefix, so per-user prefixes would need a change there.
 */

/** The durable consumer of each consuming service (DESIGN §4, docs/conventions.md). */
export const NATS_DURABLES = {
  payment: 'payment',
  restaurant: 'restaurant',
  'order-query-worker': 'order-query',
  saga: 'saga',
} as const;

export const NATS_USERS = [
  'eventstore',
  'payment',
  'restaurant',
  'order-query-worker',
  'saga',
  'operator',
  'order-api',
  'admin',
] as const;
export type NatsUser = (typeof NATS_USERS)[number];

export interface NatsPermissions {
  /** Subjects it may publish to; empty: none (rendered as a deny of `>`, since an empty allow list allows all). */
  publish: string[];
  subscribe: string[];
}

const INBOX = '_INBOX.>';

/**
 * Every user's permissions for the order stream `stream` (and its dead-letter stream
 * `<stream>_DLQ`); `null` for `admin`: everything.
 */
export function natsPermissions(stream: string): Record<NatsUser, NatsPermissions | null> {
  const dlq = `${stream}_DLQ`;
  const streamInfo = [`$JS.API.STREAM.INFO.${stream}`, `$JS.API.STREAM.INFO.${dlq}`];
  const consumer = (durable: string): NatsPermissions => ({
    publish: [
      '$JS.API.INFO',
      ...streamInfo,
      `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
      `$JS.API.CONSUMER.CREATE.${stream}.${durable}`,
      `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      `$JS.ACK.${stream}.${durable}.>`,
      `orderflow.deadletter.${durable}`,
    ],
    subscribe: [INBOX],
  });
  return {
    eventstore: {
      publish: [
        '$JS.API.INFO',
        ...streamInfo,
        `$JS.API.STREAM.CREATE.${stream}`,
        `$JS.API.STREAM.CREATE.${dlq}`,
        'orderflow.events.>',
      ],
      subscribe: [INBOX],
    },
    payment: consumer(NATS_DURABLES.payment),
    restaurant: consumer(NATS_DURABLES.restaurant),
    // It also announces what it projected, for the order API's live streams (core NATS, no stream).
    'order-query-worker': withPublish(
      consumer(NATS_DURABLES['order-query-worker']),
      subjects.allProjectedOrders,
    ),
    saga: consumer(NATS_DURABLES.saga),
    operator: {
      publish: [
        '$JS.API.INFO',
        ...streamInfo,
        `$JS.API.STREAM.CREATE.${stream}`,
        `$JS.API.STREAM.CREATE.${dlq}`,
        `$JS.API.STREAM.UPDATE.${stream}`,
        `$JS.API.STREAM.UPDATE.${dlq}`,
        `$JS.API.CONSUMER.INFO.${stream}.*`,
        `$JS.API.CONSUMER.CREATE.${stream}.>`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.*`,
      ],
      subscribe: [INBOX],
    },
    // The live order feed: it listens to what the query worker announces and publishes nothing.
    'order-api': { publish: [], subscribe: [subjects.allProjectedOrders] },
    admin: null,
  };
}

const withPublish = (p: NatsPermissions, subject: string): NatsPermissions => ({
  ...p,
  publish: [...p.publish, subject],
});

/** The `permissions` of one user in nats.conf. */
function permissionsConf(p: NatsPermissions): string {
  const publish =
    p.publish.length === 0 ? '{deny: [">"]}' : `{allow: ${JSON.stringify(p.publish)}}`;
  return `, permissions: {publish: ${publish}, subscribe: {allow: ${JSON.stringify(p.subscribe)}}}`;
}

/** The environment variable nats.conf reads a user's password from (`$NATS_PASSWORD_<USER>`). */
export const natsPasswordVariable = (user: NatsUser): string =>
  `NATS_PASSWORD_${user.toUpperCase().replace(/-/g, '_')}`;

/**
 * The `authorization` block of nats.conf, one user per line. Passwords are either given (the
 * local runner) or read from the environment (`$NATS_PASSWORD_<USER>`, the chart).
 */
export function natsAuthorizationConf(
  stream: string,
  passwords: Record<NatsUser, string> | 'environment',
): string {
  const perms = natsPermissions(stream);
  const lines = NATS_USERS.map((user) => {
    const password =
      passwords === 'environment'
        ? `$${natsPasswordVariable(user)}`
        : JSON.stringify(passwords[user]);
    const p = perms[user];
    const permissions = p ? permissionsConf(p) : '';
    return `    {user: ${JSON.stringify(user)}, password: ${password}${permissions}}`;
  });
  return `authorization {\n  users: [\n${lines.join('\n')}\n  ]\n}\n`;
}

/** The users of an `authorization` block as natsAuthorizationConf writes it (and the chart renders it). */
export function parseNatsAuthorization(
  conf: string,
): Record<string, { password: string; permissions: NatsPermissions | null }> {
  const out: Record<string, { password: string; permissions: NatsPermissions | null }> = {};
  const re =
    /\{user: "([^"]+)", password: ([^,}]+)(?:, permissions: \{publish: \{(allow|deny): (\[[^\]]*\])\}, subscribe: \{allow: (\[[^\]]*\])\}\})?\}/g;
  for (const m of conf.matchAll(re)) {
    const [, user = '', password = '', kind, pub, sub] = m;
    // Only a deny of everything is written: it stands for "publishes nothing".
    const publish = kind === 'deny' ? [] : (JSON.parse(pub ?? '[]') as string[]);
    out[user] = {
      password: password.trim(),
      permissions: pub && sub ? { publish, subscribe: JSON.parse(sub) as string[] } : null,
    };
  }
  return out;
}

/**
 * nats.js does not read credentials from server URLs: this takes `user:pass@` out of each
 * `nats://user:pass@host:port` (comma-separated list), for the connect options. The first
 * URL carrying credentials sets them.
 */
export function natsConnectOptions(url: string): {
  servers: string[];
  user?: string;
  pass?: string;
} {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@(.*)$/i.exec(s);
      if (!m) return s;
      const [, scheme = '', userinfo = '', rest = ''] = m;
      if (user === undefined) {
        const colon = userinfo.indexOf(':');
        user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
        pass = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
      }
      return scheme + rest;
    });
  return { servers, ...(user === undefined ? {} : { user, pass }) };
}

/** The URL with any password replaced by `***`, for logs and printed plans. */
export function redactNatsUrl(url: string): string {
  return url.replace(/(:\/\/[^:@/,]*):[^@/,]*@/g, '$1:***@');
}

/** `nats://user:pass@host:port` for every server of a comma-separated list. */
export function natsUrlWithCredentials(url: string, user: string, pass: string): string {
  const info = `${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`;
  return url
    .split(',')
    .map((s) => s.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/]*@)?/i, `$1${info}`))
    .join(',');
}
