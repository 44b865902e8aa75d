/**
 * The fake OpenAI's audio translation, image edit and image variation endpoints (issue
 * #14), answering like the API once a request has passed the spec check in openai.ts:
 * the file rules the spec and the API's guides state, and the API's own 400s for what
 * breaks them.
 * - `POST /audio/translations` (whisper-1 only): the transcription endpoint's extensions;
 *   a file starting "NOT AUDIO" is corrupted.
 * - `POST /images/edits`: the GPT image models take PNG, WebP or JPEG under 50 MB and
 *   always answer base64 (`response_format` is an unknown parameter for them); dall-e-2
 *   takes one square PNG under 4 MB with an alpha channel (RGBA, LA or L: without a mask
 *   its transparent pixels are what it edits) and answers a URL unless asked for base64.
 *   A prompt containing FORBIDDEN is refused by the "safety system".
 * - `POST /images/variations` (dall-e-2 only): one square PNG under 4 MB.
 * A model the endpoint does not take gets 400 on `model`; a picture it cannot take, 400 on
 * `image`. https://platform.openai.com/docs/api-reference/images/createEdit
 * https://platform.openai.com/docs/api-reference/images/createVariation
 * https://platform.openai.com/docs/api-reference/audio/createTranslation
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { createPng, PNG_SIGNATURE, type Rgb } from '../../src/infra/ai/png.js';
import type { MultipartFile } from './openapi-validator.js';

/** Models each endpoint takes, as the spec lists them. */
export const TRANSLATION_MODELS: readonly string[] = ['whisper-1'];
export const EDIT_MODELS: readonly string[] = ['gpt-image-1.5', 'gpt-image-2', 'gpt-image-2-2026-04-21', 'dall-e-2', 'gpt-image-1', 'gpt-image-1-mini', 'chatgpt-image-latest'];
export const VARIATION_MODELS: readonly string[] = ['dall-e-2'];
/** The spec's defaults when `model` is left out. */
const DEFAULT_EDIT_MODEL = 'gpt-image-1.5';
const DEFAULT_VARIATION_MODEL = 'dall-e-2';
/** dall-e-2: "a square png file less than 4MB"; GPT image models: "png, webp, or jpg file less than 50MB". */
const DALL_E_MAX_BYTES = 4 * 1024 * 1024;
const GPT_IMAGE_MAX_BYTES = 50 * 1024 * 1024;
/** PNG colour types with the alpha or grey dall-e-2 edits need: L (0), LA (4), RGBA (6). */
const EDITABLE_COLOUR_TYPES: Readonly<Record<number, string>> = { 0: 'L', 4: 'LA', 6: 'RGBA' };
const COLOUR_TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'L', 2: 'RGB', 3: 'P', 4: 'LA', 6: 'RGBA' };
/** Audio the fake treats as damaged, and prompts its safety system refuses (as in openai.ts). */
const CORRUPT_AUDIO_MARKER = 'NOT AUDIO';
const FORBIDDEN_PROMPT_MARKER = 'FORBIDDEN';
const TRANSLATION_EXTENSIONS = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'ogg', 'wav', 'webm'];

/** One request as a media handler gets it: its multipart fields, and how to answer. */
export interface MediaRequest {
  readonly res: ServerResponse;
  readonly fields: Record<string, unknown>;
  readonly malformed: boolean;
  /** Keeps a PNG for download and returns its URL (a `url` answer). */
  keep(png: Buffer): string;
}

interface ApiError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** A picture as the fake reads it. */
interface PictureInfo {
  readonly format: 'png' | 'jpeg' | 'webp';
  readonly width?: number;
  readonly height?: number;
  /** PNG only. */
  readonly colourType?: number;
}

