import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { configError, ShopstreamError, unavailableError } from '../errors.js';
import { DownloadCache } from './download-cache.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';
import { loadS3Sdk, type S3Sdk } from './s3-sdk.js';
import { createStagingDir, defaultCacheRoot, ensurePrivateDir, removeAbandoned } from './staging.js';

export interface S3StoreOptions {
  /** e.g. http://127.0.0.1:9000; default: AWS (or AWS_ENDPOINT_URL_S3). */
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  /** Run even when the server ignores conditional writes (only one writer may run at a time). */
  readonly unsafeSingleWriter?: boolean;
  /**
   * This user's private local folder (0700) for the download cache (`s3/`, keyed by key and ETag)
   * and staged uploads (`staging/`); default `$XDG_CACHE_HOME/shopstream` or `~/.cache/shopstream`.
   */
  readonly cacheDir?: string;
  /** Bound of the download cache in bytes (least recently used files are evicted); default 5 GiB. */
  readonly cacheMaxBytes?: number;
  /** Parallel part uploads and downloads. */
  readonly concurrency?: number;
}

/**
 * ObjectStore on S3 through the AWS SDK: credentials from the standard chain, conditional
 * `PutObject` (`If-None-Match: *`) for commits, multipart uploads, paginated listing, and a local
 * download cache for the files DuckDB reads. A server that ignores the condition is detected by a
 * probe before the first conditional write and refused unless `unsafeSingleWriter`.
 */
