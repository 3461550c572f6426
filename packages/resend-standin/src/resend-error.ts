// Resend's error answers: a status with `{ statusCode, name, message }`. Handlers throw them; the
// server answers them.

export interface ResendError {
  statusCode: number;
  name: string;
  message: string;
}

export class HttpError extends Error {
  constructor(readonly body: ResendError) {
    super(body.message);
  }
}

export const fail = (statusCode: number, name: string, message: string) => new HttpError({ statusCode, name, message });
