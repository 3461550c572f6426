# syntax=docker/dockerfile:1
# One image for every mailstate process, compiled and slim: the API, the worker (and the ops CLI), and
# the one-shot migration. Stages: deps (the lockfile's install) → build (pnpm build: Prisma client,
# esbuild bundles) → deploy (pnpm deploy --prod: production dependencies only) → runtime.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS base
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1 TURBO_TELEMETRY_DISABLED=1
RUN npm install -g pnpm@10.34.8
WORKDIR /repo

FROM base AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
COPY patches ./patches
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY packages/db/package.json packages/db/
COPY packages/queue/package.json packages/queue/
COPY packages/resend-api/package.json packages/resend-api/
COPY packages/resend-events/package.json packages/resend-events/
COPY packages/resend-standin/package.json packages/resend-standin/
COPY packages/runtime/package.json packages/runtime/
COPY packages/sdk/package.json packages/sdk/
COPY packages/state-machine/package.json packages/state-machine/
COPY packages/test-support/package.json packages/test-support/
COPY packages/tracing/package.json packages/tracing/
RUN pnpm install --frozen-lockfile

FROM deps AS build
COPY . .
RUN pnpm build

FROM build AS deploy
RUN scripts/deploy-runtime.sh /out

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: signals reach node (SIGTERM drains), and zombies are reaped.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
# V8's young generation at 8 MB a half: at a steady 400 webhooks/s each process's RSS then stays
# under 300 MB instead of growing past 500 MB of garbage not yet collected (pnpm bench:soak).
ENV NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app
# Owned by root, run as node: the process cannot rewrite its own code.
COPY --from=deploy /out /app
# `mailstate <command>` is the ops CLI (pnpm mailstate in the repository).
RUN ln -s /app/apps/worker/dist/cli.js /usr/local/bin/mailstate
USER node
EXPOSE 3000 9464
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "apps/api/dist/main.js"]
