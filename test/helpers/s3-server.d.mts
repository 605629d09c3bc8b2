export interface TestS3 {
  readonly endpoint: string;
  /** The server without the proxy: it ignores conditional writes. */
  readonly rawEndpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}
export declare const TEST_CREDENTIALS: {
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
};
export declare function startTestS3(bucket?: string): Promise<TestS3>;
