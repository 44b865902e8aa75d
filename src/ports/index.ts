/**
 * Ports: the narrow interfaces workers and adapters depend on. Implementations live in
 * src/infra (Redis, BullMQ, undici) and adapters/<platform> (outboxes); src/main.ts
 * wires them. Tests wire the same implementations against real Redis and protocol fakes.
 */
import type { Attachment, ChatRef, MemberPermissions, Platform } from '../domain/inbound-message.js';
import type { FileContent } from '../domain/media.js';
import type { ModerationScores } from '../domain/moderation.js';
import type { ChannelSettings } from '../domain/channel-settings.js';
import type { ChatRequest, ChatStreamEvent, HistoryEntry } from '../domain/chat.js';
import type { JobKind, JobPayload, JobResult } from '../domain/jobs.js';

export type { Tracer, TraceSpan, TraceValue } from './tracing.js';

/** Structured logger (pino satisfies it). Fields first, message second. */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A chat model that streams its answer. */
export interface ChatModel {
  /** The model name and whether it is the built-in offline demo. */
  readonly info: { readonly model: string; readonly demo: boolean };
  /**
   * Streams one completion. Breaking out of the iteration, or aborting `signal`,
   * aborts the underlying request. Throws the classes in src/domain/errors.ts.
   */
  streamChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
}

/** Per-conversation history, bounded by a token budget and an idle TTL. */
export interface HistoryStore {
  /** Oldest first. Empty when the conversation is new, cleared or expired. */
  read(conversation: string): Promise<HistoryEntry[]>;
  /**
   * Appends entries atomically, then trims the oldest to the token budget. With `once` (a
   * job's id), an append whose id this history took lately is skipped: a job that runs
   * again (its first run was cut off after recording) records its exchange once.
   */
  append(conversation: string, entries: readonly HistoryEntry[], options?: AppendOptions): Promise<void>;
  clear(conversation: string): Promise<void>;
}

/** Options of HistoryStore.append. */
export interface AppendOptions {
  /** A job's id: skipped when this history took an append with this id lately. */
  readonly once?: string;
  /** Removes this many entries from the end first, in the same atomic step (`/redo` replaces the last exchange). */
  readonly replaceLast?: number;
}

/** Where a reply goes: the chat (and thread) of the message, replying to it. */
export interface ReplyTarget {
  readonly chat: ChatRef;
  readonly replyToMessageId?: string;
  /** The message's platform-specific reply handle (InboundMessage.replyHandle), e.g. a Discord interaction. */
  readonly replyHandle?: string;
}

/** A message the bot sent, as the platform identifies it. */
export interface SentMessage {
  readonly id: string;
}

/** What the bot is busy with, shown as the platform's chat action (Telegram) or typing (elsewhere). */
export type ChatActivity = 'typing' | 'record_voice' | 'upload_photo';

/** An image to upload into a chat. */
export interface OutgoingImage {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  /** With an extension matching the type, e.g. `image.png`. */
  readonly fileName: string;
}

/** A file to upload into a chat as a document, e.g. a model's reasoning as text. */
export interface OutgoingFile {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  readonly fileName: string;
}

