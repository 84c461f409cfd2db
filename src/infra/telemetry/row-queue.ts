/**
 * FIFO of rows waiting to be written. `peek` hands out the front without removing it and
 * `drop` removes it only after the database took it, so a failed batch is still at the front
 * in its original order — nothing to put back, nothing to reorder.
 */
export class RowQueue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Copy of the first `n` rows (fewer if the queue is shorter). */
  peek(n: number): T[] {
    return this.items.slice(this.head, this.head + n);
  }

  /** Removes the first `n` rows. */
  drop(n: number): void {
    this.head = Math.min(this.head + n, this.items.length);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Compact now and then so a long-lived queue does not keep written rows alive;
      // amortised O(1) per row.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