/** `POST /audio/translations`: the English text of `reply`, in the format asked for. */
export function translation(request: MediaRequest, reply: (file: MultipartFile, fields: Record<string, unknown>) => string): void {
  const { res, fields } = request;
  const model = String(fields['model']);
  if (!TRANSLATION_MODELS.includes(model)) return sendError(res, 400, invalidValue('model', model, TRANSLATION_MODELS));
  const file = fields['file'] as MultipartFile;
  const extension = /\.([^.]+)$/.exec(file.filename)?.[1]?.toLowerCase() ?? '';
  if (!TRANSLATION_EXTENSIONS.includes(extension)) {
    const list = TRANSLATION_EXTENSIONS.map((e) => `'${e}'`).join(', ');
    return sendError(res, 400, { message: `Invalid file format. Supported formats: [${list}]`, type: 'invalid_request_error', param: null, code: null });
  }
  if (file.bytes.subarray(0, CORRUPT_AUDIO_MARKER.length).toString('latin1') === CORRUPT_AUDIO_MARKER) {
    return sendError(res, 400, { message: 'Audio file might be corrupted or unsupported', type: 'invalid_request_error', param: 'file', code: 'invalid_value' });
  }
  const text = reply(file, fields);
  if (request.malformed) return sendRaw(res, 200, 'application/json', `{"text": "${text}`);
  const format = typeof fields['response_format'] === 'string' ? fields['response_format'] : 'json';
  if (format === 'text') return sendRaw(res, 200, 'text/plain; charset=utf-8', `${text}\n`);
  if (format === 'verbose_json') return sendJson(res, 200, { task: 'translate', language: 'english', duration: 1, text, segments: [] });
  sendJson(res, 200, { text });
}

/** `POST /images/edits`: `n` pictures of the prompt's colour. */
export function imageEdit(request: MediaRequest): void {
  const { res, fields } = request;
  const model = typeof fields['model'] === 'string' ? fields['model'] : DEFAULT_EDIT_MODEL;
  if (!EDIT_MODELS.includes(model)) return sendError(res, 400, invalidValue('model', model, EDIT_MODELS));
  const dallE = model.startsWith('dall-e');
  if (!dallE && fields['response_format'] !== undefined) {
    return sendError(res, 400, { message: "Unknown parameter: 'response_format'.", type: 'invalid_request_error', param: 'response_format', code: 'unknown_parameter' });
  }
  // The multipart form names its pictures `image` (or `image[]` for several); the JSON form's `images` is not served here.
  const raw = fields['image'] ?? fields['image[]'];
  const files = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) as unknown[];
  if (files.length === 0) return sendError(res, 400, missing('image'));
  if (!files.every(isFile)) return sendError(res, 400, imageError('Each image must be an uploaded file, not a text field.', 'invalid_type'));
  if (dallE && files.length > 1) return sendError(res, 400, imageError('dall-e-2 takes one image to edit.', 'invalid_image'));
  for (const [index, file] of files.entries()) {
    const refusal = dallE ? dallEPictureProblem(file, { needsAlpha: true }) : gptPictureProblem(file, index);
    if (refusal) return sendError(res, 400, refusal);
  }
  const prompt = String(fields['prompt'] ?? '');
  if (prompt.includes(FORBIDDEN_PROMPT_MARKER)) {
    return sendError(res, 400, {
      message: 'Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com.',
      type: 'image_generation_user_error',
      param: null,
      code: dallE ? 'content_policy_violation' : 'moderation_blocked',
    });
  }
  if (request.malformed) return sendRaw(res, 200, 'application/json', '{"created": 1, "data": [{"b64_json": "iVBOR');
  const count = Number(fields['n'] ?? 1);
  const base64 = !dallE || fields['response_format'] === 'b64_json';
  const pictures = Array.from({ length: count }, (_, index) => createPng(8, 8, colourOf(`${prompt}#${index}`)));
  sendJson(res, 200, { created: nowSeconds(), data: pictures.map((png) => (base64 ? { b64_json: png.toString('base64') } : { url: request.keep(png) })) });
}

