import client from 'prom-client';

/**
 * Prometheus metrics of one process. A registry per app instance (not the global one), so
 * several apps in one test process do not collide.
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly httpDuration: client.Histogram<'method' | 'route' | 'status_code'>;
  readonly jobsCompleted: client.Counter<'queue' | 'name'>;
  readonly jobsFailed: client.Counter<'queue' | 'name' | 'final'>;
  readonly jobDuration: client.Histogram<'queue' | 'name'>;
  readonly outboxPublished: client.Counter;
  readonly outboxFailures: client.Counter;

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
    this.httpDuration = new client.Histogram({
      name: 'switchboard_http_request_duration_seconds',
      help: 'HTTP request latency by route template',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.jobsCompleted = new client.Counter({
      name: 'switchboard_jobs_completed_total',
      help: 'Jobs that ran to completion',
      labelNames: ['queue', 'name'],
      registers: [this.registry],
    });
    this.jobsFailed = new client.Counter({
      name: 'switchboard_jobs_failed_total',
      help: 'Job runs that failed; final="true" when no retry is left (dead letter)',
      labelNames: ['queue', 'name', 'final'],
      registers: [this.registry],
    });
    this.jobDuration = new client.Histogram({
      name: 'switchboard_job_duration_seconds',
      help: 'Duration of successful job runs',
      labelNames: ['queue', 'name'],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30],
      registers: [this.registry],
    });
    this.outboxPublished = new client.Counter({
      name: 'switchboard_outbox_published_total',
      help: 'Domain events relayed from the outbox',
      registers: [this.registry],
    });
    this.outboxFailures = new client.Counter({
      name: 'switchboard_outbox_publish_failures_total',
      help: 'Outbox relay attempts that failed and will be retried',
      registers: [this.registry],
    });
  }

  /** Registers a gauge whose value is read at scrape time (queue depth, pending outbox). */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    collect: (gauge: client.Gauge<L>) => Promise<void>,
  ): void {
    new client.Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        await collect(this);
      },
    });
  }
}
