import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { until } from '../support/wait.js';

/** A listening server (API, workers and relay, as RUN_MODE=all) and its base URL. */
export interface LiveServer extends TestApp {
  baseUrl: string;
}

export async function startLiveServer(env: Record<string, string> = {}): Promise<LiveServer> {
  const server = await startTestApp(env);
  await startWorkers(server.platform);
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.app.server.address() as AddressInfo;
  return { ...server, baseUrl: `http://127.0.0.1:${port}` };
}

/** What a test client received, in order. */
export interface Received {
  event: string;
  payload: Record<string, unknown>;
}

/** A socket.io client with everything it received recorded. */
export interface Client {
  socket: Socket;
  received: Received[];
  /** The first received event `event` (after `from`, an index into `received`) matching `match`. */
  next(
    event: string,
    match?: (payload: Record<string, unknown>) => boolean,
    from?: number,
  ): Promise<Received>;
  /** Sends a client event and resolves with its acknowledgement. */
  call(event: string, payload?: unknown): Promise<Record<string, unknown>>;
  close(): void;
}

/** Connects with `auth` (token, lastEventId); rejects with the server's `connect_error`. */
export async function connect(baseUrl: string, auth: Record<string, unknown>): Promise<Client> {
  const socket = io(baseUrl, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  const received: Received[] = [];
  socket.onAny((event: string, payload: Record<string, unknown>) => received.push({ event, payload }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
  return {
    socket,
    received,
    next: (event, match = () => true, from = 0) =>
      until(() => received.slice(from).find((entry) => entry.event === event && match(entry.payload))),
    call: (event, payload) =>
      payload === undefined ? socket.emitWithAck(event) : socket.emitWithAck(event, payload),
    close: () => socket.close(),
  };
}

/** The `connect_error` a refused handshake gives, with the common error body in `data`. */
export async function refusal(baseUrl: string, auth: Record<string, unknown>) {
  try {
    const client = await connect(baseUrl, auth);
    client.close();
  } catch (error) {
    return error as Error & { data?: { statusCode: number; error: string; message: string } };
  }
  throw new Error('the handshake was accepted');
}

/** The bare token of a test user's `Authorization: Bearer …` header. */
export const tokenOf = (who: { auth: { authorization: string } }): string =>
  who.auth.authorization.slice('Bearer '.length);

/** The clients a test file opens against its server, closed together in its `afterAll`. */
export class OpenClients {
  private readonly opened: Client[] = [];

  constructor(private readonly baseUrl: () => string) {}

  /** Connects with `auth` (see `connect`) and keeps the client for `closeAll`. */
  async connect(auth: Record<string, unknown>): Promise<Client> {
    const client = await connect(this.baseUrl(), auth);
    this.opened.push(client);
    return client;
  }

  closeAll(): void {
    for (const client of this.opened) client.close();
  }
}
