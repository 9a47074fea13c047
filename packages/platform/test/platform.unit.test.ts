import { z } from 'zod';
import { ClientError, Status } from 'nice-grpc';
import {
  ConfigError,
  PoisonMessageError,
  Readiness,
  decodeEnvelope,
  encodeEnvelope,
  env,
  isInfrastructureError,
  loadConfig,
} from '../src';

describe('loadConfig', () => {
  const schema = z.object({
    PORT: env.port(8080),
    DATABASE_URL: env.postgresUrl(),
    FLAG: env.bool(false),
  });

  test('when the environment is valid, then defaults fill the gaps and values are typed', () => {
    const cfg = loadConfig(schema, { DATABASE_URL: 'postgres://u@h/db', FLAG: 'yes' });
    expect(cfg).toEqual({ PORT: 8080, DATABASE_URL: 'postgres://u@h/db', FLAG: true });
  });

  test('when variables are wrong, then one line names each of them and the bad value', () => {
    try {
      loadConfig(schema, { PORT: '70000', DATABASE_URL: 'mysql://x' });
      throw new Error('no error');
    } catch (err: unknown) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg.split('\n')).toHaveLength(1);
      expect(msg).toContain('PORT="70000"');
      expect(msg).toContain('DATABASE_URL="mysql://x"');
    }
  });
});

describe('envelope', () => {
  const base = {
    eventId: '5f0c5e0e-3e3b-4a7e-9a53-0d5c1f6f9a11',
    eventType: 'order-created',
    streamId: 'order-1',
    version: 3,
    metadata: { traceparent: '00-abc' },
    createdAt: '2026-01-01T00:00:00.000Z',
  };

  test('when an event is encoded, then decoding gives it back with its data parsed', () => {
    const decoded = decodeEnvelope(encodeEnvelope({ ...base, data: '{"a":[1,2],"b":"x"}' }));
    expect(decoded).toEqual({ ...base, data: { a: [1, 2], b: 'x' } });
  });

  test.each([
    ['not JSON', Buffer.from('{nope')],
    ['an array', Buffer.from('[]')],
    ['no event id', Buffer.from(JSON.stringify({ ...base, eventId: '', data: {} }))],
    ['a negative version', Buffer.from(JSON.stringify({ ...base, version: -1, data: {} }))],
    ['data that is not an object', Buffer.from(JSON.stringify({ ...base, data: 'x' }))],
  ])('when the body is %s, then it is a poison message', (_what, body) => {
    expect(() => decodeEnvelope(body)).toThrow(PoisonMessageError);
  });
});

describe('isInfrastructureError', () => {
  test.each([
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    [
      Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      }),
      true,
    ],
    [new Error('Connection terminated unexpectedly'), true],
    [new ClientError('/x', Status.UNAVAILABLE, 'down'), true],
    [new ClientError('/x', Status.INVALID_ARGUMENT, 'bad'), false],
    [Object.assign(new Error('duplicate key'), { code: '23505' }), false],
    [new Error('handler bug'), false],
  ])('when the error is %p, then it is infrastructure: %p', (err, expected) => {
    expect(isInfrastructureError(err)).toBe(expected);
  });
});

describe('Readiness', () => {
  test('when a check hangs, then the report is unready within the time limit', async () => {
    const r = new Readiness(50)
      .add('hangs', () => new Promise(() => undefined))
      .add('ok', () => true);
    r.started();
    const report = await r.report();
    expect(report.ready).toBe(false);
    expect(report.checks['hangs']?.error).toMatch(/timed out/);
    expect(report.checks['ok']).toEqual({ ok: true });
  });

  test('when not started or stopping, then the report is unready even if every check passes', async () => {
    const r = new Readiness().add('ok', () => undefined);
    expect((await r.report()).ready).toBe(false);
    r.started();
    expect((await r.report()).ready).toBe(true);
    r.markStopping();
    expect((await r.report()).ready).toBe(false);
  });
});
