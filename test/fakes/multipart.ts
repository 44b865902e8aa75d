/**
 * The one multipart/form-data reader of the fakes (OpenAI transcriptions, Telegram
 * uploads, Discord's `files[n]` + `payload_json`), on the platform's own parser
 * (undici's FormData behind `Response.formData()`), so no fake hand-rolls RFC 7578.
 */

/** One part of a multipart body. */
export interface MultipartPart {
  readonly name: string;
  /** Set for file parts. */
  readonly filename?: string;
  readonly contentType?: string;
  readonly data: Buffer;
}

/** Splits a multipart body into its parts. */
export async function parseMultipart(raw: Buffer, contentType: string): Promise<MultipartPart[]> {
  const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  const entries: [string, FormDataEntryValue][] = [];
  form.forEach((value, name) => entries.push([name, value]));
  const parts: MultipartPart[] = [];
  for (const [name, value] of entries) {
    if (typeof value === 'string') {
      parts.push({ name, data: Buffer.from(value, 'utf8') });
    } else {
      parts.push({ name, filename: value.name, contentType: value.type, data: Buffer.from(await value.arrayBuffer()) });
    }
  }
  return parts;
}
