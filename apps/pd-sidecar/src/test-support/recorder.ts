// A transparent HTTP forwarder that tests put in front of a real simulator to see exactly what the
// sidecar sent it (method, path, headers, body) and the bytes it answered.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

/** One exchange that went through the forwarder. */
export interface RecordedExchange {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body parsed as JSON, or null. */
  readonly json: Record<string, unknown> | null;
  status: number;
  /** The response bytes as the target sent them (complete once the response ended). */
  readonly response: Buffer[];
}

/** A running forwarder. */
export interface Recorder extends AsyncDisposable {
  /** `host:port` of the forwarder. */
  readonly hostPort: string;
  readonly port: number;
  /** Every exchange so far, oldest first. */
  readonly exchanges: RecordedExchange[];
  close(): Promise<void>;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade', 'te', 'trailer']);

/** Starts a forwarder on a free loopback port relaying everything to `targetOrigin` (`http://host:port`). */
export async function startRecorder(targetOrigin: string): Promise<Recorder> {
  const agent = new Agent({ pipelining: 1 });
  const exchanges: RecordedExchange[] = [];
  const server = createServer({ noDelay: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        json = null;
      }
      const exchange: RecordedExchange = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, json, status: 0, response: [] };
      exchanges.push(exchange);
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
      // A client that goes away takes the forwarded request with it, as with a direct connection.
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      request(`${targetOrigin}${req.url ?? '/'}`, { method: (req.method ?? 'GET') as 'GET', headers, body: body.byteLength > 0 ? body : null, dispatcher: agent, signal: abort.signal }).then(
        async (up) => {
          exchange.status = up.statusCode;
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
          res.writeHead(up.statusCode, out);
          try {
            for await (const chunk of up.body as AsyncIterable<Buffer>) {
              exchange.response.push(chunk);
              res.write(chunk);
            }
            res.end();
          } catch {
            res.destroy();
          }
        },
        (err: Error) => {
          if (abort.signal.aborted) return;
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`recorder: ${err.message}`);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await agent.close();
  };
  return { hostPort: `127.0.0.1:${port}`, port, exchanges, close, [Symbol.asyncDispose]: close };
}
