import pg from 'pg';

/**
 * What the backends of one database are doing, sampled from pg_stat_activity during a run:
 * on CPU, waiting on a lock, on the WAL flush, or idle in a transaction waiting for the
 * client (the application's round trips). A diagnosis aid printed beside the figures.
 */
export class ActivitySampler {
  private readonly counts = new Map<string, number>();
  private readonly statements = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;

  private constructor(
    private readonly client: pg.Client,
    private readonly database: string,
  ) {}

  /** Connects and samples every `intervalMs` until stop(). */
  static async start(databaseUrl: string, intervalMs = 50): Promise<ActivitySampler> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const sampler = new ActivitySampler(client, client.database ?? '');
    sampler.timer = setInterval(() => {
      sampler.pending ??= sampler.sample().finally(() => {
        sampler.pending = undefined;
      });
    }, intervalMs);
    return sampler;
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client.query<{ activity: string; statement: string | null }>(
      `select case
          when state = 'idle in transaction' then 'idle in transaction (waiting for the application)'
          when wait_event is null then 'running (CPU)'
          else wait_event_type || ': ' || wait_event
        end as activity,
        case when state = 'active' then regexp_replace(query, '\\s+', ' ', 'g') end as statement
       from pg_stat_activity
       where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'
         and state not in ('idle')`,
      [this.database],
    );
    this.samples += 1;
    for (const row of rows) {
      this.counts.set(row.activity, (this.counts.get(row.activity) ?? 0) + 1);
      if (row.statement) {
        const key = shorten(row.statement);
        this.statements.set(key, (this.statements.get(key) ?? 0) + 1);
      }
    }
  }

  /**
   * Stops and returns the activities by share of backend-samples, e.g. "Lock: transactionid
   * 41%", the average number of busy backends, and the statements seen running most often.
   */
  async stop(): Promise<ActivitySummary> {
    clearInterval(this.timer);
    await this.pending;
    await this.client.end();
    const total = [...this.counts.values()].reduce((sum, count) => sum + count, 0);
    const active = [...this.statements.values()].reduce((sum, count) => sum + count, 0);
    const ranked = (map: Map<string, number>, of: number) =>
      [...map.entries()].sort((a, b) => b[1] - a[1]).map(([text, count]) => ({ text, share: count / of }));
    return {
      busyBackends: this.samples === 0 ? 0 : total / this.samples,
      activities: total === 0 ? [] : ranked(this.counts, total),
      statements: active === 0 ? [] : ranked(this.statements, active),
    };
  }
}

export interface ActivitySummary {
  busyBackends: number;
  /** What busy backends were doing, by share of samples. */
  activities: Array<{ text: string; share: number }>;
  /** Statements of active backends (shortened), by share of active samples. */
  statements: Array<{ text: string; share: number }>;
}

/**
 * A statement short enough to print and still tell apart: its start, and its FROM clause
 * (ORM statements all begin with the same long column list).
 */
function shorten(statement: string): string {
  const from = statement.search(/ from /i);
  const start = statement.slice(0, 40);
  return from > 40 ? `${start} … ${statement.slice(from + 1, from + 101)}` : statement.slice(0, 140);
}