/** Options of a file download. */
export interface FetchFileOptions {
  /** Refuse (FileTooLargeError) when the file is larger, before downloading when the size is known. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

/**
 * Sends and edits messages on one platform, over its HTTP API (or pub/sub for the
 * playground). Workers use it; it needs no gateway connection.
 */
export interface Outbox {
  readonly platform: Platform;
  /** The platform's limit on one message's text (Discord 2000, Telegram 4096). */
  readonly maxMessageLength: number;
  /** The least time between two edits of messages in one chat. */
  readonly editIntervalMs: number;
  /** `final` is false while a reply is still streaming. */
  send(target: ReplyTarget, text: string, options: { final: boolean }): Promise<SentMessage>;
  edit(target: ReplyTarget, message: SentMessage, text: string, options: { final: boolean }): Promise<void>;
  /** Shows "typing…" (or recording, or uploading a photo) the platform's way; best effort. */
  showTyping(target: ReplyTarget, activity?: ChatActivity): Promise<void>;
  /** The largest file the platform lets a bot download (Telegram: 20 MB). */
  readonly maxFileBytes: number;
  /**
   * Downloads a message's attachment through the platform's own file API (Telegram
   * getFile, Discord's CDN, a playground upload). Rejects with FileTooLargeError before
   * downloading when the file is over `maxBytes` or `maxFileBytes`, and with
   * FileFetchError when it cannot be had. Never puts a token or file URL in an error.
   */
  fetchFile(attachment: Attachment, options: FetchFileOptions): Promise<FileContent>;
  /** Uploads an image into the chat, replying to the target, with an optional caption (cut to the platform's caption limit). */
  sendImage(target: ReplyTarget, image: OutgoingImage, caption?: string): Promise<SentMessage>;
  /**
   * Uploads several images (2 to 10) as one album, replying to the target, the caption
   * under the album (Telegram sendMediaGroup, one Discord message with several files,
   * consecutive pictures in the playground). Resolves with the messages, first first.
   */
  sendImages(target: ReplyTarget, images: readonly OutgoingImage[], caption?: string): Promise<readonly SentMessage[]>;
  /**
   * Uploads a file as a document (Telegram sendDocument, a Discord attachment), replying to
   * the target, with an optional plain-text caption. Absent where the platform shows no files.
   */
  sendFile?(target: ReplyTarget, file: OutgoingFile, caption?: string): Promise<SentMessage>;
  /**
   * Deletes a message (a user's, in community moderation; or one of the bot's). Rejects
   * with PermissionError when the bot lacks the right (Discord 403, Telegram "not enough rights").
   */
  deleteMessage?(chat: ChatRef, messageId: string): Promise<void>;
  /**
   * Keeps a member from posting for `seconds` (Discord member timeout, Telegram
   * restrictChatMember). Rejects with PermissionError when the bot lacks the right.
   */
  timeoutMember?(chat: ChatRef, userId: string, seconds: number): Promise<void>;
  /**
   * What the user may do in the chat (Telegram: getChatMember). Used when the adapter did
   * not already know it at intake (AuthorRef.permissions). In a DM everything is allowed.
   */
  permissionsOf?(chat: ChatRef, userId: string): Promise<MemberPermissions>;
  /** A link to a message, where the platform has them. */
  messageLink?(chat: ChatRef, messageId: string): string | undefined;
  /** Streaming drafts, where the platform has them (Telegram's sendMessageDraft). */
  readonly drafts?: Drafts;
}

/**
 * Streaming drafts: the growing answer shows as an ephemeral draft that the final message
 * replaces, instead of a message sent and then edited again and again.
 * https://core.telegram.org/bots/api#sendmessagedraft
 */
export interface Drafts {
  /** Whether an answer in `chat` streams by drafts (Telegram: private chats, unless a server refused one lately). */
  available(chat: ChatRef): boolean;
  /**
   * Shows `text` as draft `draftId` (one per answer). Resolves true when shown, or skipped
   * to keep the chat's pace (a later draft carries the text); false when the platform
   * refused drafts here, and the answer should be sent and edited instead.
   */
  show(target: ReplyTarget, draftId: number, text: string): Promise<boolean>;
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

/** Speech to text (`POST /audio/transcriptions`). */
export interface Transcriber {
  readonly model: string;
  /** The transcript. Throws the classes in src/domain/errors.ts (a 400 means the audio could not be read). */
  transcribe(file: OutgoingAudio, options: { readonly endUser?: string }, signal: AbortSignal): Promise<string>;
}

/** An audio file for transcription, named with an extension the endpoint accepts. */
export interface OutgoingAudio {
  readonly bytes: Uint8Array;
  readonly fileName: string;
  readonly mimeType?: string;
}

/** Text to image (`POST /images/generations`). */
export interface ImageGenerator {
  readonly model: string;
  /** One image; a `url` answer is fetched (guarded) into bytes. Throws the classes in src/domain/errors.ts. */
  generate(
    request: { readonly prompt: string; readonly endUser?: string },
    signal: AbortSignal,
  ): Promise<{ readonly image: OutgoingImage; readonly revisedPrompt?: string }>;
}

/** Speech in any language to English text (`POST /audio/translations`). */
export interface Translator {
  readonly model: string;
  /** The English text. Throws the classes in src/domain/errors.ts (a 400 means the audio could not be read). */
  translate(file: OutgoingAudio, signal: AbortSignal): Promise<string>;
}

/** A picture the user sent, as downloaded: any type the platform gave. */
export type IncomingPicture = FileContent;

/**
 * Pictures from a picture: `POST /images/edits` (with a prompt) and
 * `POST /images/variations`. The picture is converted to what the endpoint takes first
 * (UnreadablePictureError when it cannot be). Throws the classes in src/domain/errors.ts.
 */
export interface PictureEditor {
  /** The model of edits. */
  readonly editModel: string;
  /** The model of variations. */
  readonly variationModel: string;
  edit(
    request: { readonly picture: IncomingPicture; readonly prompt: string; readonly endUser?: string },
    signal: AbortSignal,
  ): Promise<{ readonly image: OutgoingImage; readonly revisedPrompt?: string }>;
  /** `count` variations (1 to 10). */
  vary(request: { readonly picture: IncomingPicture; readonly count: number; readonly endUser?: string }, signal: AbortSignal): Promise<readonly OutgoingImage[]>;
}

/** Scores text with the moderation endpoint (`POST /moderations`). */
export interface Moderator {
  readonly model: string;
  /** Throws the classes in src/domain/errors.ts. */
  check(text: string, signal: AbortSignal): Promise<ModerationScores>;
}

/**
 * Per-channel moderation switches set with `/moderation on|off` (they override
 * MODERATED_CHANNELS), and "once per period" marks for reports that must not repeat.
 */
export interface ModerationSettings {
  /** `on` / `off` as set in the channel; undefined when nobody set it (config decides). */
  get(channel: string): Promise<'on' | 'off' | undefined>;
  set(channel: string, state: 'on' | 'off'): Promise<void>;
  /** True the first time for `key` within `periodSeconds`, false after (across processes). */
  once(key: string, periodSeconds: number): Promise<boolean>;
}

/** A message a job sent: where, and the platform's id for it. */
export interface LedgerEntry {
  readonly platform: Platform;
  readonly chatId: string;
  readonly messageId: string;
}

/** What each job has sent, by sequence number, so a retried job edits instead of sending again (issue #7). */
export interface ReplyLedger {
  load(jobId: string): Promise<Map<number, LedgerEntry>>;
  record(jobId: string, sequence: number, entry: LedgerEntry): Promise<void>;
}

/** Channel settings (`/persona`, `/model`, `/scope`), by conversation, kept until changed. */
export interface ChannelSettingsStore {
  /** The settings set in the conversation; empty when none. */
  get(conversation: string): Promise<ChannelSettings>;
  /** Sets the given fields; `null` clears one. */
  update(conversation: string, patch: { readonly [K in keyof ChannelSettings]?: ChannelSettings[K] | null }): Promise<void>;
}

/** The models the AI endpoint offers (`GET /models`), for `/model`. */
export interface ModelCatalog {
  /** Model ids, sorted; throws the classes in src/domain/errors.ts. */
  list(signal: AbortSignal): Promise<readonly string[]>;
}

/** Adds up amounts per key per UTC day, across processes (e.g. tokens per user). */
export interface DailyCounter {
  /** Today's total for the key, and when today ends (ms since the epoch). */
  get(key: string): Promise<{ readonly total: number; readonly resetsAt: number }>;
  add(key: string, amount: number): Promise<void>;
}

/** Counts uses per key per UTC day, across processes (e.g. images per user). */
export interface DailyQuota {
  readonly limit: number;
  /** Counts one use if it fits today's limit. `resetsAt`: ms since the epoch of the next UTC midnight. */
  take(key: string): Promise<{ readonly allowed: boolean; readonly used: number; readonly resetsAt: number }>;
  /** Gives back a use that did not happen (the generation failed). */
  giveBack(key: string): Promise<void>;
}

/** Outboxes by platform. */
export type Outboxes = Readonly<Partial<Record<Platform, Outbox>>>;

/** Options for enqueueing one job. */
export interface EnqueueOptions {
  /** Deterministic id from the platform message (src/domain jobIdFor). */
  readonly jobId: string;
}

/** Puts jobs on the queue; what adapters use. */
export interface JobQueue {
  /**
   * Enqueues a job once: a second call with the same job id is a no-op that reports
   * `duplicate: true`. Rejects fast when Redis is unreachable.
   */
  enqueue<K extends JobKind>(
    kind: K,
    payload: JobPayload<K>,
    options: EnqueueOptions,
  ): Promise<{ readonly jobId: string; readonly duplicate: boolean }>;
}

/** What a handler knows about the attempt it runs in; never a BullMQ Job. */
export interface JobContext {
  readonly jobId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /**
   * True when no earlier run of this job can have started: not a retry, not taken over
   * from a stalled worker. Nothing of it can have been sent before. Absent: unknown.
   */
  readonly firstRun?: boolean;
  /** Aborted when the process is shutting down and the grace period is over. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /**
   * False once this process lost the job's lock: another worker may be running it now,
   * and this run must send nothing more. Absent: always true.
   */
  readonly owned?: () => boolean;
}

/** A job kind's handler: a plain function of payload and context. */
export type JobHandler<K extends JobKind> = (payload: JobPayload<K>, context: JobContext) => Promise<JobResult<K>>;

/** Fan-out of small messages between processes (Redis pub/sub). */
export interface PubSub {
  publish(topic: string, message: string): Promise<void>;
  /** Resolves once subscribed; the returned function unsubscribes. */
  subscribe(topic: string, listener: (message: string) => void): Promise<() => Promise<void>>;
}

/** One limit: at most `max` calls per `perMs` under `key`, counted across every process. */
export interface RateLimit {
  readonly key: string;
  readonly max: number;
  readonly perMs: number;
}

/**
 * A rate limiter shared by all processes (Redis), for platform API limits such as
 * Telegram's one message a second per chat and twenty a minute per group.
 */
export interface RateLimiter {
  /**
   * Waits until one more call fits every limit, then counts it against all of them at
   * once. Rejects if `signal` aborts while waiting.
   */
  acquire(limits: readonly RateLimit[], signal?: AbortSignal): Promise<void>;
  /**
   * Counts the call and returns 0 if it fits every limit now; otherwise counts nothing and
   * returns how many ms until it would (for updates that may be skipped, like a streaming edit).
   */
  tryAcquire(limits: readonly RateLimit[]): Promise<number>;
  /**
   * Waits for a place like `acquire`, then makes the platform call, which keeps its place
   * in the window until it has finished: a call let through counts as arriving when it
   * really arrives, however busy the host. Use it for calls to the platform.
   */
  run<T>(limits: readonly RateLimit[], call: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** `run` if the call fits every limit now; otherwise makes no call and says how long until it would. */
  tryRun<T>(limits: readonly RateLimit[], call: () => Promise<T>): Promise<{ readonly ran: true; readonly value: T } | { readonly ran: false; readonly waitMs: number }>;
  /** Holds every call that uses `key` for `ms` (the platform answered 429 with retry_after). */
  pause(key: string, ms: number): Promise<void>;
}

/** Counts failed platform API calls (metrics). `status`: the HTTP status (429: rate limited) or a word such as `network`. */
export interface PlatformMetrics {
  platformError(platform: Platform, status: number | string): void;
}

/** A readiness probe part, e.g. "redis" or "workers". */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

/** One job kind's queue as the operator view shows it: jobs by state, and the workers taking it. */
export interface QueueSnapshot {
  /** Waiting to run (BullMQ's `wait` and `prioritized`). */
  readonly waiting: number;
  readonly active: number;
  /** Waiting for a retry's backoff or for their turn in the conversation. */
  readonly delayed: number;
  /** Failed for good, kept for a week. */
  readonly failed: number;
  /** Kept for an hour. */
  readonly completed: number;
  /** BullMQ workers connected for this kind, across every process. */
  readonly workers: number;
}

/** A job that failed for good. Never the message's text; `reason` is cut short and scrubbed of secrets. */
export interface FailedJobSummary {
  readonly id: string;
  readonly kind: JobKind;
  /** Where the message came from (from the payload), when the payload says. */
  readonly platform?: Platform;
  readonly channel?: string;
  /** The last attempt's error message (BullMQ `failedReason`). */
  readonly reason: string;
  readonly attemptsMade: number;
  /** When it failed for good, ms since the epoch. */
  readonly failedAt: number;
  /** The id of the trace its message's spans are in (issue #16), when it was traced. */
  readonly traceId?: string;
}

/** What the operator view at /admin shows, read from Redis. */
export interface OpsSnapshot {
  /** When it was read, ms since the epoch. */
  readonly takenAt: number;
  readonly queues: Readonly<Record<JobKind, QueueSnapshot>>;
  /** Worker processes connected (each runs one worker per kind). */
  readonly processes: number;
  /** The most recent failures of every kind, newest first. */
  readonly failures: readonly FailedJobSummary[];
}

/** Read-only queries of the queue's state, for operators. Rejects when Redis is unreachable. */
export interface Operations {
  snapshot(): Promise<OpsSnapshot>;
}

/** What a request's `Authorization` header was, against one configured Bearer token. */
export type BearerVerdict = 'ok' | 'missing' | 'wrong';

/**
 * Checks an `Authorization: Bearer <token>` header against one secret, in constant time;
 * the token is only ever read from that header, never from a URL.
 * https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export type BearerCheck = (authorization: string | undefined) => BearerVerdict;
