/**
 * The multipart bodies of the translation and picture endpoints. Each is built anew for
 * every attempt of a request (a FormData is consumed by sending it).
 * See https://platform.openai.com/docs/api-reference/audio/createTranslation,
 * https://platform.openai.com/docs/api-reference/images/createEdit and
 * https://platform.openai.com/docs/api-reference/images/createVariation
 */
import { FormData } from 'undici';
import type { ImageEditParams, ImageUpload, ImageVariationParams, TranslationParams } from './api-types.js';

/** `POST /audio/translations`: the audio under its extension-bearing name, and the model. */
export function translationForm(params: TranslationParams): FormData {
  const form = new FormData();
  form.append('file', blobOf(params.file, params.mimeType), params.filename);
  form.append('model', params.model);
  if (params.prompt !== undefined) form.append('prompt', params.prompt);
  if (params.responseFormat !== undefined) form.append('response_format', params.responseFormat);
  return form;
}

/** `POST /images/edits`: one picture (`image`), the prompt and the model. */
export function imageEditForm(params: ImageEditParams): FormData {
  const form = pictureForm(params.image, params.model, params);
  form.append('prompt', params.prompt);
  if (params.size !== undefined) form.append('size', params.size);
  return form;
}

/** `POST /images/variations`: the picture (`image`) and the model. */
export function imageVariationForm(params: ImageVariationParams): FormData {
  const form = pictureForm(params.image, params.model, params);
  if (params.size !== undefined) form.append('size', params.size);
  return form;
}

function pictureForm(image: ImageUpload, model: string, params: { n?: number; responseFormat?: string; user?: string }): FormData {
  const form = new FormData();
  form.append('image', blobOf(image.bytes, image.mimeType), image.filename);
  form.append('model', model);
  if (params.n !== undefined) form.append('n', String(params.n));
  if (params.responseFormat !== undefined) form.append('response_format', params.responseFormat);
  if (params.user !== undefined) form.append('user', params.user);
  return form;
}

/** A copy: Blob wants an ArrayBuffer-backed view, and a Buffer may sit on a shared pool. */
function blobOf(data: Blob | Uint8Array, type: string | undefined): Blob {
  return data instanceof Blob ? data : new Blob([new Uint8Array(data)], type === undefined ? {} : { type });
}
