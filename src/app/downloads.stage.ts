/**
 * The downloads stage: every guarded downloader the process makes (image answers, platform
 * files) comes from here, so stopping it closes them all.
 */
import { createGuardedDownloader, type GuardedDownloader } from '../infra/net/guarded-download.js';
import type { PlatformContext } from '../platforms/index.js';
import type { Started } from './stages.js';

/** Makes a guarded downloader for these hosts (PlatformContext['downloader']). */
export type DownloaderFor = PlatformContext['downloader'];

/** Starts the downloads stage. */
export function startDownloads(): Started<DownloaderFor> {
  const downloaders: GuardedDownloader[] = [];
  const downloader: DownloaderFor = (hosts) => {
    const created = createGuardedDownloader({ allowed: hosts.allowed, trusted: hosts.trusted ?? [] });
    downloaders.push(created);
    return created;
  };
  return {
    value: downloader,
    async stop() {
      await Promise.all(downloaders.map((d) => d.close()));
    },
  };
}
