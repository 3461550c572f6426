// Gathers items submitted at about the same moment into one call: many webhook jobs share one
// database transaction (the worker), many webhooks one write to Redis (the API). A batch that
// fails is retried item by item, so one bad item fails alone and the rest go through.
//
// At most `maxInFlight` batches run at once. Items that arrive while they run wait for the next
// batch rather than starting one of their own: under load the batches grow by themselves (fewer
// statements per item, and no two of the worker's transactions queue on one notification's row
// lock), while a lone item on an idle process still waits no longer than `maxWaitMs`.
export interface BatcherOptions {
  maxSize: number;
  maxWaitMs: number;
  /** Batches running at once (default 1). */
  maxInFlight?: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly maxInFlight: number;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.inFlight >= this.maxInFlight) return; // the running batch's end starts the next one
      if (this.queue.length >= this.options.maxSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxSize);
      this.inFlight += 1;
      void this.settle(batch).finally(() => {
        this.inFlight -= 1;
        // What arrived meanwhile has waited already: it goes at once.
        this.flush();
      });
    }
  }

  private async settle(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.run(batch.map((pending) => pending.item));
      for (const [index, pending] of batch.entries()) pending.resolve(results[index] as O);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      await Promise.all(batch.map((pending) => this.settle([pending])));
    }
  }
}
