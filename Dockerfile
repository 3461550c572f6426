# One image for every mailstate process: the API, the worker and the one-shot migration.
FROM node:20-bookworm-slim AS base
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
RUN npm install -g pnpm@10.34.8
WORKDIR /app

FROM base AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY patches ./patches
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY packages/db/package.json packages/db/
COPY packages/queue/package.json packages/queue/
COPY packages/resend-events/package.json packages/resend-events/
COPY packages/resend-standin/package.json packages/resend-standin/
COPY packages/runtime/package.json packages/runtime/
COPY packages/sdk/package.json packages/sdk/
COPY packages/state-machine/package.json packages/state-machine/
COPY packages/test-support/package.json packages/test-support/
RUN pnpm install --frozen-lockfile

FROM deps AS app
COPY . .
RUN DATABASE_URL=postgresql://build@localhost/build pnpm db:generate
USER node
ENV NODE_ENV=production
EXPOSE 3000
CMD ["node", "--import", "tsx", "apps/api/src/main.ts"]
