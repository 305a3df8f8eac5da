import { describe, expect, it } from 'vitest';
import { Coalescer, type Settled } from './coalescer.js';

/** A `run` that records its batches and holds each until the test releases it. */
function gatedRun() {
  const batches: Array<{ key: string; items: number[] }> = [];
  const gates: Array<() => void> = [];
  const run = async (key: string, items: number[]): Promise<Array<Settled<number>>> => {
    batches.push({ key, items });
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((item) =>
      item < 0 ? { ok: false, error: new Error(`bad ${item}`) } : { ok: true, value: item * 10 },
    );
  };
  return { batches, gates, run };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('runs the requests of one event-loop turn as one batch', async () => {
    const { batches, gates, run } = gatedRun();
    const coalescer = new Coalescer({ maxBatch: 10, concurrency: 1, run });
    const results = [1, 2, 3].map((item) => coalescer.submit('org-a', item));
    await turn();
    expect(batches).toEqual([{ key: 'org-a', items: [1, 2, 3] }]);
    gates.shift()!();
    expect(await Promise.all(results)).toEqual([10, 20, 30]);
  });

  it('gathers what arrives while a batch runs into the next batch, in arrival order', async () => {
    const { batches, gates, run } = gatedRun();
    const coalescer = new Coalescer({ maxBatch: 10, concurrency: 1, run });
    const first = coalescer.submit('org-a', 1);
    await turn();
    const later = [2, 3, 4].map((item) => coalescer.submit('org-a', item));
    await turn();
    expect(batches.map((batch) => batch.items)).toEqual([[1]]);
    gates.shift()!();
    expect(await first).toBe(10);
    await turn();
    expect(batches.map((batch) => batch.items)).toEqual([[1], [2, 3, 4]]);
    gates.shift()!();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
  });

  it('caps batches at maxBatch and runs up to `concurrency` of one key at once', async () => {
    const { batches, gates, run } = gatedRun();
    const coalescer = new Coalescer({ maxBatch: 2, concurrency: 2, run });
    const results = [1, 2, 3, 4, 5].map((item) => coalescer.submit('org-a', item));
    await turn();
    expect(batches.map((batch) => batch.items)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    gates.shift()!();
    await turn();
    expect(batches.map((batch) => batch.items)).toEqual([[1, 2], [3, 4], [5]]);
    while (gates.length > 0) gates.shift()!();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50]);
  });

  it('keeps keys apart: one key’s running batch does not hold another’s', async () => {
    const { batches, gates, run } = gatedRun();
    const coalescer = new Coalescer({ maxBatch: 10, concurrency: 1, run });
    const a = coalescer.submit('org-a', 1);
    const b = coalescer.submit('org-b', 2);
    await turn();
    expect(batches).toEqual([
      { key: 'org-a', items: [1] },
      { key: 'org-b', items: [2] },
    ]);
    gates.shift()!();
    gates.shift()!();
    expect([await a, await b]).toEqual([10, 20]);
  });

  it('fails only the item its settlement fails', async () => {
    const { gates, run } = gatedRun();
    const coalescer = new Coalescer({ maxBatch: 10, concurrency: 1, run });
    const results = [1, -2, 3].map((item) => coalescer.submit('org-a', item));
    await turn();
    gates.shift()!();
    const settled = await Promise.allSettled(results);
    expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toEqual(new Error('bad -2'));
  });

  it('fails every item when the batch itself throws, and goes on with the next batch', async () => {
    let calls = 0;
    const coalescer = new Coalescer<number, number>({
      maxBatch: 10,
      concurrency: 1,
      run: async (_key, items) => {
        calls += 1;
        if (calls === 1) throw new Error('connection lost');
        return items.map((item) => ({ ok: true, value: item }));
      },
    });
    const failed = await Promise.allSettled([coalescer.submit('k', 1), coalescer.submit('k', 2)]);
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await coalescer.submit('k', 3)).toBe(3);
  });

  it('rejects an item the batch left without a settlement', async () => {
    const coalescer = new Coalescer<number, number>({ maxBatch: 10, concurrency: 1, run: async () => [] });
    await expect(coalescer.submit('k', 1)).rejects.toThrow(/unsettled/);
  });

  it('refuses a batch size or concurrency below one', () => {
    expect(() => new Coalescer({ maxBatch: 0, concurrency: 1, run: async () => [] })).toThrow();
    expect(() => new Coalescer({ maxBatch: 1, concurrency: 0, run: async () => [] })).toThrow();
  });
});
