/**
 * A small multipart/form-data reader for the fake Bot API (telegraf uploads files and
 * sends some calls this way): fields as strings, files as `UploadedFile`.
 * https://www.rfc-editor.org/rfc/rfc7578
 */

/** A file part of a multipart body. */
export interface UploadedFile {
  readonly fileName: string;
  readonly contentType: string | undefined;
  readonly data: Buffer;
}

/** Parses a multipart body; throws on a malformed one. */
export function parseMultipart(body: Buffer, contentType: string): Record<string, string | UploadedFile> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (marker === undefined) throw new Error('multipart body without a boundary');
  const delimiter = Buffer.from(`--${marker}`);
  const fields: Record<string, string | UploadedFile> = {};
  let at = body.indexOf(delimiter);
  if (at === -1) throw new Error('multipart body without its boundary');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return fields;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd === -1) throw new Error('multipart part without headers');
    const headers = body.subarray(at, headerEnd).toString('utf8');
    const next = body.indexOf(delimiter, headerEnd + 4);
    if (next === -1) throw new Error('multipart body not terminated');
    const data = body.subarray(headerEnd + 4, next - 2); // the CRLF before the delimiter is not content
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    const fileName = /filename="([^"]*)"/i.exec(headers)?.[1];
    if (name === undefined) throw new Error('multipart part without a name');
    fields[name] =
      fileName === undefined
        ? data.toString('utf8')
        : { fileName, contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1], data: Buffer.from(data) };
    at = next;
  }
}
