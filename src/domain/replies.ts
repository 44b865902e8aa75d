/**
 * What the bot says when it is not answering with the model: command replies and
 * failure notices. Plain words, one sentence where possible, no internals (no status
 * bodies, no ids, never a secret). Kept in one place so every platform says the same.
 */
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { formatBytes } from './media.js';
import { describeCategory } from './moderation.js';

/** The failure notice a user sees for each error code (docs/architecture.md lists them too). */
export const FAILURE_NOTICES: Readonly<Record<ErrorCode, string>> = {
  [ERROR_CODES.UPSTREAM_RATE_LIMITED]: 'The AI service is rate limiting me right now. Please try again in a minute.',
  [ERROR_CODES.UPSTREAM_UNAVAILABLE]: 'The AI service is having trouble right now. Please try again shortly.',
  [ERROR_CODES.UPSTREAM_REFUSED]: 'The AI service refused this request. Try rephrasing it, or /reset if the conversation has grown too long.',
  [ERROR_CODES.UPSTREAM_TIMEOUT]: 'The AI service took too long to answer. Please try again.',
  [ERROR_CODES.UPSTREAM_NETWORK]: "I couldn't reach the AI service. Please try again shortly.",
  [ERROR_CODES.STREAM_INTERRUPTED]: 'The answer was cut off because the connection to the AI service broke. Please ask again.',
  [ERROR_CODES.INTERNAL]: 'Something went wrong on my side while answering. Please try again.',
};

/** Appended to a partly streamed answer that could not be finished. */
export function interruptedSuffix(code: ErrorCode): string {
  return `\n\n⚠️ ${FAILURE_NOTICES[code]}`;
}

