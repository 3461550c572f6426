// GET /emails as the real `resend` package pages it: newest first, `limit` 1–100, the `after` cursor
// down the list and the `before` cursor back up it, `has_more`; a bad limit or cursor is Resend's
// 422 validation_error, never the list from the top again.
import { Resend } from "resend";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createResendStandin, type ResendStandin } from "./index.ts";

let standin: ResendStandin;
let resend: Resend;
/** The ids of the history, newest first: email 0 is the newest. */
let ids: string[];

beforeEach(async () => {
  standin = await createResendStandin();
  resend = new Resend("re_test", { baseUrl: standin.url });
  const newest = Date.now() - 60_000;
  // Added oldest first, so the list's order is the creation times', not the order of adding.
  ids = Array.from({ length: 7 }, (_, index) =>
    standin.addHistory({ to: `user${6 - index}@example.com`, createdAt: new Date(newest - (6 - index) * 60_000) }),
  )
    .map((email) => email.id)
    .reverse();
});
afterEach(async () => {
  await standin.close();
});

const pageOf = (answer: Awaited<ReturnType<Resend["emails"]["list"]>>) => ({
  ids: answer.data?.data.map((email) => email.id),
  hasMore: answer.data?.has_more,
  error: answer.error,
});

describe("GET /emails pagination", () => {
  it("input: 7 emails, limit 3 → pages [0,1,2] more, after 2 → [3,4,5] more, after 5 → [6] done; without limit, 20 → all 7, done", async () => {
    expect(pageOf(await resend.emails.list({ limit: 3 }))).toEqual({
      ids: ids.slice(0, 3),
      hasMore: true,
      error: null,
    });
    expect(pageOf(await resend.emails.list({ limit: 3, after: ids[2] as string }))).toEqual({
      ids: ids.slice(3, 6),
      hasMore: true,
      error: null,
    });
    expect(pageOf(await resend.emails.list({ limit: 3, after: ids[5] as string }))).toEqual({
      ids: ids.slice(6),
      hasMore: false,
      error: null,
    });
    expect(pageOf(await resend.emails.list())).toEqual({ ids, hasMore: false, error: null });
  });

  it("input: before the last page's first email, then before that page's first → the pages back up the list; has_more while newer emails remain", async () => {
    expect(pageOf(await resend.emails.list({ limit: 3, before: ids[6] as string }))).toEqual({
      ids: ids.slice(3, 6),
      hasMore: true,
      error: null,
    });
    expect(pageOf(await resend.emails.list({ limit: 3, before: ids[3] as string }))).toEqual({
      ids: ids.slice(0, 3),
      hasMore: false,
      error: null,
    });
    // Fewer than `limit` newer than the cursor: those, and nothing more.
    expect(pageOf(await resend.emails.list({ limit: 3, before: ids[2] as string }))).toEqual({
      ids: ids.slice(0, 2),
      hasMore: false,
      error: null,
    });
    expect(pageOf(await resend.emails.list({ limit: 3, before: ids[0] as string }))).toEqual({
      ids: [],
      hasMore: false,
      error: null,
    });
  });

  it("input: an email listed each page, both ways, with a limit of 1 → the same 7 emails down the list and back up", async () => {
    const down: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { data } = await resend.emails.list({ limit: 1, ...(after ? { after } : {}) });
      down.push(...(data?.data.map((email) => email.id) ?? []));
      after = data?.data.at(-1)?.id;
      if (!data?.has_more) break;
    }
    expect(down).toEqual(ids);
    const up: string[] = [];
    let before = ids[6] as string;
    for (;;) {
      const { data } = await resend.emails.list({ limit: 1, before });
      up.unshift(...(data?.data.map((email) => email.id) ?? []));
      before = data?.data[0]?.id ?? before;
      if (!data?.has_more) break;
    }
    expect(up).toEqual(ids.slice(0, 6));
  });

  it("input: limit 0, 101, 2.5 or abc; an after or before id that is no email of the list; both at once → 422 validation_error in Resend's shape, naming the parameter", async () => {
    const get = async (query: string) => {
      const answer = await fetch(`${standin.url}/emails?${query}`, { headers: { authorization: "Bearer re_test" } });
      return {
        status: answer.status,
        body: (await answer.json()) as { statusCode: number; name: string; message: string },
      };
    };
    for (const limit of ["0", "101", "2.5", "abc"]) {
      expect(await get(`limit=${limit}`)).toEqual({
        status: 422,
        body: {
          statusCode: 422,
          name: "validation_error",
          message: "The `limit` parameter must be between 1 and 100.",
        },
      });
    }
    for (const cursor of ["after", "before"]) {
      const unknown = await get(`limit=3&${cursor}=re_nobody`);
      expect(unknown.status).toBe(422);
      expect(unknown.body).toMatchObject({ statusCode: 422, name: "validation_error" });
      expect(unknown.body.message).toContain(`\`${cursor}\` parameter must be the id of an item of this list`);
    }
    const both = await get(`after=${ids[1]}&before=${ids[4]}`);
    expect(both).toMatchObject({ status: 422, body: { statusCode: 422, name: "validation_error" } });
    expect(both.body.message).toContain("either the `after` or the `before` parameter");
    // Through the SDK, as a caller sees it.
    const viaSdk = await resend.emails.list({ after: "re_nobody" });
    expect(viaSdk.error).toMatchObject({ statusCode: 422, name: "validation_error" });
  });
});
