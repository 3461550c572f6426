// What the SDK needs of Resend's client, declared structurally so that `new Resend(key)` fits and
// `resend` stays an optional peer dependency.

/** The parts of an email mailstate reads; Resend's own `CreateEmailOptions` fits. */
export interface EmailLike {
  from?: string;
  to: string | string[];
  cc?: string | string[];
  bcc?: string | string[];
  subject?: string;
  tags?: { name: string; value: string }[];
}

/** The error half of Resend's `{ data, error }` answers. */
export interface ResendErrorLike {
  name: string;
  message: string;
  statusCode?: number | null;
}

type ResendAnswer<T> = { data: T; error: null } | { data: null; error: ResendErrorLike };

/** What `send` needs of a Resend client: `new Resend(key)` fits. */
export interface ResendLike<E extends EmailLike> {
  emails: { send(email: E, options?: { idempotencyKey?: string }): Promise<ResendAnswer<{ id: string }>> };
}

/** What `sendBatch` needs of a Resend client: `new Resend(key)` fits. */
export interface ResendBatchLike<E extends EmailLike> {
  batch: {
    send(emails: E[], options?: { idempotencyKey?: string }): Promise<ResendAnswer<{ data: { id: string }[] }>>;
  };
}