export const REPLIES = {
  historyCleared: 'Done: I have forgotten this conversation. Start afresh whenever you like.',
  emptyMessage: 'I got an empty message. Send me some text and I will answer.',
  unsupportedFile: 'I can read text, voice notes, audio files, photos and text files (.txt, .md, .csv, .json or code), but not that kind of file.',
  /** A file with a text file's name whose bytes are not text (issue #18). */
  unreadableTextFile: (name: string) => `I couldn't read ${name} as text: it doesn't look like a UTF-8 text file.`,
  /** Above the answer's reasoning file, under SHOW_REASONING=file (issue #18). */
  reasoningCaption: 'How the model reasoned before answering (not part of the conversation).',
  redoNothing: 'There is nothing to answer again yet: send me a message first.',
  cutAtLength: '\n\n(The answer reached its length limit and stops here. Ask me to continue.)',
  emptyAnswer: 'The model returned an empty answer. Try rephrasing your message.',
  imageOff: 'Image generation is turned off on this bot.',
  imageUsage: 'Tell me what to draw, for example: /image a lighthouse at dawn, in watercolour',
  imageRefused: "The image service refused that prompt under its content policy. Try describing something else.",
  imageQuota: (limit: number, resetsAt: number, now: number) =>
    `You have used all ${limit} of today's images. You can ask for more in ${formatWait(resetsAt - now)} (at midnight UTC).`,
  /** Shown quoted above the answer to a voice note. */
  transcript: (text: string) => `🎙️ “${quote(text)}”`,
  /** A voice note's English translation, quoted like a transcript (issue #14). */
  translation: (text: string) => `🌐 “${quote(text)}”`,
  translateUsage: 'Send /translate as a reply to a voice note or an audio file, or as its caption, and I will translate what is said into English.',
  emptyTranslation: "I couldn't hear any words to translate in that audio. Try recording it again, a little closer to the microphone.",
  varyUsage: 'Send /vary as a reply to a photo, or as its caption, and I will draw variations of it.',
  editUsage: 'Tell me how to change the picture, for example: /image make it a watercolour',
  pictureRefused: 'The image service refused to change that picture under its content policy. Try another picture or prompt.',
  pictureNotTaken: "The image service can't work with that picture. Try another one, such as a PNG or JPEG photo.",
  pictureModelUnsupported: (model: string, mode: 'edit' | 'vary') =>
    `The image model this bot uses (${model}) can't ${mode === 'edit' ? 'edit pictures' : 'draw variations of a picture'}.`,
  inputRefused: (category: string) =>
    `Sorry, I can't respond to that: the safety check flagged it as ${describeCategory(category)}. Please rephrase it.`,
  imagePromptRefused: (category: string) =>
    `Sorry, I can't draw that: the safety check flagged the prompt as ${describeCategory(category)}. Try describing something else.`,
  answerWithheld: "I wrote an answer, but the safety check flagged it, so I've withheld it. Try asking in a different way.",
  moderationWarning: (name: string, categories: readonly string[]) =>
    `⚠️ ${name}, your message was flagged by the moderation check (${categories.map(describeCategory).join(', ')}). Please keep to this channel's rules.`,
  moderationStatus: (on: boolean, source: 'channel' | 'config', action: string) =>
    on
      ? `Moderation is on in this channel (${source === 'channel' ? 'set here with /moderation' : 'from the bot configuration'}): flagged messages get: ${action}.`
      : `Moderation is off in this channel (${source === 'channel' ? 'set here with /moderation' : 'from the bot configuration'}).`,
  moderationSwitched: (on: boolean) =>
    on ? 'Moderation is now on in this channel: I will check every message.' : 'Moderation is now off in this channel.',
  moderationUsage: 'Use /moderation on, /moderation off, or /moderation status.',
  moderationNotAllowed: 'Only people who can manage messages in this channel can change moderation.',
  moderationNotInDm: 'Moderation works in group chats and server channels, not in private chats.',
  notAllowed: 'Sorry, this bot is private: it only answers the people and chats its owner allowed.',
  tooFast: (perMinute: number, waitMs: number) =>
    `You're sending me messages faster than I can take (${perMinute} a minute). You can ask again in ${formatWait(waitMs)}.`,
  channelTooFast: (perMinute: number, waitMs: number) =>
    `This channel is sending me more than ${perMinute} requests a minute. Please try again in ${formatWait(waitMs)}.`,
  outOfTokens: (budget: number, resetsAt: number, now: number) =>
    `You've used today's budget of ${budget.toLocaleString('en')} tokens. You can ask again in ${formatWait(resetsAt - now)} (at midnight UTC).`,
  channelOutOfTokens: (budget: number, resetsAt: number, now: number) =>
    `This channel has used today's budget of ${budget.toLocaleString('en')} tokens. It resets in ${formatWait(resetsAt - now)} (at midnight UTC).`,
  settingsNotAllowed: 'Only people who can manage this channel can change its settings.',
  personaSet: 'Done: I will follow this persona in this channel from now on. /persona reset goes back to the default.',
  personaReset: 'Done: this channel uses the default persona again.',
  personaUsage: 'Use /persona set <how I should behave>, or /persona reset.',
  personaTooLong: (max: number) => `That persona is too long: keep it under ${max} characters.`,
  personaShow: (persona: string | undefined) =>
    persona === undefined ? 'This channel uses the default persona. Change it with /persona set <text>.' : `This channel's persona:\n${persona}`,
  modelSet: (model: string) => `Done: this channel now uses the model ${model}.`,
  modelShow: (model: string, isDefault: boolean) =>
    `This channel uses the model ${model}${isDefault ? ' (the default)' : ''}. Change it with /model <id>, or /model default.`,
  modelUnknown: (model: string, available: readonly string[]) =>
    `The AI service has no model called ${model}.${available.length > 0 ? ` Some it offers: ${available.slice(0, 15).join(', ')}.` : ''}`,
  modelDefault: (model: string) => `Done: this channel uses the default model (${model}) again.`,
  scopeSet: (scope: 'channel' | 'user') =>
    scope === 'user'
      ? 'Done: from now on I keep a separate conversation with each person in this channel.'
      : 'Done: from now on everyone in this channel shares one conversation with me.',
  scopeUsage: 'Use /scope channel (one shared conversation) or /scope user (one per person).',
  reasoningSet: (effort: string, takes: boolean) =>
    `Done: reasoning models in this channel now think with effort ${effort}.${takes ? '' : " The current model doesn't take a reasoning effort, so it applies once you choose a reasoning model."}`,
  reasoningDefault: (effort: string | undefined) =>
    `Done: this channel uses the default reasoning effort again (${effort ?? "the model's own"}).`,
  reasoningUsage: (efforts: readonly string[]) => `Use /settings reasoning <effort>, one of ${efforts.join(', ')}; or /settings reasoning default.`,
  settings: (s: {
    persona: string | undefined;
    model: string;
    modelIsDefault: boolean;
    scope: 'channel' | 'user';
    moderation?: boolean;
    reasoning: { effort: string | undefined; isDefault: boolean; takes: boolean };
  }) =>
    [
      'Settings of this channel:',
      `• Persona: ${s.persona === undefined ? 'default' : s.persona.length > 200 ? `${s.persona.slice(0, 200)}…` : s.persona}`,
      `• Model: ${s.model}${s.modelIsDefault ? ' (default)' : ''}`,
      `• History: ${s.scope === 'user' ? 'one conversation per person' : 'one shared conversation'}`,
      `• Reasoning effort: ${s.reasoning.effort ?? "the model's own"}${s.reasoning.isDefault ? ' (default)' : ''}${s.reasoning.takes ? '' : ` (${s.model} doesn't take one)`}`,
      ...(s.moderation === undefined ? [] : [`• Moderation: ${s.moderation ? 'on' : 'off'}`]),
      'Change them with /persona, /model, /scope and /settings reasoning <effort> (if you can manage this channel).',
    ].join('\n'),
  emptyTranscript: "I couldn't hear any words in that voice note. Try recording it again, a little closer to the microphone.",
  unreadableAudio: "I couldn't understand that audio: the file seems damaged or in a format I can't read. Try recording it again.",
  unsupportedAudio: "I can't read that audio format. Send a voice note, or an MP3, M4A, OGG, WAV, FLAC or WebM file.",
  fileTooLarge: (what: string, size: number | undefined, max: number) =>
    size === undefined
      ? `That ${what} is too large for me: the limit is ${formatBytes(max)}.`
      : `That ${what} is ${formatBytes(size)}, more than the ${formatBytes(max)} I can take.`,
  fileUnavailable: (what: string) => `I couldn't download that ${what} from the chat service. Please send it again.`,
  noVision: "The current model can't see images, so I can only read the text of your message.",
  unsupportedImage: "I can't read that kind of image. Send a PNG, JPEG, WebP or GIF.",
  unknownCommand: (name: string) => `I don't know the command /${name}. Send /help to see what I can do.`,
  help: (botName: string) =>
    [
      `Hi, I'm ${botName}. Talk to me in plain words and I will answer, remembering this conversation.`,
      '',
      'Commands:',
      '/help: this message',
      '/reset: forget this conversation and start afresh',
      '/redo: answer my last message again, replacing that answer',
      '/image <prompt>: make a picture (in reply to a photo: change that photo)',
      '/vary: in reply to a photo, draw variations of it',
      '/translate: in reply to a voice note, translate it into English',
      '/settings: this channel\'s persona, model and history scope (/persona, /model, /scope change them)',
      '',
      'You can also send me voice notes (I answer what you say), photos (I describe or discuss them) and text files (.txt, .md, .csv, .json or code).',
      'Reply to any message, or quote part of it, and I read it along with your question.',
    ].join('\n'),
} as const;

/** Longest transcript (or translation) shown above an answer; the whole text goes to the model. */
const TRANSCRIPT_QUOTE_CHARS = 600;

function quote(text: string): string {
  return text.length > TRANSCRIPT_QUOTE_CHARS ? `${text.slice(0, TRANSCRIPT_QUOTE_CHARS).trimEnd()}…` : text;
}

/** "3 h 20 min", "12 min", "under a minute". */
export function formatWait(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.ceil(ms / 1000))} s`;
  const minutes = Math.ceil(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
