export interface SnowflakeEmulator {
  readonly accessUrl: string;
  readonly account: string;
  readonly user: string;
  readonly password: string;
  /** Every statement received, in order. */
  readonly statements: string[];
  readonly queryTags: string[];
  /** Bytes of request bodies received (as sent) and of files staged by PUT. */
  readonly traffic: { requestBytes: number; stagedBytes: number };
  stop(): Promise<void>;
}
export declare function startSnowflakeEmulator(options?: {
  user?: string;
  password?: string;
  externalStages?: Record<string, { endpoint: string; bucket: string; prefix?: string }>;
}): Promise<SnowflakeEmulator>;
