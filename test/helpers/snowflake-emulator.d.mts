export interface SnowflakeEmulator {
  readonly accessUrl: string;
  readonly account: string;
  readonly user: string;
  readonly password: string;
  /** Every statement received, in order. */
  readonly statements: string[];
  readonly queryTags: string[];
  stop(): Promise<void>;
}
export declare function startSnowflakeEmulator(options?: {
  user?: string;
  password?: string;
}): Promise<SnowflakeEmulator>;
