/**
 * What the bot says when it is not answering with the model: command replies and
 * failure notices. Plain words, one sentence where possible, no internals (no status
 * bodies, no ids, never a secret). Kept in one place so every platform says the same.
 */
import { ERROR_CODES, type ErrorCode } from './errors.js';

/** The failure notice a user sees for each error code (README.md lists them too). */
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
  attachmentsNotYet: 'I can only read text for now. Send me your question as a message.',
  cutAtLength: '\n\n(The answer reached its length limit and stops here. Ask me to continue.)',
  emptyAnswer: 'The model returned an empty answer. Try rephrasing your message.',
  imageNotYet: 'Image generation is not available yet on this bot.',
  unknownCommand: (name: string) => `I don't know the command /${name}. Send /help to see what I can do.`,
  help: (botName: string) =>
    [
      `Hi, I'm ${botName}. Talk to me in plain words and I will answer, remembering this conversation.`,
      '',
      'Commands:',
      '/help: this message',
      '/reset: forget this conversation and start afresh',
      '/image <prompt>: make a picture (coming soon)',
    ].join('\n'),
} as const;
