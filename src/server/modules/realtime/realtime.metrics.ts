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
  /** Ticket events per fan-out pass: passes grow under load, and each socket gets one write per pass. */
  batchEvents: client.Histogram;
  /** Sockets written to per fan-out pass. */
  batchSockets: client.Histogram;
  /**
   * Per ticket event, seconds from its recording (the outbox row's `created_at`, taken by
   * PostgreSQL at the start of the writing transaction) to its fan-out pass's writes: the
   * commit, the relay, the pub/sub hop, the wait for a pass and presenting. Clocks of the
   * database and API hosts are compared, so skew between them shows here.
   */
  lag: client.Histogram;
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
    batchEvents: new client.Histogram({
      name: 'switchboard_realtime_fanout_batch_events',
      help: 'Ticket events handled per fan-out pass',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200],
      registers,
    }),
    batchSockets: new client.Histogram({
      name: 'switchboard_realtime_fanout_batch_sockets',
      help: 'Local sockets written to per fan-out pass',
      buckets: [1, 10, 100, 1_000, 5_000, 20_000],
      registers,
    }),
    lag: new client.Histogram({
      name: 'switchboard_realtime_fanout_lag_seconds',
      help: 'Seconds from a ticket event being recorded to its fan-out pass writing it to sockets',
      buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}
