/** Telegram update → InboundMessage: who is addressed, topics, commands, attachments. */
import { describe, expect, it } from 'vitest';
import type { Update } from 'telegraf/types';
import { isBotCommand, moderationCandidate, normalizeUpdate, type BotIdentity } from '../../adapters/telegram/index.js';
import { editJobId } from '../../src/domain/inbound-message.js';
import { entitiesOf } from '../fakes/telegram.js';

const me: BotIdentity = { id: 99, username: 'sb_bot' };
const ann = { id: 1, is_bot: false, first_name: 'Ann', last_name: 'Lee' };
const privateChat = { id: 1, type: 'private', first_name: 'Ann' };
const supergroup = { id: -100500, type: 'supergroup', title: 'Team', is_forum: true };

function update(message: Record<string, unknown>): Update {
  const text = typeof message['text'] === 'string' ? message['text'] : undefined;
  const entities = text === undefined ? [] : entitiesOf(text);
  return {
    update_id: 1,
    message: { message_id: 10, date: 1_700_000_000, from: ann, chat: supergroup, ...(entities.length ? { entities } : {}), ...message },
  } as unknown as Update;
}

describe('normalizeUpdate', () => {
  it('answers every private message', () => {
    const result = normalizeUpdate(update({ chat: privateChat, text: 'hi' }), me);
    expect(result).toEqual({
      message: {
        chat: { platform: 'telegram', id: '1', kind: 'dm' },
        author: { id: '1', displayName: 'Ann Lee', isBot: false },
        messageId: '10',
        text: 'hi',
        attachments: [],
        addressed: true,
        receivedAt: 1_700_000_000_000,
      },
    });
  });

  it('in groups, answers mentions, replies to the bot and commands only', () => {
    expect(normalizeUpdate(update({ text: 'just talk' }), me)).toEqual({ skip: 'not-addressed' });
    expect(normalizeUpdate(update({ text: 'mail @sb_botany' }), me)).toEqual({ skip: 'not-addressed' });
    const mention = normalizeUpdate(update({ text: '@SB_bot, what now?' }), me);
    expect(mention).toMatchObject({ message: { text: 'what now?', chat: { kind: 'group', id: '-100500' } } });
    const reply = normalizeUpdate(update({ text: 'and?', reply_to_message: { message_id: 5, date: 1, chat: supergroup, from: { id: 99, is_bot: true, first_name: 'SB' }, text: 'x' } }), me);
    expect(reply).toMatchObject({ message: { replyTo: { messageId: '5', authorIsBot: true } } });
    const replyToSomeoneElse = normalizeUpdate(update({ text: 'and?', reply_to_message: { message_id: 5, date: 1, chat: supergroup, from: ann, text: 'x' } }), me);
    expect(replyToSomeoneElse).toEqual({ skip: 'not-addressed' });
    expect(normalizeUpdate(update({ text: '/reset' }), me)).toMatchObject({ message: { command: { name: 'reset', args: '' } } });
    // A bare command the bot does not have is another bot's business in a group, not in a DM.
    expect(normalizeUpdate(update({ text: '/weather' }), me)).toEqual({ skip: 'not-addressed' });
    expect(normalizeUpdate(update({ text: '/weather@sb_bot' }), me)).toMatchObject({ message: { command: { name: 'weather' } } });
    expect(normalizeUpdate(update({ chat: privateChat, text: '/weather' }), me)).toMatchObject({ message: { command: { name: 'weather' } } });
  });

  it('carries the files of the message replied to, so /translate and /vary work on them', () => {
    const voiceNote = { message_id: 5, date: 1, chat: supergroup, from: ann, voice: { file_id: 'v1', file_unique_id: 'u1', duration: 2, mime_type: 'audio/ogg', file_size: 900 } };
    const translate = normalizeUpdate(update({ text: '/translate', reply_to_message: voiceNote }), me);
    expect(translate).toMatchObject({
      message: {
        command: { name: 'translate', args: '' },
        attachments: [],
        replyTo: { messageId: '5', authorIsBot: false, attachments: [{ kind: 'voice', fileRef: 'v1', mimeType: 'audio/ogg', sizeBytes: 900 }] },
      },
    });
    const photo = { message_id: 6, date: 1, chat: supergroup, from: ann, photo: [{ file_id: 's', file_unique_id: 's', width: 90, height: 90 }, { file_id: 'l', file_unique_id: 'l', width: 900, height: 900, file_size: 5000 }] };
    expect(normalizeUpdate(update({ text: '/vary', reply_to_message: photo }), me)).toMatchObject({
      message: { command: { name: 'vary' }, replyTo: { attachments: [{ kind: 'image', fileRef: 'l', sizeBytes: 5000 }] } },
    });
    // A plain reply keeps no attachments field at all.
    const plain = normalizeUpdate(update({ chat: privateChat, text: 'hm', reply_to_message: { message_id: 4, date: 1, chat: privateChat, from: ann, text: 'x' } }), me);
    expect(plain).toMatchObject({ message: { replyTo: { messageId: '4' } } });
    expect((plain as { message: { replyTo: object } }).message.replyTo).not.toHaveProperty('attachments');
  });

  it('carries the author, text and quote of the message replied to, for a chat answer to read (issue #18)', () => {
    const original = { message_id: 7, date: 1, chat: supergroup, from: { id: 5, is_bot: false, first_name: 'Bo' }, text: 'meet at noon in room 4B' };
    const quoted = normalizeUpdate(update({ text: '@sb_bot where?', reply_to_message: original, quote: { text: 'room 4B', position: 16, is_manual: true } }), me);
    expect((quoted as { message: { replyTo: object } }).message.replyTo).toEqual({ messageId: '7', authorIsBot: false, authorName: 'Bo', text: 'meet at noon in room 4B', quote: 'room 4B' });
    // A caption is its text; a channel posting as itself is its author.
    const post = { message_id: 8, date: 1, chat: supergroup, sender_chat: { id: -100900, type: 'channel', title: 'News' }, caption: 'launch day', photo: [{ file_id: 'p', file_unique_id: 'p', width: 9, height: 9 }] };
    expect(normalizeUpdate(update({ text: '@sb_bot thoughts?', reply_to_message: post }), me)).toMatchObject({
      message: { replyTo: { messageId: '8', authorName: 'News', text: 'launch day', attachments: [{ kind: 'image', fileRef: 'p' }] } },
    });
  });

  it('ignores commands for another bot entirely, and takes its own', () => {
    expect(normalizeUpdate(update({ text: '/reset@otherbot' }), me)).toEqual({ skip: 'other-bot-command' });
    expect(normalizeUpdate(update({ chat: privateChat, text: '/reset@otherbot' }), me)).toEqual({ skip: 'other-bot-command' });
    expect(normalizeUpdate(update({ text: '/image@sb_bot a red fox' }), me)).toMatchObject({ message: { command: { name: 'image', args: 'a red fox' } } });
  });

  it('gives a forum topic its thread id, and does not take the topic header for a reply', () => {
    const topicHeader = { message_id: 7, date: 1, chat: supergroup, from: ann, forum_topic_created: { name: 'T', icon_color: 1 } };
    const result = normalizeUpdate(update({ text: '@sb_bot hi', message_thread_id: 7, is_topic_message: true, reply_to_message: topicHeader }), me);
    expect(result).toMatchObject({ message: { chat: { threadId: '7' } } });
    expect('message' in result && result.message.replyTo).toBeUndefined();
    // A reply thread in a non-forum group is not a topic.
    const plain = normalizeUpdate(update({ text: '@sb_bot hi', message_thread_id: 3 }), me);
    expect('message' in plain && plain.message.chat.threadId).toBeUndefined();
  });

  it('skips what is not a user message', () => {
    expect(normalizeUpdate({ update_id: 1, edited_message: {} } as unknown as Update, me)).toEqual({ skip: 'not-a-message' });
    expect(normalizeUpdate(update({ from: { id: 5, is_bot: true, first_name: 'Other' }, text: '@sb_bot hi' }), me)).toEqual({ skip: 'from-a-bot' });
    expect(normalizeUpdate(update({ chat: privateChat, new_chat_title: 'x' }), me)).toEqual({ skip: 'service-message' });
  });

  it('carries voice notes and photos as attachments, with the caption as text', () => {
    const voice = normalizeUpdate(update({ chat: privateChat, voice: { file_id: 'v1', file_unique_id: 'u', duration: 3, mime_type: 'audio/ogg', file_size: 900 } }), me);
    expect(voice).toMatchObject({ message: { text: '', attachments: [{ kind: 'voice', fileRef: 'v1', durationSeconds: 3, mimeType: 'audio/ogg', sizeBytes: 900 }] } });
    const photo = normalizeUpdate(update({ chat: privateChat, caption: 'look', photo: [{ file_id: 'small', file_unique_id: 'a', width: 1, height: 1 }, { file_id: 'big', file_unique_id: 'b', width: 9, height: 9 }] }), me);
    expect(photo).toMatchObject({ message: { text: 'look', attachments: [{ kind: 'image', fileRef: 'big' }] } });
  });

  it('takes a video note as a voice note in MP4, an audio document as audio, and an image document as an image', () => {
    const note = normalizeUpdate(update({ chat: privateChat, video_note: { file_id: 'n1', file_unique_id: 'u', length: 240, duration: 4, file_size: 5000 } }), me);
    expect(note).toMatchObject({
      message: { attachments: [{ kind: 'voice', fileRef: 'n1', mimeType: 'video/mp4', fileName: 'video_note.mp4', durationSeconds: 4, sizeBytes: 5000 }] },
    });
    const audio = normalizeUpdate(update({ chat: privateChat, audio: { file_id: 'a1', file_unique_id: 'u', duration: 60, mime_type: 'audio/mpeg', file_name: 'talk.mp3' } }), me);
    expect(audio).toMatchObject({ message: { attachments: [{ kind: 'audio', fileRef: 'a1', mimeType: 'audio/mpeg', fileName: 'talk.mp3' }] } });
    const asFile = normalizeUpdate(update({ chat: privateChat, document: { file_id: 'd1', file_unique_id: 'u', mime_type: 'audio/x-m4a', file_name: 'memo.m4a' } }), me);
    expect(asFile).toMatchObject({ message: { attachments: [{ kind: 'audio', fileName: 'memo.m4a' }] } });
    const picture = normalizeUpdate(update({ chat: privateChat, document: { file_id: 'd2', file_unique_id: 'u', mime_type: 'image/png', file_name: 'chart.png' } }), me);
    expect(picture).toMatchObject({ message: { attachments: [{ kind: 'image', mimeType: 'image/png', fileName: 'chart.png' }] } });
  });

  it('in groups, takes media addressed by a caption mention or a reply to the bot, not otherwise', () => {
    const photo = { photo: [{ file_id: 'p', file_unique_id: 'u', width: 1, height: 1 }] };
    const caption = '@sb_bot what is this?';
    const mentioned = normalizeUpdate(update({ ...photo, caption, caption_entities: entitiesOf(caption) }), me);
    expect(mentioned).toMatchObject({ message: { text: 'what is this?', addressed: true, attachments: [{ kind: 'image', fileRef: 'p' }] } });
    expect(normalizeUpdate(update({ ...photo, caption: 'our holiday' }), me)).toEqual({ skip: 'not-addressed' });
    const botMessage = { message_id: 5, date: 1, chat: supergroup, from: { id: 99, is_bot: true, first_name: 'SB' }, text: 'x' };
    const voiceReply = normalizeUpdate(update({ voice: { file_id: 'v', file_unique_id: 'u', duration: 2 }, reply_to_message: botMessage }), me);
    expect(voiceReply).toMatchObject({ message: { addressed: true, attachments: [{ kind: 'voice' }] } });
  });

  it('keeps a group’s unaddressed voice note, as not addressed, only when every voice note is transcribed', () => {
    const voice = { voice: { file_id: 'v', file_unique_id: 'u', duration: 2, mime_type: 'audio/ogg' } };
    expect(normalizeUpdate(update(voice), me)).toEqual({ skip: 'not-addressed' });
    expect(normalizeUpdate(update(voice), me, { transcribeAllVoice: false })).toEqual({ skip: 'not-addressed' });
    const kept = normalizeUpdate(update(voice), me, { transcribeAllVoice: true });
    expect(kept).toMatchObject({ message: { addressed: false, chat: { kind: 'group' }, attachments: [{ kind: 'voice', fileRef: 'v' }] } });
    const roundVideo = normalizeUpdate(update({ video_note: { file_id: 'n', file_unique_id: 'u', length: 1, duration: 1 } }), me, { transcribeAllVoice: true });
    expect(roundVideo).toMatchObject({ message: { addressed: false } });
    // Other media and plain text stay unaddressed and skipped.
    const options = { transcribeAllVoice: true };
    expect(normalizeUpdate(update({ audio: { file_id: 'a', file_unique_id: 'u', duration: 60 } }), me, options)).toEqual({ skip: 'not-addressed' });
    expect(normalizeUpdate(update({ photo: [{ file_id: 'p', file_unique_id: 'u', width: 1, height: 1 }] }), me, options)).toEqual({ skip: 'not-addressed' });
    expect(normalizeUpdate(update({ text: 'just talk' }), me, options)).toEqual({ skip: 'not-addressed' });
  });

  it('in a moderated group, keeps every message with text or a caption, unaddressed ones as not addressed', () => {
    const moderated = { moderated: true };
    expect(normalizeUpdate(update({ text: 'just talk' }), me, moderated)).toMatchObject({ message: { text: 'just talk', addressed: false, chat: { kind: 'group' } } });
    const photo = { photo: [{ file_id: 'p', file_unique_id: 'u', width: 1, height: 1 }] };
    expect(normalizeUpdate(update({ ...photo, caption: 'our holiday' }), me, moderated)).toMatchObject({ message: { text: 'our holiday', addressed: false } });
    // Another bot's command is checked too, as plain text nobody answers.
    const other = normalizeUpdate(update({ text: '/reset@otherbot now' }), me, moderated);
    expect(other).toMatchObject({ message: { text: '/reset@otherbot now', addressed: false } });
    expect(other).not.toHaveProperty('message.command');
    // What is addressed stays addressed.
    expect(normalizeUpdate(update({ text: '@sb_bot hi' }), me, moderated)).toMatchObject({ message: { text: 'hi', addressed: true } });
    expect(normalizeUpdate(update({ text: '/moderation off' }), me, moderated)).toMatchObject({ message: { addressed: true, command: { name: 'moderation', args: 'off' } } });
    // Nothing to read, or not a person: still skipped.
    expect(normalizeUpdate(update(photo), me, moderated)).toEqual({ skip: 'not-addressed' });
    expect(normalizeUpdate(update({ from: { id: 5, is_bot: true, first_name: 'Other' }, text: 'spam' }), me, moderated)).toEqual({ skip: 'from-a-bot' });
    // Moderation is for groups: a private chat is as always.
    expect(normalizeUpdate(update({ chat: privateChat, text: '/reset@otherbot' }), me, moderated)).toEqual({ skip: 'other-bot-command' });
  });

  it('takes an edit only in a moderated group, never as addressed, with its edit date', () => {
    const edited = (message: Record<string, unknown>): Update =>
      ({ update_id: 2, edited_message: { message_id: 10, date: 1_700_000_000, edit_date: 1_700_000_060, from: ann, chat: supergroup, ...message } }) as unknown as Update;
    expect(normalizeUpdate(edited({ text: 'changed' }), me)).toEqual({ skip: 'not-a-message' });
    const result = normalizeUpdate(edited({ text: '@sb_bot changed', entities: entitiesOf('@sb_bot changed') }), me, { moderated: true });
    expect(result).toMatchObject({ editDate: 1_700_000_060, message: { messageId: '10', addressed: false } });
    expect(normalizeUpdate(edited({ text: '/reset' }), me, { moderated: true })).not.toHaveProperty('message.command');
    expect(normalizeUpdate(edited({ chat: privateChat, text: 'changed' }), me, { moderated: true })).toEqual({ skip: 'not-addressed' });
    // A new message is not an edit.
    expect(normalizeUpdate(update({ text: 'new' }), me, { moderated: true })).not.toHaveProperty('editDate');
  });

  it('gives each edit a job id of its own that BullMQ accepts (two colons at most)', () => {
    const id = editJobId('telegram:-1001234:10', 77);
    expect(id).toBe('telegram:-1001234:10-e77');
    expect(id.split(':')).toHaveLength(3);
    expect(editJobId('telegram:-1001234:10', 78)).not.toBe(id);
  });

  it('names the chat of updates moderation may want: group messages and edits from people, with text', () => {
    expect(moderationCandidate(update({ text: 'hi' }))).toBe('-100500');
    expect(moderationCandidate({ update_id: 3, edited_message: { message_id: 1, date: 1, edit_date: 2, from: ann, chat: supergroup, text: 'x' } } as unknown as Update)).toBe('-100500');
    expect(moderationCandidate(update({ chat: privateChat, text: 'hi' }))).toBeUndefined();
    expect(moderationCandidate(update({ from: { id: 5, is_bot: true, first_name: 'B' }, text: 'hi' }))).toBeUndefined();
    expect(moderationCandidate(update({ voice: { file_id: 'v', file_unique_id: 'u', duration: 2 } }))).toBeUndefined();
    expect(moderationCandidate({ update_id: 4, callback_query: {} } as unknown as Update)).toBeUndefined();
  });

  it('knows the admin commands as the bot’s own, so a bare /moderation in a group is for it', () => {
    for (const name of ['moderation', 'persona', 'model', 'scope', 'settings', 'image', 'reset', 'translate', 'vary']) expect(isBotCommand(name)).toBe(true);
    expect(isBotCommand('weather')).toBe(false);
    expect(normalizeUpdate(update({ text: '/moderation status' }), me)).toMatchObject({ message: { addressed: true, command: { name: 'moderation', args: 'status' } } });
  });
});
