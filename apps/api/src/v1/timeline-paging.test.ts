// GET /v1/notifications/:id/timeline pages opens and clicks: a notification may have thousands.
// Against the real app and an in-process worker, PostgreSQL and Redis of its own.
import { randomUUID } from "node:crypto";
import { addJob, jobIdFor } from "@mailstate/queue";
import { makeEvent, type ResendEvent } from "@mailstate/resend-events";
import { timeline } from "@mailstate/state-machine";
import { basicAuth, OPS_ENV, startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_timeline_paging", mailstateSystem, { env: OPS_ENV });
  await api.startWorker();
});
afterAll(async () => {
  await api?.close();
});

const at = (ms: number, micros = "") =>
  micros
    ? new Date(Date.parse("2026-11-22T10:00:00.000Z") + ms).toISOString().replace("Z", `${micros}+00:00`)
    : new Date(Date.parse("2026-11-22T10:00:00.000Z") + ms).toISOString();

/** sent, delivered at 50 s, 240 opens (10 of them in one millisecond), 20 clicks, a bounce report at 90 s. */
function eventsOf(emailId: string): { svixId: string; event: ResendEvent }[] {
  const data = { email_id: emailId, to: ["pager@example.com"] };
  const out: { svixId: string; event: ResendEvent }[] = [];
  const push = (svixId: string, event: ResendEvent) => out.push({ svixId: `msg_${emailId}_${svixId}`, event });
  push("sent", makeEvent("email.sent", { created_at: at(1_000), data }));
  push("delivered", makeEvent("email.delivered", { created_at: at(50_000), data }));
  push(
    "bounced",
    makeEvent("email.bounced", {
      created_at: at(90_000),
      data: { ...data, bounce: { type: "Undetermined", subType: "General", message: "later" } },
    }),
  );
  for (let i = 0; i < 230; i += 1) push(`open${i}`, makeEvent("email.opened", { created_at: at(500 + i * 500), data }));
  for (let i = 0; i < 10; i += 1) {
    push(`tie${i}`, makeEvent("email.opened", { created_at: at(60_000, String(900 - i * 10).padStart(3, "0")), data }));
  }
  for (let i = 0; i < 20; i += 1) {
    const created = at(700 + i * 5_000);
    const click = { link: `https://acme.test/${i}`, timestamp: created, ipAddress: "198.51.100.4", userAgent: "UA" };
    push(`click${i}`, makeEvent("email.clicked", { created_at: created, data: { ...data, click } }));
  }
  return out;
}

async function seeded() {
  const emailId = `re_${randomUUID()}`;
  const recorded = await api.call("POST", "/v1/notifications", {
    to: "pager@example.com",
    from: "Acme <hello@acme.test>",
    subject: "Paging",
    resendEmailId: emailId,
  });
  const logged = eventsOf(emailId);
  for (const { svixId, event } of logged) {
    await addJob(
      api.queues,
      "inbox.reconcile",
      { svixId, receivedAt: new Date().toISOString(), event: event as unknown as Record<string, unknown> },
      jobIdFor("event", svixId),
    );
  }
  await api.drained(30_000);
  return { id: recorded.body.notification.id as string, logged };
}

interface Entry {
  svixId: string;
  kind: string;
  stateAfter: string;
  engagement: { link: string | null; ipAddress: string | null } | null;
}

