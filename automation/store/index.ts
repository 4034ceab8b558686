/**
 * The store: `DATABASE_URL` → PostgreSQL (`pg`), otherwise embedded PGlite (in memory, or in
 * `AUTOMATION_DATA_DIR`). Migrations run on open.
 */
import { openDatabase, type Database, type RetryOptions } from "./db";
import { Store } from "./store";

export * from "./db";
export * from "./migrations";
export * from "./store";

export async function openStore(
  env: NodeJS.ProcessEnv = process.env,
  opts: { onBackgroundError?: (e: Error) => void; retry?: Partial<RetryOptions> } = {},
): Promise<Store> {
  const db: Database = await openDatabase(env, opts);
  const store = new Store(db);
  try {
    await store.init();
  } catch (e) {
    await db.close();
    throw new Error(`the store (${db.description}) cannot be migrated: ${(e as Error).message}`);
  }
  return store;
}
export * from "./runRequests";
