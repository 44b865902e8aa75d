/**
 * Turns a picture a user sent into what the picture endpoints take, with sharp (libvips,
 * prebuilt, no install script): the strictest of their rules is dall-e-2's, a square PNG
 * under 4 MB (https://platform.openai.com/docs/api-reference/images/createEdit), and a
 * picture that meets it meets the GPT image models' too (PNG, WebP or JPEG under 50 MB).
 *
 * The picture (JPEG, PNG, WebP, or a GIF's first frame) is turned upright by its EXIF
 * orientation, cropped to a square around the part libvips' attention strategy finds most
 * interesting, scaled down to at most 1024 px (never up), given an alpha channel (dall-e-2
 * refuses RGB for edits) and written as a PNG; a PNG over 4 MB is written again smaller.
 * https://sharp.pixelplumbing.com/api-resize
 */
import type SharpModule from 'sharp';
import type { Sharp } from 'sharp';
import { UnreadablePictureError } from '../../domain/media.js';
import type { ImageUpload } from './api-types.js';

/** dall-e-2's limit on an uploaded picture: "a square png file less than 4MB". */
export const PICTURE_UPLOAD_MAX_BYTES = 4 * 1024 * 1024;
/** Square edges tried, largest first, until the PNG fits the limit; the endpoints draw at most 1024 px. */
const EDGES_PX = [1024, 768, 512, 256] as const;
/** Pictures with more pixels are refused before they are decoded: a small file may unpack into gigabytes. */
const MAX_INPUT_PIXELS = 100_000_000;
/** Best compression: the PNG is made once per request and must stay under the limit. */
const PNG_COMPRESSION_LEVEL = 9;
/** The name the endpoint sees; its extension tells the format. */
const UPLOAD_NAME = 'picture.png';

let sharpLoaded: Promise<typeof SharpModule> | undefined;

/**
 * sharp, loaded on first use: libvips costs a process about 20 MB and 0.1 s, and most
 * worker processes never convert a picture.
 */
export function loadSharp(): Promise<typeof SharpModule> {
  sharpLoaded ??= import('sharp').then(({ default: sharp }) => {
    // Every picture is converted once: libvips' operation cache would only hold memory.
    sharp.cache(false);
    return sharp;
  });
  return sharpLoaded;
}

/** The picture as a square PNG under PICTURE_UPLOAD_MAX_BYTES; UnreadablePictureError when it cannot be decoded. */
export async function toEndpointPicture(bytes: Uint8Array): Promise<ImageUpload> {
  const sharp = await loadSharp();
  const input = (): Sharp => sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' });
  let side: number;
  try {
    const { width, height } = await input().metadata();
    if (width === undefined || height === undefined) throw new Error('no dimensions');
    side = Math.min(width, height);
  } catch (error) {
    throw new UnreadablePictureError(`the picture could not be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const edges = [Math.min(side, EDGES_PX[0]), ...EDGES_PX.filter((edge) => edge < Math.min(side, EDGES_PX[0]))];
  let png = Buffer.alloc(0);
  for (const edge of edges) {
    try {
      png = await input()
        .autoOrient()
        .resize(edge, edge, { fit: 'cover', position: sharp.strategy.attention })
        .ensureAlpha()
        .png({ compressionLevel: PNG_COMPRESSION_LEVEL })
        .toBuffer();
    } catch (error) {
      throw new UnreadablePictureError(`the picture could not be converted: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (png.byteLength <= PICTURE_UPLOAD_MAX_BYTES) break;
  }
  if (png.byteLength === 0 || png.byteLength > PICTURE_UPLOAD_MAX_BYTES) throw new UnreadablePictureError('the picture does not fit the endpoint as a PNG');
  return { bytes: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), filename: UPLOAD_NAME, mimeType: 'image/png' };
}
