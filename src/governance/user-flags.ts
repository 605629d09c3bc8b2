/**
 * Where the micro-batch keeps per-user fraud flags (Redis): a GDPR forget deletes the users' flags
 * there through this port. The stream layer implements it; the command that runs the forget wires
 * it in, so governance never opens a connection itself.
 */
export interface UserFlagStore {
  /** Deletes the flags of these users; returns how many existed. */
  deleteUserFlags(userIds: readonly string[]): Promise<number>;
}
