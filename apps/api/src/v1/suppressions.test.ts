// /v1/suppressions against the real app, PostgreSQL and Redis: add, read, remove and check.
import { randomUUID } from "node:crypto";
import { suppressions } from "@mailstate/db";
import { startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_v1_suppressions", mailstateSystem);
});
afterAll(async () => {
  await api?.close();
});

describe("/v1/suppressions", () => {
  it("POST an address → 201 manual; again → 200 with the first row; GET → 200; DELETE → 204; GET → 404", async () => {
    const email = `${randomUUID()}@suppress.test`;
    const added = await api.call("POST", "/v1/suppressions", { email: ` ${email.toUpperCase()} `, note: "asked us" });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ email, reason: "manual", note: "asked us", sourceEventId: null });
    expect((await api.call("POST", "/v1/suppressions", { email })).status).toBe(200);
    const read = await api.call("GET", `/v1/suppressions/${encodeURIComponent(email)}`);
    expect(read).toMatchObject({ status: 200, body: { email, reason: "manual" } });
    expect((await api.call("DELETE", `/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(204);
    expect((await api.call("GET", `/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(404);
    expect((await api.call("DELETE", `/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(404);
  });

  it("POST an address suppressed by a hard bounce → 200 keeping reason hard_bounce", async () => {
    const email = `${randomUUID()}@bounced.test`;
    await suppressions.add(api.db, { email, reason: "hard_bounce", sourceEventId: "msg_1" });
    const answer = await api.call("POST", "/v1/suppressions", { email });
    expect(answer).toMatchObject({ status: 200, body: { reason: "hard_bounce", sourceEventId: "msg_1" } });
  });

  it("check [suppressed, clean, suppressed again in other case] → one status per distinct address, reasons given", async () => {
    const bad = `${randomUUID()}@check.test`;
    const good = `${randomUUID()}@check.test`;
    await suppressions.add(api.db, { email: bad, reason: "complaint" });
    const answer = await api.call("POST", "/v1/suppressions/check", { emails: [bad, good, bad.toUpperCase()] });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual([
      { email: bad, suppressed: true, reason: "complaint", since: expect.any(String) },
      { email: good, suppressed: false, reason: null, since: null },
    ]);
    expect(answer.body.suppressed.map((status: { email: string }) => status.email)).toEqual([bad]);
  });

  it("check with no emails → 400 naming emails; POST without email → 400 naming email", async () => {
    const empty = await api.call("POST", "/v1/suppressions/check", { emails: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].path).toBe("emails");
    const missing = await api.call("POST", "/v1/suppressions", {});
    expect(missing.body.errors[0].path).toBe("email");
  });
});
