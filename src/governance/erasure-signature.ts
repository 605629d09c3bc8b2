import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { configError } from '../errors.js';
import type { Lake } from '../lake/table/lake.js';
import { LocalStore } from '../storage/local-store.js';

/**
 * Ed25519 signatures for erasure receipts. The key is `gdpr.signingKeyPath` (a PEM private key
 * kept outside the lake, e.g. from a secret manager) or, when unset, one generated once per lake at
 * {@link LAKE_SIGNING_KEY} — convenient, but whoever can write the lake can then sign receipts too:
 * such a receipt proves integrity, not who issued it. Receipts carry the public key (PEM) so anyone
 * can check them with node:crypto, openssl or any Ed25519 library.
 */

export const LAKE_SIGNING_KEY = '_shopstream/secrets/gdpr-signing.key';

export interface ReceiptSignature {
  readonly algorithm: 'Ed25519';
  /** SPKI PEM of the signing key's public half. */
  readonly publicKey: string;
  /** Base64 signature over {@link signedBytes} of the receipt without its `signature`. */
  readonly value: string;
}

/** The bytes signed: the receipt's JSON (without `signature`) as the writer serialized it. */
export function signedBytes(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** The signing key: from `keyPath` (PEM) or the lake's own, created (0600 on a local lake) if missing. */
export async function resolveSigningKey(lake: Lake, keyPath: string | undefined): Promise<KeyObject> {
  let pem: string;
  if (keyPath) {
    try {
      pem = await readFile(keyPath, 'utf8');
    } catch (error) {
      throw configError('GDPR_SIGNING_KEY', `cannot read the receipt signing key ${keyPath}`, {
        cause: error,
      });
    }
  } else {
    if (!(await lake.store.head(LAKE_SIGNING_KEY))) {
      const { privateKey } = generateKeyPairSync('ed25519');
      await lake.store.putIfAbsent(
        LAKE_SIGNING_KEY,
        privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      );
      await restrictLocalKey(lake);
    }
    pem = new TextDecoder().decode(await lake.store.get(LAKE_SIGNING_KEY));
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw configError(
      'GDPR_SIGNING_KEY',
      `the receipt signing key ${keyPath ?? LAKE_SIGNING_KEY} is not a PEM private key`,
      {
        cause: error,
      },
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw configError(
      'GDPR_SIGNING_KEY',
      `the receipt signing key ${keyPath ?? LAKE_SIGNING_KEY} is ${key.asymmetricKeyType}, not Ed25519`,
      { suggestions: ['openssl genpkey -algorithm ed25519 -out gdpr-signing.pem'] },
    );
  }
  return key;
}

async function restrictLocalKey(lake: Lake): Promise<void> {
  if (lake.store instanceof LocalStore) await chmod(path.join(lake.store.rootDir, LAKE_SIGNING_KEY), 0o600);
}

/** The receipt with its signature. */
export function signReceipt<T extends object>(body: T, key: KeyObject): T & { signature: ReceiptSignature } {
  return {
    ...body,
    signature: {
      algorithm: 'Ed25519',
      publicKey: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
      value: sign(null, signedBytes(body), key).toString('base64'),
    },
  };
}

/**
 * True when `receipt.signature` is a valid Ed25519 signature of the rest of the receipt, by
 * `publicKey` (PEM) when given, else by the key the receipt names (integrity only).
 */
export function verifyReceipt(
  receipt: { readonly signature?: ReceiptSignature },
  publicKey?: string,
): boolean {
  const { signature, ...body } = receipt;
  if (!signature) return false;
  if (signature.algorithm !== 'Ed25519') return false;
  try {
    const key = createPublicKey(publicKey ?? signature.publicKey);
    return verify(null, signedBytes(body), key, Buffer.from(signature.value, 'base64'));
  } catch {
    return false;
  }
}
