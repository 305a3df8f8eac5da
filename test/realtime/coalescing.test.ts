import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as TcpSocket } from 'node:net';
import { type Server, type Socket, Server as SocketServer } from 'socket.io';
import { type Socket as ClientSocket, io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceWrites, holdWrites } from '../../src/server/modules/realtime/realtime.coalescing.js';
import { until } from '../support/wait.js';

let http: HttpServer;
let ioServer: Server;
let baseUrl: string;
const clients: ClientSocket[] = [];

beforeAll(async () => {
  http = createServer();
  ioServer = new SocketServer(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const client of clients) client.close();
  await new Promise((resolve) => ioServer.close(resolve));
});

/** A connected client, its server-side socket, and what the client received. */
async function pair(transports: string[]) {
  const serverSide = new Promise<Socket>((resolve) => ioServer.once('connection', resolve));
  const client = io(baseUrl, { transports, reconnection: false, forceNew: true });
  clients.push(client);
  const received: number[] = [];
  client.on('tick', (n: number) => received.push(n));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
  return { socket: await serverSide, received };
}

/** Counts the system-call-level writes (`_write`/`_writev`) of the socket's TCP connection. */
function countWrites(socket: Socket): { count: number } {
  const transport = socket.conn.transport as unknown as { socket: { _socket: TcpSocket } };
  const tcp = transport.socket._socket as TcpSocket & {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  const counter = { count: 0 };
  for (const method of ['_write', '_writev'] as const) {
    const original = tcp[method].bind(tcp);
    tcp[method] = (...args: unknown[]) => {
      counter.count += 1;
      original(...args);
    };
  }
  return counter;
}

describe('socket write coalescing', () => {
  it('sends the events emitted while writes are held in one TCP write, still one event each', async () => {
    const { socket, received } = await pair(['websocket']);
    coalesceWrites(socket);
    const writes = countWrites(socket);

    holdWrites([socket], () => {
      for (let n = 1; n <= 5; n += 1) socket.emit('tick', n);
    });

    await until(() => received.length === 5 || undefined);
    expect(received).toEqual([1, 2, 3, 4, 5]);
    expect(writes.count).toBe(1);
  });

  it('without holding, the packets queued behind a write in flight still leave together', async () => {
    const { socket, received } = await pair(['websocket']);
    coalesceWrites(socket);
    const writes = countWrites(socket);

    // The first packet is written at once; engine.io queues the rest until that write
    // completes, and the corked transport sends them in one write.
    for (let n = 1; n <= 5; n += 1) socket.emit('tick', n);

    await until(() => received.length === 5 || undefined);
    expect(received).toEqual([1, 2, 3, 4, 5]);
    expect(writes.count).toBe(2);
  });

  it('leaves long-polling connections alone and still delivers to them', async () => {
    const { socket, received } = await pair(['polling']);
    coalesceWrites(socket);

    holdWrites([socket], () => {
      for (let n = 1; n <= 3; n += 1) socket.emit('tick', n);
    });

    await until(() => received.length === 3 || undefined);
    expect(received).toEqual([1, 2, 3]);
  });

  it('flushes a held socket that disconnects during the batch without throwing', async () => {
    const { socket } = await pair(['websocket']);
    coalesceWrites(socket);
    expect(() =>
      holdWrites([socket], () => {
        socket.emit('tick', 1);
        socket.disconnect(true);
      }),
    ).not.toThrow();
  });
});
