// The page's elements, looked up once (module scripts run after the document is parsed).

const $ = (id) => document.getElementById(id);

/** The elements the modules read and change, by role. */
export const els = {
  signIn: $('sign-in'),
  token: $('token'),
  tokenError: $('token-error'),
  layout: $('layout'),
  model: $('model'),
  recent: $('recent'),
  newChannel: $('new-channel'),
  newChannelName: $('new-channel-name'),
  channelTitle: $('channel-title'),
  connection: $('connection'),
  banner: $('demo-banner'),
  messages: $('messages'),
  empty: $('empty'),
  typing: $('typing'),
  typingText: $('typing-text'),
  error: $('error'),
  composer: $('composer'),
  author: $('author'),
  text: $('composer-text'),
  file: $('file'),
  attach: $('attach'),
  record: $('record'),
  recordLabel: $('record-label'),
  recording: $('recording'),
  attachment: $('attachment'),
  attachmentPreview: $('attachment-preview'),
  attachmentName: $('attachment-name'),
  attachmentRemove: $('attachment-remove'),
};

/** The bot's name, as the page was served with it ("Switchboard is typing…"). */
export const BOT_NAME = els.typingText.textContent.replace(/ is typing…$/, '');
