// Gathers items submitted at about the same moment into one call: many webhook jobs share one
// database transaction (the worker), many webhooks one write to Redis (the API). A batch that
// fails is retried item by item, so one bad item fails alone and the rest go through.
//
// A batch goes when it is full (`maxSize`) or when its oldest item has waited `maxWaitMs`, and at
// most `maxInFlight` batches run at once. Items that arrive while every slot runs wait for the next
// batch rather than starting one of their own: under load the batches grow by themselves (fewer
// statements per item, and no two of the worker's transactions queue on one notification's row
// lock), while a lone item on an idle process still waits no longer than `maxWaitMs`. A batch that
// ends never sends the items that came after it early: with a slot free, they wait out their own
// `maxWaitMs` (the API's 50 ms window holds ~25 webhooks at 500/s, not the one that arrived in the
// 2 ms the previous write took).
//
// A batch runs in the async context of its oldest item (AsyncLocalStorage), and an item retried
// alone in its own: not in that of the timer or of the batch that ended before it, which would
// chain one request's context (its trace, with tracing on) into every batch after it.
import { AsyncLocalStorage } from "node:async_hooks";

export interface BatcherOptions {
  maxSize: number;
  maxWaitMs: number;
  /** Batches running at once (default 1). */
  maxInFlight?: number;
}

interface Pending<I, O> {
  item: I;
  /** When it was submitted (Date.now()): the batch goes once its oldest item has waited maxWaitMs. */
  at: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
  /** Runs a function in the async context the item was submitted in. */
  inContext: <R>(work: () => R) => R;
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
      this.queue.push({ item, at: Date.now(), resolve, reject, inContext: AsyncLocalStorage.snapshot() });
      this.schedule();
    });
  }

  /** Sends what is due now (a full batch, or an oldest item that has waited maxWaitMs), or sets the timer for when it is. */
  private schedule(): void {
    if (this.inFlight >= this.maxInFlight) return; // the running batch's end schedules the next one
    const oldest = this.queue[0];
    if (!oldest) return;
    // Never longer than maxWaitMs, should the wall clock step back meanwhile.
    const wait = Math.min(oldest.at + this.options.maxWaitMs - Date.now(), this.options.maxWaitMs);
    if (this.queue.length >= this.options.maxSize || wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  /** Sends one batch (the oldest items) if a slot is free, then schedules the rest. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxSize);
    this.inFlight += 1;
    void (batch[0] as Pending<I, O>)
      .inContext(() => this.settle(batch))
      .finally(() => {
        this.inFlight -= 1;
        // What arrived meanwhile goes at once if it has waited maxWaitMs already, else when it has.
        this.schedule();
      });
    this.schedule();
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
      await Promise.all(batch.map((pending) => pending.inContext(() => this.settle([pending]))));
    }
  }
}
