import client from 'prom-client';
import type { Metrics } from '../../platform/metrics.js';

/** Prometheus metrics of the socket server, in the app's registry. */
export interface RealtimeMetrics {
  /** Socket events sent, by name (one per emit, however many sockets it reaches). */
  emitted: client.Counter<'event'>;
  /** Handshakes and client events refused, by reason. */
  rejected: client.Counter<'reason'>;
  /** Work that failed for good after its retries, by stage (fanout, presence, catch_up, redis). */
  failures: client.Counter<'stage'>;
}

export function createRealtimeMetrics(metrics: Metrics, connections: () => number): RealtimeMetrics {
  const registers = [metrics.registry];
  metrics.gauge(
    'switchboard_realtime_connections',
    'Sockets connected to this process',
    [],
    async (gauge) => {
      gauge.set(connections());
    },
  );
  return {
    emitted: new client.Counter({
      name: 'switchboard_realtime_events_emitted_total',
      help: 'Socket events sent, by event name',
      labelNames: ['event'],
      registers,
    }),
    rejected: new client.Counter({
      name: 'switchboard_realtime_rejected_total',
      help: 'Socket handshakes and client events refused, by reason',
      labelNames: ['reason'],
      registers,
    }),
    failures: new client.Counter({
      name: 'switchboard_realtime_failures_total',
      help: 'Socket work that failed after its retries, by stage',
      labelNames: ['stage'],
      registers,
    }),
  };
}
