// Once per test run: a freshly migrated template database that every test file clones. Its name is
// unique to the run, so concurrent runs on one machine never drop each other's template.
import { createMigratedDatabase, dropDatabase } from "@mailstate/test-support";

export default async function setup(): Promise<() => Promise<void>> {
  const template = `mailstate_test_template_${process.pid}`;
  await createMigratedDatabase(template);
  // Test workers are forked after this and inherit it.
  process.env.MAILSTATE_TEST_TEMPLATE = template;
  return () => dropDatabase(template);
}
