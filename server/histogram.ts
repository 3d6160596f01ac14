// A Prometheus histogram with fixed buckets: observing is a short search and two increments.

export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Array(buckets.length).fill(0);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < this.buckets.length && seconds > this.buckets[i]!) i++;
    if (i < this.buckets.length) this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** Text lines for `name` with extra labels (without braces), cumulative as Prometheus wants. */
  render(name: string, labels = ''): string[] {
    const sep = labels === '' ? '' : ',';
    const lines: string[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i]!;
      lines.push(`${name}_bucket{${labels}${sep}le="${this.buckets[i]}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`);
    const braces = labels === '' ? '' : `{${labels}}`;
    lines.push(`${name}_sum${braces} ${this.sum}`, `${name}_count${braces} ${this.count}`);
    return lines;
  }
}