export class S3Store implements ObjectStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;
  private loaded: Promise<{ client: S3Client; sdk: S3Sdk }> | undefined;
  private readonly cache: DownloadCache;
  private readonly stagingRoot: string;
  private stagingCleaned: Promise<unknown> | undefined;
  private readonly concurrency: number;
  private conditionalWrites: Promise<void> | undefined;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    uri: string,
    private readonly options: S3StoreOptions = {},
  ) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) throw configError('S3_URI', `not an s3:// URI: ${uri}`);
    this.bucket = match[1]!;
    this.prefix = match[2]!.replace(/\/+$/, '');
    this.uri = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.concurrency = options.concurrency ?? 8;
    const cacheRoot = options.cacheDir ?? defaultCacheRoot();
    this.cache = new DownloadCache(path.join(cacheRoot, 's3'), options.cacheMaxBytes);
    this.stagingRoot = path.join(cacheRoot, 'staging');
  }

  /**
   * The AWS SDK, loaded on first use: a command on a local lake never pays for it (it is most of
   * the CLI's start-up otherwise).
   */
  private sdk(): Promise<{ client: S3Client; sdk: S3Sdk }> {
    const { options } = this;
    this.loaded ??= loadS3Sdk().then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
        // retries with exponential backoff on 5xx, throttling and timeouts
        maxAttempts: 6,
      }),
    }));
    return this.loaded;
  }

  private fullKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private relative(fullKey: string): string {
    return this.prefix ? fullKey.slice(this.prefix.length + 1) : fullKey;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const page of this.listPages(this.fullKey(prefix))) {
      for (const item of page.Contents ?? []) {
        if (!item.Key) continue;
        out.push({
          key: this.relative(item.Key),
          size: item.Size ?? 0,
          lastModified: item.LastModified?.getTime() ?? 0,
        });
      }
    }
    return out;
  }

  async listFolders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    const base = prefix ? this.fullKey(prefix) : this.prefix ? `${this.prefix}/` : '';
    for await (const page of this.listPages(base, '/')) {
      for (const p of page.CommonPrefixes ?? []) {
        if (p.Prefix) folders.push(p.Prefix.slice(base.length).replace(/\/$/, ''));
      }
    }
    return folders;
  }

  /** Every page of a ListObjectsV2 listing (at most 1,000 keys each), following continuation tokens. */
  private async *listPages(
    fullPrefix: string,
    delimiter?: string,
  ): AsyncGenerator<ListObjectsV2CommandOutput> {
    const { client, sdk } = await this.sdk();
    let token: string | undefined;
    do {
      const page = await this.call(() =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: fullPrefix,
            ...(delimiter ? { Delimiter: delimiter } : {}),
            ContinuationToken: token,
          }),
        ),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const { client, sdk } = await this.sdk();
    try {
      const info = await this.call(() =>
        client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
      );
      return { key, size: info.ContentLength ?? 0, lastModified: info.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const { client, sdk } = await this.sdk();
    const response = await this.call(() =>
      client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
    );
    return response.Body!.transformToByteArray();
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const { client, sdk } = await this.sdk();
    if (end <= start) return new Uint8Array();
    const response = await this.call(() =>
      client.send(
        new sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Range: `bytes=${start}-${end - 1}`,
        }),
      ),
    );
    return response.Body!.transformToByteArray();
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const { client, sdk } = await this.sdk();
    await this.call(() =>
      client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: data })),
    );
  }

  async putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean> {
    const { client, sdk } = await this.sdk();
    if (!this.options.unsafeSingleWriter) {
      this.conditionalWrites ??= this.probeConditionalWrites();
      await this.conditionalWrites;
    } else if (await this.head(key)) {
      return false;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: this.bucket,
            Key: this.fullKey(key),
            Body: data,
            IfNoneMatch: '*',
          }),
        );
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status === 412) return false;
        // 409 ConditionalRequestConflict: a concurrent conditional write to the key is in flight
        if (status === 409 && attempt < 5) {
          await sleep(50 * 2 ** attempt);
          if (await this.head(key)) return false;
          continue;
        }
        throw this.wrap(error);
      }
    }
  }

  /** Writes a probe object twice with If-None-Match: the second write must be refused. */
  private async probeConditionalWrites(): Promise<void> {
    const { client, sdk } = await this.sdk();
    const key = this.fullKey(`_shopstream/probe-${randomUUID()}`);
    const put = () =>
      client.send(
        new sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: 'probe', IfNoneMatch: '*' }),
      );
    try {
      await this.call(put);
      let honoured = false;
      try {
        await put();
      } catch (error) {
        if (statusOf(error) === 412) honoured = true;
        else throw this.wrap(error);
      }
      if (!honoured) {
        throw new ShopstreamError(
          'config',
          'S3_NO_CONDITIONAL_WRITES',
          `the S3 server for ${this.uri} ignores conditional writes (If-None-Match), so two writers could both commit the same table version`,
          {
            suggestions: [
              'use a server that honours If-None-Match (AWS S3 does)',
              'or pass --unsafe-single-writer if only one writer ever runs',
            ],
          },
        );
      }
    } finally {
      await client
        .send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
        .catch(() => undefined);
    }
  }

  async putFile(localPath: string, key: string): Promise<void> {
    const { client, sdk } = await this.sdk();
    await this.limit(async () => {
      const upload = new sdk.Upload({
        client: client,
        params: { Bucket: this.bucket, Key: this.fullKey(key), Body: createReadStream(localPath) },
        queueSize: 4,
        partSize: 8 * 1024 * 1024,
        // a failed upload aborts its multipart upload: no parts left behind
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        throw this.wrap(error);
      }
    });
    await unlink(localPath).catch(() => undefined);
  }

  async delete(key: string): Promise<void> {
    const { client, sdk } = await this.sdk();
    await this.call(() =>
      client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
    );
    // a deleted object leaves no copy behind in the download cache (GDPR forget relies on it)
    await this.cache.forget(this.bucket, `${this.cacheDigest(key)}-`);
  }

  /** In this user's private cache folder, never a shared temp folder. */
  async stagingDir(label: string): Promise<string> {
    this.stagingCleaned ??= ensurePrivateDir(path.dirname(this.stagingRoot))
      .then(() => ensurePrivateDir(this.stagingRoot))
      .then(() => removeAbandoned(this.stagingRoot));
    await this.stagingCleaned;
    return createStagingDir(this.stagingRoot, label);
  }

  private cacheDigest(key: string): string {
    return createHash('sha256')
      .update(`${this.bucket}/${this.fullKey(key)}`)
      .digest('hex')
      .slice(0, 32);
  }

  async localPath(key: string): Promise<string> {
    const { client, sdk } = await this.sdk();
    return this.limit(async () => {
      const head = await this.call(() =>
        client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
      );
      const etag = (head.ETag ?? '').replaceAll('"', '');
      const digest = this.cacheDigest(key);
      const ext = path.extname(key);
      const folder = await this.cache.folder(this.bucket);
      const cached = path.join(folder, `${digest}-${etag}${ext}`);
      if (await this.cache.hit(cached)) return cached;
      try {
        const response = await this.call(() =>
          client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })),
        );
        await this.cache.admit(cached, response.Body as Readable);
      } catch (error) {
        throw this.wrap(error);
      }
      return cached;
    });
  }

  private async limit<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.wrap(error);
    }
  }

  private wrap(error: unknown): unknown {
    if (error instanceof ShopstreamError || isNotFound(error)) return error;
    const status = statusOf(error);
    if (status === 403 || status === 401) {
      return configError('S3_ACCESS', `access denied to ${this.uri}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (status === undefined || status >= 500 || status === 429) {
      return unavailableError(
        'S3_UNAVAILABLE',
        `S3 at ${this.uri} did not answer: ${(error as Error).message}`,
        {
          cause: error,
          suggestions: ['check the endpoint and network, then retry'],
        },
      );
    }
    return error;
  }
}

function statusOf(error: unknown): number | undefined {
  // S3ServiceException and the SDK's transport errors carry the HTTP status here
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NotFound' || name === 'NoSuchKey' || statusOf(error) === 404;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
