/** FIFO of lines with O(1) amortised take and drop from the front. */
export class LineQueue {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(line: string): void {
    this.items.push(line);
  }

  /** Removes up to n lines from the front and returns them. */
  take(n: number): string[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    this.compact();
    return out;
  }

  /** Drops up to n lines from the front; returns how many. */
  drop(n: number): number {
    const k = Math.max(0, Math.min(n, this.length));
    this.head += k;
    this.compact();
    return k;
  }

  /** Puts lines back at the front (they are older than everything queued). */
  unshift(lines: readonly string[]): void {
    if (lines.length === 0) return;
    if (lines.length <= this.head) {
      this.head -= lines.length;
      for (let i = 0; i < lines.length; i++) this.items[this.head + i] = lines[i] as string;
    } else {
      this.items = lines.concat(this.items.slice(this.head));
      this.head = 0;
    }
  }

  /** Empties the queue; returns how many lines it held. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    return n;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
