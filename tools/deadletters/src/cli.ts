import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jsManager, natsConnectOptions } from '@orderflow/platform';
import {
  DeadLetterNotFound,
  dlqStreamName,
  listDeadLetters,
  redrive,
  type DeadLetter,
} from './deadletters';

export const HELP = `orderflow dead letters: list and re-drive messages that consumers gave up on.

usage:
  node tools/deadletters/dist/main.js list [--consumer <name>] [--json]
  node tools/deadletters/dist/main.js redrive <dlq-sequence>

options:
  --nats <urls>       NATS servers, comma-separated (default: $NATS_URL, else the \`nats\` of the
                      system \`make up\` runs: .run/endpoints.json, or $ORDERFLOW_RUN_DIR/endpoints.json)
  --stream <name>     the order stream (default: $NATS_STREAM or ORDERS); dead letters live in <name>_DLQ
  --consumer <name>   list only this consumer's dead letters (payment, restaurant, order-query, saga)
  --json              one JSON object per line instead of a table
  -h, --help          this text

redrive publishes the original body and headers to the original subject with a fresh Nats-Msg-Id
(redrive:<event id or original sequence>:<dlq sequence>), then deletes the dead letter. Every
consumer of that subject sees the message again (they are idempotent).`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Record<string, string | undefined>;
  /** Where `.run/endpoints.json` is looked for (the repository root under `make`). */
  cwd?: string;
}

/** The NATS URL of the system `make up` runs, from its endpoints.json; undefined when none runs. */
export function runningSystemNats(
  env: Record<string, string | undefined>,
  cwd: string,
): string | undefined {
  const runDir = env['ORDERFLOW_RUN_DIR'] ?? join(cwd, '.run');
  try {
    const e = JSON.parse(readFileSync(join(runDir, 'endpoints.json'), 'utf8')) as {
      nats?: unknown;
    };
    return typeof e.nats === 'string' && e.nats.length > 0 ? e.nats : undefined;
  } catch {
    return undefined;
  }
}

interface Args {
  command: string | undefined;
  positional: string[];
  nats: string | undefined;
  stream: string;
  consumer: string | undefined;
  json: boolean;
  help: boolean;
}

/** $NATS_URL, else the running system's (endpoints.json), else none. */
const defaultNats = (env: Record<string, string | undefined>, cwd: string): string | undefined =>
  env['NATS_URL'] || runningSystemNats(env, cwd);

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
): Args {
  const args: Args = {
    command: undefined,
    positional: [],
    nats: defaultNats(env, cwd),
    stream: env['NATS_STREAM'] ?? 'ORDERS',
    consumer: undefined,
    json: false,
    help: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--json') args.json = true;
    else if (a === '--nats') args.nats = value(++i, a);
    else if (a === '--stream') args.stream = value(++i, a);
    else if (a === '--consumer') args.consumer = value(++i, a);
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else if (args.command === undefined) args.command = a;
    else args.positional.push(a);
  }
  return args;
}

const table = (rows: DeadLetter[]): string[] => {
  const head = [
    'SEQ',
    'CONSUMER',
    'SUBJECT',
    'ORIG_SEQ',
    'KIND',
    'TIME',
    'EVENT_TYPE',
    'EVENT_ID',
    'REASON',
  ];
  const body = rows.map((d) => [
    String(d.seq),
    d.consumer,
    d.originalSubject,
    d.originalSequence === undefined ? '-' : String(d.originalSequence),
    d.kind || '-',
    d.time,
    d.eventType ?? '-',
    d.eventId ?? '-',
    d.reason.replace(/\s+/g, ' '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  return [head, ...body].map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '),
  );
};

/** The sequence `redrive` names, or undefined when it is not a positive integer. */
const sequenceOf = (s: string | undefined): number | undefined =>
  s !== undefined && /^[1-9]\d*$/.test(s) ? Number(s) : undefined;

/** What the command line asks for, or the exit code of a usage problem (help included). */
function request(argv: readonly string[], io: Io): { args: Args; seq?: number } | number {
  let args: Args;
  try {
    args = parseArgs(argv, io.env, io.cwd);
  } catch (err: unknown) {
    io.err(`${err instanceof Error ? err.message : String(err)}; see --help`);
    return 2;
  }
  if (args.help || args.command === undefined) {
    io.out(HELP);
    return args.help ? 0 : 2;
  }
  if (args.command !== 'list' && args.command !== 'redrive') {
    io.err(`unknown command "${args.command}"; see --help`);
    return 2;
  }
  if (args.command === 'list') return { args };
  const seq = sequenceOf(args.positional[0]);
  if (seq !== undefined) return { args, seq };
  io.err("redrive needs the dead letter's sequence (a positive integer); see `list`");
  return 2;
}

async function list(jsm: JetStreamManager, dlq: string, args: Args, io: Io): Promise<number> {
  const rows = await listDeadLetters(jsm, dlq, { consumer: args.consumer });
  if (args.json) for (const d of rows) io.out(JSON.stringify(d));
  else if (rows.length === 0)
    io.out(`no dead letters in ${dlq}${args.consumer ? ` for consumer ${args.consumer}` : ''}`);
  else for (const line of table(rows)) io.out(line);
  return 0;
}

async function redriveOne(
  nc: NatsConnection,
  jsm: JetStreamManager,
  dlq: string,
  seq: number,
  io: Io,
): Promise<number> {
  try {
    const r = await redrive(nc, jsm, dlq, seq);
    io.out(
      `re-drove ${dlq} #${seq} to ${r.subject} (Nats-Msg-Id ${r.msgId}, stream sequence ${r.streamSequence}); dead letter deleted`,
    );
    return 0;
  } catch (err: unknown) {
    if (err instanceof DeadLetterNotFound) {
      io.err(err.message);
      return 1;
    }
    throw err;
  }
}

/** Runs the tool; resolves with the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const r = request(argv, io);
  if (typeof r === 'number') return r;
  const { args, seq } = r;
  if (!args.nats) {
    io.err(
      'no NATS to ask: start the system with `make up` (it writes .run/endpoints.json), or pass --nats <url> (or NATS_URL)',
    );
    return 2;
  }
  const dlq = dlqStreamName(args.stream);
  const nc = await connect({
    // NATS_URL may carry credentials (`nats://admin:...@host:port`, as .run/endpoints.json has it).
    ...natsConnectOptions(args.nats),
    name: 'orderflow-deadletters',
    timeout: 5_000,
  });
  try {
    const jsm = await jsManager(nc);
    return seq === undefined
      ? await list(jsm, dlq, args, io)
      : await redriveOne(nc, jsm, dlq, seq, io);
  } finally {
    await nc.close();
  }
}
