/**
 * Files: users' downloads (guarded) and the playground's uploads.
 * One area of src/ports; index.ts re-exports every port.
 */
import type { FileContent } from '../domain/media.js';

/** Options of a file download. */
export interface FetchFileOptions {
  /** Refuse (FileTooLargeError) when the file is larger, before downloading when the size is known. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

/**
 * Fetches a URL from an allowed host only: private, loopback and link-local addresses
 * are refused (after DNS resolution and after each redirect) unless the operator listed
 * that address, and size and time are capped. Every download goes through one.
 */
export interface Downloader {
  /** Rejects with FileTooLargeError or FileFetchError (message without the URL's path or query). */
  download(url: string, options: FetchFileOptions): Promise<FileContent>;
}

/** Files uploaded to the playground, kept in Redis for a while so any worker can read them. */
export interface UploadStore {
  /** Stores a file; returns its id (the playground attachment's `fileRef`). */
  put(file: FileContent): Promise<string>;
  /** The file, or undefined when the id is unknown or expired. */
  get(id: string): Promise<FileContent | undefined>;
  /** The file's type, name and size without its bytes; undefined when unknown or expired. */
  stat(id: string): Promise<{ readonly mimeType?: string; readonly fileName?: string; readonly sizeBytes: number } | undefined>;
}
