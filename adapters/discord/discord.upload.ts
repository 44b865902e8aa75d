/**
 * The multipart body of a Discord upload: `payload_json` (the message, whose
 * `attachments[n].id` names part `files[n]`) and the files.
 * https://discord.com/developers/docs/reference#uploading-files
 *
 * Encoded to bytes here instead of handing @discordjs/rest its `files`: that path gives
 * a FormData to the undici copy bundled with @discordjs/rest (6.x), which sends it
 * through whichever undici installed the process's global dispatcher first. In our
 * processes that is the undici 7 our AI client and downloader use, and undici 7 cannot
 * encode another copy's FormData ("action is not a function"). Bytes go through any
 * undici, and a retried request resends the same bytes.
 */

/** One file of an upload. */
export interface UploadFile {
  readonly name: string;
  readonly data: Uint8Array;
  readonly contentType: string;
}

/** A request body and the Content-Type (with its boundary) that goes with it. */
export interface EncodedUpload {
  readonly body: Uint8Array;
  readonly contentType: string;
}

/** Encodes `payload` and `files` as Discord's multipart/form-data; file `i` is part `files[i]`. */
export async function encodeUpload(payload: object, files: readonly UploadFile[]): Promise<EncodedUpload> {
  const form = new FormData();
  form.append('payload_json', JSON.stringify(payload));
  files.forEach((file, index) => form.append(`files[${index}]`, new Blob([new Uint8Array(file.data)], { type: file.contentType }), file.name));
  // The platform's own encoder (RFC 7578, with a fresh boundary), without sending anything.
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type');
  if (contentType === null) throw new Error('multipart encoding produced no Content-Type');
  return { body: new Uint8Array(await encoded.arrayBuffer()), contentType };
}
