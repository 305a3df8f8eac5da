/** A seeded random source for generated benchmark data: the same seed gives the same data. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1) (mulberry32: fast, and good enough for test data). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let value = this.state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, count). */
  int(count: number): number {
    return Math.floor(this.next() * count);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /**
   * An item drawn with a long-tailed skew: early items are far more frequent than late ones
   * (with the default 2.2, the first 1 % of a list gets about 12 % of the draws), the way a
   * few words dominate real tickets while most appear rarely.
   */
  skewed<T>(items: readonly T[], exponent = 2.2): T {
    return items[Math.floor(items.length * this.next() ** exponent)]!;
  }

  /** An index drawn by weight. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const weight of weights) total += weight;
    let point = this.next() * total;
    for (let index = 0; index < weights.length; index += 1) {
      point -= weights[index]!;
      if (point < 0) return index;
    }
    return weights.length - 1;
  }

  /** Exponentially distributed, with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** `digits` hexadecimal digits. */
  hex(digits: number): string {
    let text = '';
    while (text.length < digits)
      text += Math.floor(this.next() * 0x1_0000_0000)
        .toString(16)
        .padStart(8, '0');
    return text.slice(0, digits);
  }

  /**
   * A UUIDv7 for a given time, as the application's `uuid` v7 would have made it then:
   * 48-bit millisecond timestamp, version 7, variant 10, random rest.
   */
  uuid7(milliseconds: number): string {
    const time = Math.floor(milliseconds).toString(16).padStart(12, '0');
    const variant = (8 + this.int(4)).toString(16);
    const random = this.hex(18);
    return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(0, 3)}-${variant}${random.slice(3, 6)}-${random.slice(6)}`;
  }
}
