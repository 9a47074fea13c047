import { Agent, request } from 'node:http';
import { startApi, type ApiUnderTest } from './harness';

/** One request on a kept-alive connection of `agent`: status and `connection` header. */
function get(
  agent: Agent,
  port: number,
  path: string,
): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () =>
        done({ status: res.statusCode ?? 0, connection: res.headers.connection }),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

describe('the order API stopping (SIGTERM)', () => {
  let api: ApiUnderTest | undefined;
  afterEach(async () => {
    // The test stops the app itself; the rest of the harness is stopped here.
    await api?.query.end();
    await api?.store.stop();
  });

  test('when it stops with a drain period, then readiness fails at once, requests on open connections are still answered with Connection: close, and then it closes', async () => {
    api = await startApi({ SHUTDOWN_DRAIN_MS: '1500', KEEP_ALIVE_TIMEOUT_MS: '5000' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const port = api.app.httpPort;
    const first = await get(agent, port, '/api/orders?customerId=c1');
    expect(first).toEqual({ status: 200, connection: 'keep-alive' });

    const stopping = api.app.stop();
    const ready = await fetch(`http://127.0.0.1:${api.app.opsPort}/readyz`);
    expect(ready.status).toBe(503);
    // The same kept-alive connection: answered, and told to close.
    const during = await get(agent, port, '/api/orders?customerId=c1');
    expect(during).toEqual({ status: 200, connection: 'close' });

    await stopping;
    await expect(get(new Agent(), port, '/api/orders?customerId=c1')).rejects.toThrow(
      /ECONNREFUSED/,
    );
    agent.destroy();
  });
});
