/**
 * Downloads of files the Bot API has prepared with getFile: the file is at
 * `<api root>/file/bot<token>/<file_path>` (https://core.telegram.org/bots/api#getfile).
 * That URL holds the bot token, so it is built here and nowhere else, fetched through the
 * guarded Downloader, and no error that leaves this module carries it (or the file URL).
 */
import { FileFetchError, FileTooLargeError, type FileContent } from '../../src/domain/media.js';
import type { Downloader, FetchFileOptions } from '../../src/ports/index.js';
import { scrubToken } from './telegram.api.js';

/** Downloads prepared files. */
export interface TelegramFiles {
  /** The file at `filePath` (getFile's `file_path`). Rejects with FileTooLargeError or FileFetchError only. */
  download(filePath: string, options: FetchFileOptions): Promise<FileContent>;
}

export interface TelegramFilesOptions {
  readonly token: string;
  /** The same root the Bot API calls use (TELEGRAM_API_ROOT). */
  readonly apiRoot: string;
  /** Allowed to reach the API root's host (src/platforms/telegram.ts builds it so). */
  readonly downloader: Downloader;
}

/** Creates the file downloader of one bot. */
export function createTelegramFiles(options: TelegramFilesOptions): TelegramFiles {
  return {
    async download(filePath, { maxBytes, signal }) {
      const path = filePath.split('/').map(encodeURIComponent).join('/');
      // Resolved like telegraf resolves method URLs, so a root with a path behaves the same.
      const url = new URL(`./file/bot${options.token}/${path}`, options.apiRoot).href;
      try {
        return await options.downloader.download(url, { maxBytes, ...(signal === undefined ? {} : { signal }) });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof FileTooLargeError) throw error;
        // The downloader names only the host; scrub anyway, and keep no cause that might quote the URL.
        if (error instanceof FileFetchError) throw new FileFetchError(clean(error.message, url, options.token), error.retryable);
        const message = error instanceof Error ? error.message : String(error);
        throw new FileFetchError(`Telegram file download failed: ${clean(message, url, options.token)}`, true);
      }
    },
  };
}

/** The text without the file URL or, anywhere else in it, the token. */
function clean(text: string, url: string, token: string): string {
  return scrubToken(text.split(url).join('[file URL]'), token);
}
