#!/usr/bin/env bash
# The runtime image's /app, from a built checkout (`pnpm build` first): `pnpm deploy --prod` of the API,
# the worker (with the ops CLI) and @mailstate/db (the Prisma CLI, for migrations), laid out as in the
# repository, so the commands are the same everywhere:
#   node apps/api/dist/main.js · node apps/worker/dist/main.js · node apps/worker/dist/cli.js <command>
#   node packages/db/scripts/prisma.mjs migrate deploy
# --legacy: pnpm 10's default deploy needs inject-workspace-packages=true, which would copy workspace
# packages into node_modules for development too; the apps inline them at build time instead.
set -euo pipefail
out=${1:?usage: scripts/deploy-runtime.sh <empty output directory>}
cd "$(dirname "$0")/.."
for dist in apps/api/dist/main.js apps/worker/dist/main.js apps/worker/dist/cli.js; do
  [ -f "$dist" ] || { echo "deploy-runtime: $dist is missing: run pnpm build first" >&2; exit 1; }
done
mkdir -p "$out/apps" "$out/packages"
pnpm --filter @mailstate/api --prod deploy --legacy "$out/apps/api"
pnpm --filter @mailstate/worker --prod deploy --legacy "$out/apps/worker"
pnpm --filter @mailstate/db --prod deploy --legacy "$out/packages/db"
# What the migration needs beside the Prisma CLI: the schema and the migrations (prisma.config.ts
# finds them two directories up, as in the repository). The TypeScript sources stay behind.
cp -r prisma "$out/prisma"
rm -rf "$out/packages/db/src" "$out/packages/db/generated"
# TypeScript is an optional peer of valibot (under Bull Board) and of prisma, filled in from the
# workspace root; nothing loads it at run time (the tests run the API and the migration from here).
find "$out" -type l -path '*/node_modules/typescript' -delete
find "$out" -depth -type d -path '*/node_modules/.pnpm/typescript@*' -prune -exec rm -rf {} +
