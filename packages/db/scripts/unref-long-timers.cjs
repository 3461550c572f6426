// Preloaded into the Prisma CLI: its JS schema engine leaves a 10-60 s timer pending after
// the command has finished, so the process would hang that long. Long timers never keep it alive.
const originalSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = function setTimeoutUnrefLong(handler, delay, ...args) {
  const timer = originalSetTimeout(handler, delay, ...args);
  if (typeof delay === "number" && delay >= 5000 && timer && typeof timer.unref === "function") {
    timer.unref();
  }
  return timer;
};
