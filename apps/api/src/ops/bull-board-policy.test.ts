import type { BullBoardRequest } from "@bull-board/api/typings/app";
import { describe, expect, it } from "vitest";
import { BULL_BOARD_API_ROUTES, bullBoardHooks, matchRoute, resolveRoute } from "./bull-board-policy.ts";

describe("matchRoute: a path under one of Bull Board's route patterns", () => {
  it.each([
    ["/api/queues/:queueName/add", "/api/queues/inbox/add", { queueName: "inbox" }],
    ["/api/queues/:queueName/add", "/API/Queues/inbox/ADD/", { queueName: "inbox" }],
    ["/api/queues/:queueName/add", "/api/queues/%69nbox/add", { queueName: "inbox" }],
    ["/api/queues/:queueName/add", "/api/queues//add", undefined],
    ["/api/queues/:queueName/add", "/api/queues/inbox/add/x", undefined],
    ["/api/queues/:queueName/add", "/api/queues/%E0%A4%A/add", undefined],
  ])("input: %s against %s → %j", (pattern, path, expected) => {
    expect(matchRoute(pattern, path)).toEqual(expected);
  });

  it("input: PUT /api/queues/unmatched/retry/failed → the retry-all route, as express routes it (registered before :jobId/retry)", () => {
    expect(resolveRoute("PUT", "/api/queues/unmatched/retry/failed")).toEqual({
      route: { method: "put", route: "/api/queues/:queueName/retry/:queueStatus" },
      params: { queueName: "unmatched", queueStatus: "failed" },
    });
  });

  it("reads Bull Board's own route table: add, update-data, empty and obliterate are in it", () => {
    const routes = BULL_BOARD_API_ROUTES.map(({ method, route }) => `${method} ${route}`);
    expect(routes).toEqual(
      expect.arrayContaining([
        "post /api/queues/:queueName/add",
        "patch /api/queues/:queueName/:jobId/update-data",
        "put /api/queues/:queueName/empty",
        "put /api/queues/:queueName/obliterate",
      ]),
    );
  });
});

describe("bullBoardHooks.before: the second lock, inside Bull Board", () => {
  const request = (params: Record<string, string>) => ({ params }) as unknown as BullBoardRequest;

  it("input: post add on inbox, patch update-data on unmatched, put empty → refused with 403", async () => {
    for (const [method, route, params] of [
      ["post", "/api/queues/:queueName/add", { queueName: "inbox" }],
      ["patch", "/api/queues/:queueName/:jobId/update-data", { queueName: "unmatched", jobId: "x" }],
      ["put", "/api/queues/:queueName/empty", { queueName: "unmatched" }],
      ["put", "/api/queues/:queueName/retry/:queueStatus", { queueName: "inbox", queueStatus: "completed" }],
    ] as const) {
      expect(await bullBoardHooks.before?.({ method, route, request: request(params) })).toEqual({
        allow: false,
        status: 403,
        message: "not allowed from mailstate's Bull Board",
      });
    }
  });

  it("input: a read, a retry of failed inbox jobs, a promote on unmatched → let through", async () => {
    for (const [method, route, params] of [
      ["get", "/api/queues", {}],
      ["put", "/api/queues/:queueName/retry/:queueStatus", { queueName: "inbox", queueStatus: "failed" }],
      ["put", "/api/queues/:queueName/:jobId/promote", { queueName: "unmatched", jobId: "x" }],
    ] as const) {
      expect(await bullBoardHooks.before?.({ method, route, request: request(params) })).toBeUndefined();
    }
  });
});
