/**
 * The web playground: a local page with streaming replies that goes through the same
 * queue, workers and history as Discord and Telegram.
 */
export { createWebAdapter } from './web.adapter.js';
export type { WebAdapter, WebAdapterDeps } from './web.adapter.js';
export { createWebOutbox } from './web.outbox.js';
export type { WebOutboxDeps } from './web.outbox.js';
export { webTopic, decodeWebEvent, encodeWebEvent } from './web.events.js';
export type { WebActivity, WebAttachment, WebEvent, WebMessage } from './web.events.js';
export { WEB_ERROR_CODES } from './web.http.js';
export { isCrossOrigin } from './web.guard.js';
export type { PlaygroundAccess } from './web.guard.js';
export { TOKEN_HOLDER_ID } from './web.messages.js';
export type { WebErrorCode } from './web.http.js';
