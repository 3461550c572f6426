// Bull Board over the two queues, on the API's own Queue objects (so the same QUEUE_PREFIX).
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queues } from "@mailstate/queue";
import type { Router } from "express";

export function bullBoardRouter(queues: Pick<Queues, "inbox" | "unmatched">, basePath: string): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: [new BullMQAdapter(queues.inbox), new BullMQAdapter(queues.unmatched)],
    serverAdapter,
    options: { uiConfig: { boardTitle: "mailstate" } },
  });
  return serverAdapter.getRouter() as Router;
}
