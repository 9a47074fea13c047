/**
 * A small Server-Sent Events reader for tests: it shows the wire as it is (ids, data, comments,
 * the end of the stream), which an EventSource would hide.
 */
export interface SseMessage {
  id: string | undefined;
  data: string;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** The next message, or `end` when the server closed the stream. */
  next(): Promise<SseMessage | 'end'>;
  /** Reads until the server closes the stream. */
  rest(): Promise<SseMessage[]>;
  /** Comment lines (heartbeats) seen so far. */
  comments(): number;
  close(): void;
}

export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseConnection> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let comments = 0;
  let ended = false;
  const frame = (): SseMessage | undefined => {
    for (;;) {
      const cut = buffer.indexOf('\n\n');
      if (cut < 0) return undefined;
      const lines = buffer.slice(0, cut).split('\n');
      buffer = buffer.slice(cut + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of lines) {
        if (line.startsWith(':')) comments++;
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) return { id, data: data.join('\n') };
    }
  };
  const next = async (): Promise<SseMessage | 'end'> => {
    for (;;) {
      const m = frame();
      if (m) return m;
      if (ended || !reader) return 'end';
      const chunk = await reader.read();
      if (chunk.done) ended = true;
      else buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  return {
    status: res.status,
    headers: res.headers,
    next,
    async rest() {
      const out: SseMessage[] = [];
      for (let m = await next(); m !== 'end'; m = await next()) out.push(m);
      return out;
    },
    comments: () => comments,
    close: () => abort.abort(),
  };
}
