/**
 * Gathering what a question is about before it is answered (issue #18): the photos and
 * text files of the message itself, and the message it replies to, whoever wrote it and
 * whether or not the bot saw it then: its text or caption (or only the part the user
 * quoted), its photos for a model that sees images, its voice note transcribed now, its
 * text files. The words go through domain/question-context.ts (attributed, bounded by the
 * history budget, not repeated when history holds them). A file of the message itself
 * that cannot be read gets a one-sentence reply; anything of the message replied to that
 * cannot be had (once the queue's retries are spent, for a failure that may pass) is only
 * noted, so the answer still comes.
 */
import { historyKeyOf } from '../domain/channel-settings.js';
import type { ChatContentPart } from '../domain/chat.js';
import type { TokenCounter } from '../domain/history-budget.js';
import type { Attachment, InboundMessage, RepliedTo } from '../domain/inbound-message.js';
import type { ChatResult } from '../domain/jobs.js';
import { TRANSCRIPTION_MAX_BYTES, transcriptionFileName, VISION_MIME_TYPES } from '../domain/media.js';
import { carriesWhole, composeQuestion, placeInHistory, type FileText, type HistoryPlace, type ReplyContext } from '../domain/question-context.js';
import { REPLIES } from '../domain/replies.js';
import { fileLabel, isTextFile } from '../domain/text-files.js';
import type { ChannelSettingsStore, HistoryStore, JobContext, Outbox, ReplyTarget, Transcriber } from '../ports/index.js';
import { keepShowing, say, type Question } from './answer.js';
import { fetchImage, readTextFile } from './attachments.js';

/** The most photos of one question the model is shown (the message's and the replied-to message's together). */
const MAX_IMAGES = 4;
/** The most text files of one message that are read. */
const MAX_TEXT_FILES = 4;
/** "typing…" while files are fetched, if that takes longer than this. */
const TYPING_DELAY_MS = 700;
/** A stand-in for the tokenizer when a worker is built without one (tests of other things). */
const roughCount: TokenCounter = (text) => Math.ceil(text.length / 4);

/** What gathering needs. */
export interface QuestionDeps {
  readonly history: HistoryStore;
  readonly channelSettings?: ChannelSettingsStore;
  /** Whether the model takes image inputs (CHAT_VISION). */
  readonly vision?: boolean;
  /** Transcribes a voice note replied to; without one it is noted, not heard. */
  readonly transcriber?: Transcriber;
  /** TEXT_FILE_MAX_BYTES: the largest text file read. */
  readonly textFileMaxBytes: number;
  /** The history budget (HISTORY_MAX_TOKENS) and its tokenizer, which bound the message replied to. */
  readonly historyMaxTokens: number;
  readonly countTokens?: TokenCounter;
}

/** Where the question is asked. */
export interface Asking {
  readonly conversation: string;
  readonly message: InboundMessage;
  readonly outbox: Outbox;
  readonly target: ReplyTarget;
  /** What the user said: the message's text, or a voice note's caption and transcript. */
  readonly said: string;
}

/** The question to answer, or the reply already sent that says why there is none. */
export type Gathered = { readonly question: Question } | { readonly reply: ChatResult };

/** Builds the question of a message with everything it points at. */
export async function gatherQuestion(deps: QuestionDeps, asking: Asking, context: JobContext): Promise<Gathered> {
  const { message, outbox, target } = asking;
  // Only files take a while here; a plain message goes straight on to its answer.
  const busy = message.attachments.length > 0 || message.replyTo !== undefined ? keepShowing(outbox, target, 'typing', () => false, TYPING_DELAY_MS) : undefined;
  try {
    // 1. The message's own photos and text files.
    const own = await ownFiles(deps, asking, context);
    if ('reply' in own) return own;
    const said = asking.said;

    // 2. The message it replies to.
    const reply = message.replyTo && hasContent(message.replyTo) ? await replyContext(deps, asking, MAX_IMAGES - own.images.length, context) : undefined;
    if (said === '' && own.images.length === 0 && own.files.length === 0 && reply === undefined) {
      return { reply: await say(outbox, target, message.attachments.length > 0 ? REPLIES.unsupportedFile : REPLIES.emptyMessage) };
    }

    // 3. The words, then the pictures. History keeps text only: the photos as a mark.
    const words = (mark: string): string =>
      composeQuestion(
        { name: message.author.displayName, said: [said, mark].filter((part) => part !== '').join(' ') },
        { ...(reply ? { reply: reply.context } : {}), files: own.files },
        { historyMaxTokens: deps.historyMaxTokens, count: deps.countTokens ?? roughCount },
      );
    const text = words(own.images.length === 0 ? '' : own.images.length === 1 ? '[photo]' : `[${own.images.length} photos]`);
    const images = [...own.images, ...(reply?.images ?? [])];
    const seen = images.length === 0 ? '' : words('');
    const content: ChatContentPart[] | undefined =
      images.length === 0 ? undefined : [...(seen === '' ? [] : [{ type: 'text' as const, text: seen }]), ...images.map(imagePart)];
    const refs = reply && carriesWhole(reply.context) ? [reply.context.replyTo.messageId] : [];
    return {
      question: {
        conversation: asking.conversation,
        message,
        text,
        ...(content ? { content } : {}),
        ...(refs.length > 0 ? { refs } : {}),
        outbox,
        target,
      },
    };
  } finally {
    busy?.stop();
  }
}

