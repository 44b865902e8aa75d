/**
 * The one registry of job kinds: each kind's payload and result. Enqueueing and worker
 * registration are typed from `JobMap`, so a kind's producer and consumer cannot drift.
 */
import type { InboundMessage } from './inbound-message.js';

/** A job's place in its conversation; the turns are kept by src/infra/queue/ordering.ts. */
export interface Ticketed {
  /** The conversation this job belongs to; jobs of one conversation run one at a time, in order. */
  readonly conversation: string;
}

/** Answer a message (or a command such as /reset) in its conversation. */
export interface ChatJob extends Ticketed {
  readonly message: InboundMessage;
}

export interface ChatResult {
  readonly replied: boolean;
  readonly messagesSent: number;
  readonly outcome: 'answered' | 'command' | 'failed' | 'ignored' | 'refused';
}

/** Transcribe a voice note, then answer it (issue #5). */
export interface TranscribeJob extends Ticketed {
  readonly message: InboundMessage;
}

/** Generate an image for a prompt (issue #5). */
export interface ImageJob extends Ticketed {
  readonly message: InboundMessage;
  readonly prompt: string;
}

/** Translate a voice note (or audio file) into English, and answer it with TRANSLATE_THEN_ANSWER (issue #14). */
export interface TranslateJob extends Ticketed {
  readonly message: InboundMessage;
}

/**
 * Redraw a picture the user sent (issue #14): `edit` it as a prompt says
 * (`POST /images/edits`), or draw `vary`iations of it (`POST /images/variations`). The
 * picture is the message's own, or the one of the message it replies to.
 */
export interface PictureJob extends Ticketed {
  readonly message: InboundMessage;
  readonly mode: 'edit' | 'vary';
  /** What to change (edits); empty for variations. */
  readonly prompt: string;
}

/** Check a message in a moderated channel (issue #6). */
export interface ModerateJob extends Ticketed {
  readonly message: InboundMessage;
}

/** Job kind → payload and result. */
export interface JobMap {
  chat: { payload: ChatJob; result: ChatResult };
  transcribe: { payload: TranscribeJob; result: ChatResult };
  image: { payload: ImageJob; result: ChatResult };
  translate: { payload: TranslateJob; result: ChatResult };
  picture: { payload: PictureJob; result: ChatResult };
  moderate: { payload: ModerateJob; result: { flagged: boolean } };
}

export type JobKind = keyof JobMap;
export type JobPayload<K extends JobKind> = JobMap[K]['payload'];
export type JobResult<K extends JobKind> = JobMap[K]['result'];

/** Every job kind, in a stable order. */
export const JOB_KINDS: readonly JobKind[] = ['chat', 'transcribe', 'image', 'moderate', 'translate', 'picture'];