describe("GET /v1/notifications/:id/timeline pages opens and clicks", () => {
  it("3 delivery events + 260 opens and clicks, engagementLimit=100 → pages of 100, 100, 60; every page carries the 3 delivery events; each open and click comes once, with the state the full fold gives it", async () => {
    const { id, logged } = await seeded();
    const expected = new Map(timeline(logged).map((entry) => [entry.svixId, entry.stateAfter]));
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&engagementCursor=${encodeURIComponent(cursor)}` : "";
      const answer = await api.call("GET", `/v1/notifications/${id}/timeline?engagementLimit=100${query}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ state: "bounced", engagementTotal: 260 });
      const entries: Entry[] = answer.body.events;
      expect(entries.filter((entry) => entry.kind !== "engagement").map((entry) => entry.svixId)).toHaveLength(3);
      const engagement = entries.filter((entry) => entry.kind === "engagement");
      sizes.push(engagement.length);
      for (const entry of entries)
        expect([entry.svixId, entry.stateAfter]).toEqual([entry.svixId, expected.get(entry.svixId)]);
      seen.push(...engagement.map((entry) => entry.svixId));
      cursor = answer.body.nextEngagementCursor;
    } while (cursor);
    expect(sizes).toEqual([100, 100, 60]);
    expect(new Set(seen).size).toBe(260);
    expect(seen.length).toBe(260);
  });

  it("no engagementLimit → the first 100 opens and clicks in event time, in order with the delivery events; a click keeps its link and IP", async () => {
    const { id, logged } = await seeded();
    const answer = await api.call("GET", `/v1/notifications/${id}/timeline`);
    expect(answer.status).toBe(200);
    const entries: Entry[] = answer.body.events;
    const full = timeline(logged).filter(
      (entry) => entry.kind !== "engagement" || entries.some((e) => e.svixId === entry.svixId),
    );
    expect(entries.map((entry) => entry.svixId)).toEqual(full.map((entry) => entry.svixId));
    expect(entries.filter((entry) => entry.kind === "engagement")).toHaveLength(100);
    expect(entries.filter((entry) => entry.kind !== "engagement").map((entry) => entry.stateAfter)).toEqual([
      "sent",
      "delivered",
      "bounced",
    ]);
    expect(entries.find((entry) => entry.svixId.endsWith("_click0"))?.engagement).toMatchObject({
      link: "https://acme.test/0",
      ipAddress: "198.51.100.4",
    });
    expect(typeof answer.body.nextEngagementCursor).toBe("string");
  });

  it("input: engagementLimit=1001, engagementLimit=0, engagementCursor=garbage → 400 naming the parameter", async () => {
    const id = randomUUID();
    for (const [query, path] of [
      ["engagementLimit=1001", "engagementLimit"],
      ["engagementLimit=0", "engagementLimit"],
      ["engagementCursor=garbage", "engagementCursor"],
    ]) {
      const answer = await api.call("GET", `/v1/notifications/${id}/timeline?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([expect.objectContaining({ location: "query", path })]);
    }
  });

  it("engagementLimit=1000 on a notification with fewer → every event, nextEngagementCursor null", async () => {
    const { id } = await seeded();
    const answer = await api.call("GET", `/v1/notifications/${id}/timeline?engagementLimit=1000`);
    expect(answer.body.events).toHaveLength(263);
    expect(answer.body.nextEngagementCursor).toBeNull();
  });

  it("the OpenAPI document describes engagementLimit (1–1000, default 100), engagementCursor and nextEngagementCursor", async () => {
    const answer = await api.call("GET", "/openapi.json", undefined, {});
    const operation = answer.body.paths["/v1/notifications/{id}/timeline"].get;
    const byName = Object.fromEntries(
      operation.parameters.map((parameter: { name: string; schema: unknown }) => [parameter.name, parameter.schema]),
    );
    expect(byName.engagementLimit).toMatchObject({ minimum: 1, maximum: 1000, default: 100 });
    expect(byName.engagementCursor).toMatchObject({ type: "string" });
    expect(answer.body.components.schemas.Timeline.required).toEqual(
      expect.arrayContaining(["events", "engagementTotal", "nextEngagementCursor"]),
    );
  });

  it("the support page of that notification → its 3 delivery events, the first 100 opens and clicks, and a note with the count and how to read the rest", async () => {
    const { id } = await seeded();
    const response = await fetch(`${api.baseUrl}/support/notifications/${id}`, {
      headers: { authorization: basicAuth() },
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain("the first 100 of 260 opens and clicks");
    expect(text.match(/<strong>email\.(opened|clicked)<\/strong>/g)).toHaveLength(100);
    for (const type of ["email.sent", "email.delivered", "email.bounced"])
      expect(text).toContain(`<strong>${type}</strong>`);
  });
});
