/**
 * Group commit for requests that each need a short transaction of the same shape: requests
 * that arrive while a batch of their key runs wait, and run together as the next batch, in
 * one transaction. An idle key runs a request alone after one turn of the event loop (the
 * requests of that turn join it), so a single request waits no longer than before; under
 * load, a batch costs the round trips and the commit of one request, shared by all of them.
 *
 * `run` settles every item of its batch, each on its own: one item's failure (a validation
 * error) must not fail the others. If `run` itself throws, every item of the batch fails
 * with that error.
 */
export type Settled<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

interface Waiting<Item, Result> {
  item: Item;
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
}

interface Lane<Item, Result> {
  queue: Array<Waiting<Item, Result>>;
  running: number;
  scheduled: boolean;
}

export interface CoalescerOptions<Item, Result> {
  /** Most items in one batch; the rest wait for the next. */
  maxBatch: number;
  /** Batches of one key running at once. */
  concurrency: number;
  /** Runs one batch; answers one settlement per item, in the items' order. */
  run: (key: string, items: Item[]) => Promise<Array<Settled<Result>>>;
}

export class Coalescer<Item, Result> {
  private readonly lanes = new Map<string, Lane<Item, Result>>();

  constructor(private readonly options: CoalescerOptions<Item, Result>) {
    if (!(options.maxBatch >= 1 && options.concurrency >= 1))
      throw new Error('Coalescer: maxBatch and concurrency must be at least 1');
  }

  submit(key: string, item: Item): Promise<Result> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { queue: [], running: 0, scheduled: false };
      this.lanes.set(key, lane);
    }
    const settled = new Promise<Result>((resolve, reject) => lane.queue.push({ item, resolve, reject }));
    this.schedule(key, lane);
    return settled;
  }

  private schedule(key: string, lane: Lane<Item, Result>) {
    if (lane.scheduled || lane.running >= this.options.concurrency || lane.queue.length === 0) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      this.start(key, lane);
    });
  }

  private start(key: string, lane: Lane<Item, Result>) {
    while (lane.running < this.options.concurrency && lane.queue.length > 0) {
      const batch = lane.queue.splice(0, this.options.maxBatch);
      lane.running += 1;
      void this.runBatch(key, batch).finally(() => {
        lane.running -= 1;
        if (lane.queue.length > 0) this.start(key, lane);
        else if (lane.running === 0) this.lanes.delete(key);
      });
    }
  }

  private async runBatch(key: string, batch: Array<Waiting<Item, Result>>) {
    let results: Array<Settled<Result>>;
    try {
      results = await this.options.run(
        key,
        batch.map((waiting) => waiting.item),
      );
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, index) => {
      const result = results[index];
      if (!result) waiting.reject(new Error('Coalescer: the batch left an item unsettled'));
      else if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
  }
}