/** `POST /images/variations`: `n` pictures, each its own colour. */
export function imageVariation(request: MediaRequest): void {
  const { res, fields } = request;
  const model = typeof fields['model'] === 'string' ? fields['model'] : DEFAULT_VARIATION_MODEL;
  if (!VARIATION_MODELS.includes(model)) return sendError(res, 400, invalidValue('model', model, VARIATION_MODELS));
  const file = fields['image'];
  if (!isFile(file)) return sendError(res, 400, file === undefined ? missing('image') : imageError('The image must be an uploaded file.', 'invalid_type'));
  const refusal = dallEPictureProblem(file, { needsAlpha: false });
  if (refusal) return sendError(res, 400, refusal);
  if (request.malformed) return sendRaw(res, 200, 'application/json', '{"created": 1, "data": [');
  const count = Number(fields['n'] ?? 1);
  const seed = createHash('sha256').update(file.bytes).digest('hex');
  const pictures = Array.from({ length: count }, (_, index) => createPng(8, 8, colourOf(`${seed}#${index}`)));
  const base64 = fields['response_format'] === 'b64_json';
  sendJson(res, 200, { created: nowSeconds(), data: pictures.map((png) => (base64 ? { b64_json: png.toString('base64') } : { url: request.keep(png) })) });
}

/** dall-e-2's rules: one square PNG under 4 MB (with alpha for an edit without a mask). */
function dallEPictureProblem(file: MultipartFile, rules: { needsAlpha: boolean }): ApiError | undefined {
  const info = pictureInfo(file.bytes);
  if (info === undefined) return imageError('Invalid image file or mode for image 1, please check your image file.', 'invalid_image_file');
  if (info.format !== 'png' || file.size >= DALL_E_MAX_BYTES) return imageError('Uploaded image must be a PNG and less than 4 MB.', 'invalid_image_format');
  if (info.width !== info.height) return imageError('Invalid input image - image must be square.', 'invalid_image');
  if (rules.needsAlpha && EDITABLE_COLOUR_TYPES[info.colourType ?? -1] === undefined) {
    const got = COLOUR_TYPE_NAMES[info.colourType ?? -1] ?? 'unknown';
    return imageError(`Invalid input image - format must be in ['RGBA', 'LA', 'L'], got ${got}.`, 'invalid_image_format');
  }
  return undefined;
}

/** The GPT image models' rules: PNG, WebP or JPEG under 50 MB. */
function gptPictureProblem(file: MultipartFile, index: number): ApiError | undefined {
  if (pictureInfo(file.bytes) === undefined) {
    return imageError(`Invalid image file or mode for image ${index + 1}, please check your image file.`, 'invalid_image_file');
  }
  if (file.size >= GPT_IMAGE_MAX_BYTES) return imageError(`Image ${index + 1} is larger than the maximum of 50 MB.`, 'image_too_large');
  return undefined;
}

/** The format (by signature) and, for a PNG, its IHDR; undefined for anything else. */
function pictureInfo(bytes: Buffer): PictureInfo | undefined {
  if (bytes.length >= 26 && bytes.subarray(0, 8).equals(PNG_SIGNATURE) && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return { format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), colourType: bytes[25] ?? -1 };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { format: 'jpeg' };
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return { format: 'webp' };
  return undefined;
}

function isFile(value: unknown): value is MultipartFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as MultipartFile).bytes);
}

function missing(param: string): ApiError {
  return { message: `Missing required parameter: '${param}'.`, type: 'invalid_request_error', param, code: 'missing_required_parameter' };
}

function invalidValue(param: string, value: string, supported: readonly string[]): ApiError {
  return {
    message: `Invalid value: '${value}'. Supported values are: ${supported.map((v) => `'${v}'`).join(', ')}.`,
    type: 'invalid_request_error',
    param,
    code: 'invalid_value',
  };
}

function imageError(message: string, code: string): ApiError {
  return { message, type: 'invalid_request_error', param: 'image', code };
}

function colourOf(seed: string): Rgb {
  const digest = createHash('sha256').update(seed).digest();
  return [digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0];
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function sendError(res: ServerResponse, status: number, error: ApiError): void {
  sendJson(res, status, { error });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendRaw(res, status, 'application/json', JSON.stringify(body));
}

function sendRaw(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
