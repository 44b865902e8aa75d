/**
 * The UploadStore port in Redis: a playground upload is one hash (bytes, type, name)
 * that expires after UPLOAD_TTL_SECONDS, so whichever worker takes the job can read it
 * and nothing piles up.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FileContent } from '../../domain/media.js';
import type { UploadStore } from '../../ports/index.js';
import type { RedisKeys } from '../redis/keys.js';

/** Long enough for a queued job to find its file, short enough not to keep voice notes around. */
export const UPLOAD_TTL_SECONDS = 3600;
const ID_PATTERN = /^[a-f0-9]{32}$/;

export function createRedisUploadStore(options: { readonly redis: Redis; readonly keys: RedisKeys; readonly ttlSeconds?: number }): UploadStore {
  const { redis, keys } = options;
  const ttl = options.ttlSeconds ?? UPLOAD_TTL_SECONDS;
  return {
    async put(file) {
      const id = randomBytes(16).toString('hex');
      const key = keys.upload(id);
      await redis
        .multi()
        .hset(key, { bytes: Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength), mimeType: file.mimeType ?? '', fileName: file.fileName ?? '' })
        .expire(key, ttl)
        .exec();
      return id;
    },
    async stat(id) {
      if (!ID_PATTERN.test(id)) return undefined;
      const key = keys.upload(id);
      const [[, meta], [, size]] = (await redis.multi().hmget(key, 'mimeType', 'fileName').hstrlen(key, 'bytes').exec()) as [
        [unknown, (string | null)[]],
        [unknown, number],
      ];
      if (!size) return undefined;
      const [mimeType, fileName] = meta;
      return { sizeBytes: size, ...(mimeType ? { mimeType } : {}), ...(fileName ? { fileName } : {}) };
    },
    async get(id) {
      if (!ID_PATTERN.test(id)) return undefined;
      const fields = await redis.hgetallBuffer(keys.upload(id));
      const bytes = fields.bytes;
      if (bytes === undefined) return undefined;
      const mimeType = fields.mimeType?.toString() || undefined;
      const fileName = fields.fileName?.toString() || undefined;
      const file: FileContent = { bytes: new Uint8Array(bytes), ...(mimeType ? { mimeType } : {}), ...(fileName ? { fileName } : {}) };
      return file;
    },
  };
}
