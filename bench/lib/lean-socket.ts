import WebSocket from 'ws';

/**
 * A minimal Socket.IO client for load generation: the Engine.IO v4 / Socket.IO v5 protocol
 * over a plain WebSocket (https://socket.io/docs/v4/engine-io-protocol/ and
 * https://socket.io/docs/v4/socket-io-protocol/), default namespace, text packets only.
 *
 *   server → `0{sid,pingInterval,…}` (open)   client → `40{auth}` (connect)
 *   server → `40{sid}` or `44{message,data}`   server `2` (ping) → client `3` (pong)
 *   server → `42["event",payload]` (event)
 *
 * socket.io-client spends about 18 µs of CPU per received event; when a thousand clients run on
 * the same two cores as the server they measure, that cost is the benchmark's own bottleneck.
 * This client does what a load generator needs and nothing else: it hands each event's payload
 * to its listener as JSON text (a listener parses what it needs: a full JSON.parse of a 1 KB
 * ticket event is another 5 µs), and has no reconnection, acknowledgements, binary packets or
 * long polling.
 */
export class LeanSocket {
  private readonly listeners = new Map<string, (payloadJson: string) => void>();

  private constructor(private readonly ws: WebSocket) {}

  /** Connects and authenticates; rejects with the server's error when the handshake is refused. */
  static connect(baseUrl: string, auth: Record<string, unknown>, timeoutMs = 30_000): Promise<LeanSocket> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const socket = new LeanSocket(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`socket handshake took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        ws.terminate();
        reject(error);
      };
      let connected = false;
      ws.on('error', (error) => {
        if (!connected) fail(error);
      });
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        if (connected) return socket.packet(text);
        if (text.startsWith('0')) ws.send(`40${JSON.stringify(auth)}`);
        else if (text.startsWith('40')) {
          connected = true;
          clearTimeout(timer);
          resolve(socket);
        } else if (text.startsWith('44')) fail(new Error(`socket refused: ${text.slice(2)}`));
        else if (text === '2') ws.send('3');
      });
    });
  }

  /** `listener` gets the event's payload as JSON text. */
  on(event: string, listener: (payloadJson: string) => void): void {
    this.listeners.set(event, listener);
  }

  get connected(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.ws.close();
  }

  private packet(text: string): void {
    if (text === '2') {
      this.ws.send('3');
      return;
    }
    // 42["name",payload]: event names are plain strings, so the name ends at the next quote.
    if (!text.startsWith('42["')) return;
    const nameEnd = text.indexOf('"', 4);
    const listener = this.listeners.get(text.slice(4, nameEnd));
    if (listener) listener(text.slice(nameEnd + 2, -1));
  }
}
