/**
 * Builds real, small PNG files (the demo image model, and the fake image endpoint in tests): signature, IHDR, one IDAT
 * (zlib-deflated scanlines) and IEND, each chunk with its CRC-32.
 * Format: https://www.w3.org/TR/png-3/
 */
import { crc32, deflateSync } from 'node:zlib';

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE: Buffer = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Default edge length of the fake's images, in pixels. */
const DEFAULT_SIZE_PX = 8;
/** IHDR: 8-bit samples, colour type 2 (truecolour RGB), no interlace. */
const BIT_DEPTH = 8;
const COLOUR_TYPE_RGB = 2;
/** Each scanline starts with a filter-type byte; 0 means no filter. */
const FILTER_NONE = 0;

/** An RGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/** A `width`×`height` PNG filled with `colour` (default a mid grey). */
export function createPng(width = DEFAULT_SIZE_PX, height = DEFAULT_SIZE_PX, colour: Rgb = [128, 128, 128]): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`createPng: width and height must be positive integers, got ${width}×${height}`);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(BIT_DEPTH, 8);
  header.writeUInt8(COLOUR_TYPE_RGB, 9);
  // Bytes 10–12: compression 0 (deflate), filter method 0, interlace 0; already zero.
  const rowBytes = 1 + width * 3;
  const raw = Buffer.alloc(rowBytes * height);
  for (let y = 0; y < height; y++) {
    raw[y * rowBytes] = FILTER_NONE;
    for (let x = 0; x < width; x++) raw.set(colour, y * rowBytes + 1 + x * 3);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** length, type, data, CRC over type and data. */
function chunk(type: string, data: Buffer): Buffer {
  const typeBytes = Buffer.from(type, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([typeBytes, data])) >>> 0, 0);
  return Buffer.concat([length, typeBytes, data, crc]);
}
