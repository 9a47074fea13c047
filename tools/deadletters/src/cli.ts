import { connect } from '@nats-io/transport-node';
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
  --nats <urls>       NATS servers, comma-separated (default: $NATS_URL or nats://127.0.0.1:4222)
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
}

interface Args {
  command: string | undefined;
  positional: string[];
  nats: string;
  stream: string;
  consumer: string | undefined;
  json: boolean;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): Args {
  const args: Args = {
    command: undefined,
    positional: [],
    nats: env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
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

/** Runs the tool; resolves with the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv, io.env);
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
  let seq: number | undefined;
  if (args.command === 'redrive') {
    const s = args.positional[0];
    seq = s !== undefined && /^[1-9]\d*$/.test(s) ? Number(s) : undefined;
    if (seq === undefined) {
      io.err("redrive needs the dead letter's sequence (a positive integer); see `list`");
      return 2;
    }
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
    if (seq === undefined) {
      const rows = await listDeadLetters(jsm, dlq, { consumer: args.consumer });
      if (args.json) for (const d of rows) io.out(JSON.stringify(d));
      else if (rows.length === 0)
        io.out(`no dead letters in ${dlq}${args.consumer ? ` for consumer ${args.consumer}` : ''}`);
      else for (const line of table(rows)) io.out(line);
      return 0;
    }
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
  } finally {
    await nc.close();
  }
}
