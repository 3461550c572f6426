// The stand-in as the real `resend` package sees it.
import { Resend } from "resend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createResendStandin, type ResendStandin } from "./index.ts";

let standin: ResendStandin;
let resend: Resend;
beforeAll(async () => {
  standin = await createResendStandin();
  resend = new Resend("re_test_key", { baseUrl: standin.url });
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => standin.reset());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const email = { from: "Acme <hello@acme.test>", to: ["ada@example.com"], subject: "Hi", html: "<p>Hi</p>" };

describe("POST /emails", () => {
  it("a complete email through resend.emails.send → a uuid id, kept in `sent`, readable by resend.emails.get", async () => {
    const { data, error } = await resend.emails.send({ ...email, tags: [{ name: "kind", value: "hello" }] });
    expect(error).toBeNull();
    expect(data?.id).toMatch(UUID);
    expect(standin.sent).toHaveLength(1);
    expect(standin.sent[0]).toMatchObject({
      id: data?.id,
      to: ["ada@example.com"],
      tags: [{ name: "kind", value: "hello" }],
    });
    const read = await resend.emails.get(data?.id ?? "");
    expect(read.data).toMatchObject({ object: "email", id: data?.id, subject: "Hi", last_event: "sent" });
  });

  it("no subject → 422 missing_required_field naming subject, nothing sent", async () => {
    const { data, error } = await resend.emails.send({ from: email.from, to: email.to, html: "x" } as never);
    expect(data).toBeNull();
    expect(error).toMatchObject({ statusCode: 422, name: "missing_required_field" });
    expect(error?.message).toContain("subject");
    expect(standin.sent).toHaveLength(0);
  });

  it("to: `not an address` → 422 validation_error; neither html nor text → 422", async () => {
    const bad = await resend.emails.send({ ...email, to: "not an address" });
    expect(bad.error).toMatchObject({ statusCode: 422, name: "validation_error" });
    const empty = await resend.emails.send({ from: email.from, to: email.to, subject: "x" } as never);
    expect(empty.error).toMatchObject({ statusCode: 422 });
  });

  it("one Idempotency-Key twice with the same email → the same id, stored once; with another email → 409", async () => {
    const first = await resend.emails.send(email, { idempotencyKey: "key-1" });
    const second = await resend.emails.send(email, { idempotencyKey: "key-1" });
    expect(second.data?.id).toBe(first.data?.id);
    expect(standin.sent).toHaveLength(1);
    const other = await resend.emails.send({ ...email, subject: "Other" }, { idempotencyKey: "key-1" });
    expect(other.error).toMatchObject({ statusCode: 409, name: "invalid_idempotent_request" });
  });

  it("no Authorization header → 401 missing_api_key", async () => {
    const response = await fetch(`${standin.url}/emails`, { method: "POST", body: JSON.stringify(email) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ name: "missing_api_key" });
  });

  it("GET /emails/<unknown> → 404 not_found", async () => {
    const { error } = await resend.emails.get("00000000-0000-4000-8000-000000000000");
    expect(error).toMatchObject({ statusCode: 404, name: "not_found" });
  });

  it("onEmail listeners hear each accepted email once", async () => {
    const heard: string[] = [];
    const stop = standin.onEmail((accepted) => heard.push(accepted.id));
    const { data } = await resend.emails.send(email);
    stop();
    await resend.emails.send(email);
    expect(heard).toEqual([data?.id]);
  });
});

describe("POST /emails/batch", () => {
  it("3 emails through resend.batch.send → 3 uuids in order, one batch call recorded", async () => {
    const { data, error } = await resend.batch.send([email, email, { ...email, to: ["bob@example.com"] }]);
    expect(error).toBeNull();
    expect(data?.data).toHaveLength(3);
    expect(standin.batchCalls).toEqual([{ size: 3, ids: data?.data.map((item) => item.id) }]);
    expect(standin.sent[2]?.to).toEqual(["bob@example.com"]);
  });

  it("101 emails → 422, nothing sent; a bad second email → 422 naming [1], nothing sent", async () => {
    const tooMany = await resend.batch.send(Array.from({ length: 101 }, () => email));
    expect(tooMany.error).toMatchObject({ statusCode: 422 });
    const oneBad = await resend.batch.send([email, { ...email, from: "" }]);
    expect(oneBad.error?.message).toContain("[1].from");
    expect(standin.sent).toHaveLength(0);
    expect(standin.batchCalls).toHaveLength(0);
  });
});
