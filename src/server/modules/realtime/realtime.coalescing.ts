import type { Socket } from 'socket.io';

/*
 * Socket.io sends each packet as its own WebSocket frame, and each frame as its own write
 * system call. When many events go to many sockets, those system calls are most of the cost
 * (on loopback the sender's call also runs the receiver's TCP input). Two things here make a
 * socket's packets of one batch leave in one write, without changing what the client sees
 * (still one frame, one event each):
 *
 *   - `coalesceWrites` corks the TCP socket while engine.io hands the transport a batch of
 *     packets, so their frames leave together;
 *   - `holdWrites` keeps engine.io's packets in its write buffer while a batch of events is
 *     emitted, then flushes each connection once.
 *
 * Both touch engine.io's connection (`socket.conn`) through the few members its WebSocket
 * transport has had since engine.io 4; anything else (long polling) is left alone.
 */

interface EngineTransport {
  name: string;
  writable: boolean;
  send(packets: unknown[]): void;
  /** The `ws` WebSocket, whose `_socket` is the TCP socket. */
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

interface EngineConnection {
  readyState: string;
  transport: EngineTransport;
  flush(): void;
  on(event: 'upgrade', listener: (transport: EngineTransport) => void): void;
}

const CORKED = Symbol('switchboard.corked');

function connectionOf(socket: Socket): EngineConnection {
  return socket.conn as unknown as EngineConnection;
}

function tcpSocketOf(transport: EngineTransport): { cork(): void; uncork(): void } | undefined {
  if (transport.name !== 'websocket') return undefined;
  const tcp = transport.socket?._socket;
  return tcp && typeof tcp.cork === 'function' && typeof tcp.uncork === 'function' ? tcp : undefined;
}

/** Makes the socket's WebSocket transport (now or after an upgrade) write a batch of packets in one go. */
export function coalesceWrites(socket: Socket): void {
  const connection = connectionOf(socket);
  const install = (transport: EngineTransport) => {
    const tcp = tcpSocketOf(transport);
    const marked = transport as EngineTransport & { [CORKED]?: true };
    if (!tcp || marked[CORKED]) return;
    marked[CORKED] = true;
    const send = transport.send.bind(transport);
    transport.send = (packets) => {
      if (packets.length < 2) return send(packets);
      tcp.cork();
      try {
        send(packets);
      } finally {
        tcp.uncork();
      }
    };
  };
  install(connection.transport);
  connection.on('upgrade', install);
}

/**
 * Runs `emit` with the given sockets' packets held in engine.io's write buffer, then flushes
 * each socket once: with `coalesceWrites`, everything `emit` sent to a socket leaves in one
 * write. A socket whose transport is busy (a write still in flight) is not held: engine.io
 * already buffers its packets until that write completes.
 */
export function holdWrites(sockets: Iterable<Socket>, emit: () => void): void {
  const held: EngineConnection[] = [];
  for (const socket of sockets) {
    const connection = connectionOf(socket);
    const { transport } = connection;
    if (!tcpSocketOf(transport) || !transport.writable) continue;
    transport.writable = false;
    held.push(connection);
  }
  try {
    emit();
  } finally {
    for (const connection of held) {
      connection.transport.writable = true;
      if (connection.readyState !== 'closed') connection.flush();
    }
  }
}
