/**
 * One table load as one warehouse transaction, the same on every warehouse: `apply` writes the rows
 * and the control row, then COMMIT; any error rolls back (a failed ROLLBACK is ignored: the error
 * that caused it is the one to report) and is rethrown. So the control table never says a version
 * was loaded unless its rows are there.
 */
export async function inLoadTransaction<T>(
  run: (statement: string) => Promise<unknown>,
  apply: () => Promise<T>,
): Promise<T> {
  await run('BEGIN');
  try {
    const applied = await apply();
    // the crash tests kill the process here: after the writes, before COMMIT
    if (process.env.SHOPSTREAM_FAULT_INJECTION === 'load-before-commit') process.kill(process.pid, 'SIGKILL');
    await run('COMMIT');
    return applied;
  } catch (error) {
    await run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