/** The message's own photos (as data: URLs) and text files, or the reply that refuses them. */
async function ownFiles(
  deps: QuestionDeps,
  asking: Asking,
  context: JobContext,
): Promise<{ readonly images: string[]; readonly files: FileText[] } | { readonly reply: ChatResult }> {
  const { message, outbox, target } = asking;
  const refuse = async (text: string, outcome: ChatResult['outcome'] = 'command'): Promise<{ reply: ChatResult }> => ({ reply: await say(outbox, target, text, outcome) });
  const photos = message.attachments.filter((a) => a.kind === 'image').slice(0, MAX_IMAGES);
  const images: string[] = [];
  if (photos.length > 0 && !deps.vision) {
    if (asking.said === '') return refuse(REPLIES.noVision);
    await say(outbox, target, REPLIES.noVision);
  } else if (photos.length > 0) {
    if (photos.some((photo) => photo.mimeType !== undefined && !VISION_MIME_TYPES.has(photo.mimeType))) return refuse(REPLIES.unsupportedImage);
    // Photos go to the model as data: URLs, so the provider never fetches from a platform.
    for (const photo of photos) {
      const fetched = await fetchImage(photo, outbox, context);
      if ('refusal' in fetched) return refuse(fetched.refusal, fetched.outcome);
      images.push(fetched.dataUrl);
    }
  }
  const files: FileText[] = [];
  for (const attachment of message.attachments.filter(isTextFile).slice(0, MAX_TEXT_FILES)) {
    const read = await readTextFile(attachment, deps.textFileMaxBytes, outbox, context);
    if ('refusal' in read) return refuse(read.refusal, read.outcome);
    files.push(read.file);
  }
  return { images, files };
}

function hasContent(replyTo: RepliedTo): boolean {
  return (replyTo.text ?? '').trim() !== '' || replyTo.quote !== undefined || (replyTo.attachments?.length ?? 0) > 0;
}

/** The message replied to, as context; what cannot be had of it is noted. */
async function replyContext(
  deps: QuestionDeps,
  asking: Asking,
  roomForImages: number,
  context: JobContext,
): Promise<{ readonly context: ReplyContext; readonly images: string[] }> {
  const replyTo = asking.message.replyTo!;
  const known = await historyHolds(deps, asking, replyTo, context);
  const attachments = replyTo.quote === undefined ? (replyTo.attachments ?? []) : [];
  const images: string[] = [];
  let unseen = 0;
  for (const photo of attachments.filter((a) => a.kind === 'image')) {
    if (!deps.vision || images.length >= roomForImages || (photo.mimeType !== undefined && !VISION_MIME_TYPES.has(photo.mimeType))) {
      unseen += 1;
      continue;
    }
    const fetched = await fetchImage(photo, asking.outbox, context);
    if ('dataUrl' in fetched) images.push(fetched.dataUrl);
    else unseen += 1;
  }
  const files: FileText[] = [];
  const filesUnread: string[] = [];
  let voice: ReplyContext['voice'];
  // History holds the words of a message it knows (a voice note as its transcript): not fetched again.
  if (known === false) {
    for (const attachment of attachments.filter(isTextFile).slice(0, MAX_TEXT_FILES)) {
      const read = await readTextFile(attachment, deps.textFileMaxBytes, asking.outbox, context);
      if ('file' in read) files.push(read.file);
      else filesUnread.push(fileLabel(attachment));
    }
    const audio = attachments.find((a) => a.kind === 'voice' || a.kind === 'audio');
    if (audio) voice = await transcribe(deps, asking, audio, context);
  }
  return {
    context: { replyTo, inHistory: known, ...(voice === undefined ? {} : { voice }), photosShown: images.length, photosUnseen: unseen, files, filesUnread },
    images,
  };
}

/** Where the conversation's history (the channel's, or the author's under `/scope user`) already holds the message's words, if it does. */
async function historyHolds(deps: QuestionDeps, asking: Asking, replyTo: RepliedTo, context: JobContext): Promise<HistoryPlace | false> {
  try {
    const scope = (await deps.channelSettings?.get(asking.conversation))?.scope;
    return placeInHistory(replyTo, await deps.history.read(historyKeyOf(asking.conversation, scope, asking.message.author.id)));
  } catch (error) {
    // The answer reads history too, and fails there if Redis is gone; here the words just go along.
    context.log.warn({ err: error }, 'could not read history to recognize the message replied to');
    return false;
  }
}

/** A voice note replied to, transcribed now; `unheard` when it cannot be. */
async function transcribe(deps: QuestionDeps, asking: Asking, audio: Attachment, context: JobContext): Promise<ReplyContext['voice']> {
  const fileName = transcriptionFileName(audio);
  if (!deps.transcriber || fileName === undefined) return 'unheard';
  try {
    const maxBytes = Math.min(TRANSCRIPTION_MAX_BYTES, asking.outbox.maxFileBytes);
    const file = await asking.outbox.fetchFile(audio, { maxBytes, signal: context.signal });
    const mimeType = audio.mimeType ?? file.mimeType;
    const endUser = `${asking.message.chat.platform}:${asking.message.author.id}`;
    const transcript = (await deps.transcriber.transcribe({ bytes: file.bytes, fileName, ...(mimeType ? { mimeType } : {}) }, { endUser }, context.signal)).trim();
    return transcript === '' ? 'unheard' : { transcript };
  } catch (error) {
    if (context.signal.aborted) throw error;
    context.log.warn({ err: error }, 'could not transcribe the voice note replied to');
    return 'unheard';
  }
}

function imagePart(url: string): ChatContentPart {
  return { type: 'image_url', image_url: { url } };
}
