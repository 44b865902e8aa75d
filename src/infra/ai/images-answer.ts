/**
 * The pictures of an images endpoint's answer (`ImagesResponse`): `b64_json` decoded, a
 * `url` fetched through the guarded Downloader, each typed by its first bytes.
 * See https://platform.openai.com/docs/api-reference/images/object
 */
import { AiApiError } from '../../domain/errors.js';
import { GENERATED_IMAGE_MAX_BYTES } from '../../domain/media.js';
import type { Downloader, OutgoingImage } from '../../ports/index.js';
import type { GeneratedImage } from './api-types.js';
import { PNG_SIGNATURE } from './png.js';

/** One answer entry as an image; AiApiError (502) when it holds none we can read. */
export async function imageFromAnswer(entry: GeneratedImage | undefined, downloader: Downloader, signal: AbortSignal): Promise<OutgoingImage> {
  let bytes: Uint8Array | undefined;
  if (entry?.b64_json) bytes = new Uint8Array(Buffer.from(entry.b64_json, 'base64'));
  else if (entry?.url) bytes = (await downloader.download(entry.url, { maxBytes: GENERATED_IMAGE_MAX_BYTES, signal })).bytes;
  const image = bytes === undefined ? undefined : imageOf(bytes);
  if (image === undefined) throw new AiApiError('the image endpoint answered without a readable image', 502, undefined, undefined, undefined);
  return image;
}

/** The image with its type, from its first bytes; undefined when it is no image we know. */
export function imageOf(bytes: Uint8Array): OutgoingImage | undefined {
  const head = Buffer.from(bytes.subarray(0, 12));
  if (head.subarray(0, 8).equals(PNG_SIGNATURE)) return { bytes, mimeType: 'image/png', fileName: 'image.png' };
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { bytes, mimeType: 'image/jpeg', fileName: 'image.jpg' };
  if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') return { bytes, mimeType: 'image/webp', fileName: 'image.webp' };
  return undefined;
}
