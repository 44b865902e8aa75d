/**
 * The Discord adapter's pure parts: the reply handle, the shared rate-limit keys, error
 * mapping that never carries a URL (interaction webhook URLs embed a token), the slash
 * command definitions against Discord's OpenAPI spec (and who may see which), message
 * links, the multipart body of an upload, and the discord.js shard options for
 * DISCORD_SHARDS / DISCORD_SHARD_IDS.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiscordAPIError, Events, HTTPError } from 'discord.js';
import { SLASH_COMMANDS } from '../../adapters/discord/discord.commands.js';
import { DiscordApiError, DiscordNetworkError, toDiscordError } from '../../adapters/discord/discord.errors.js';
import { channelLimit, globalLimit } from '../../adapters/discord/discord.limits.js';
import { messageLinkOf } from '../../adapters/discord/discord.moderation.js';
import { noPings } from '../../adapters/discord/discord.outbox.js';
import { encodeReplyHandle, parseReplyHandle } from '../../adapters/discord/discord.reply-handle.js';
import { registersCommands, shardOptions, whenShardsReady } from '../../adapters/discord/discord.shards.js';
import { encodeUpload } from '../../adapters/discord/discord.upload.js';
import { ConfigError, parseConfig } from '../../src/config.js';
import { validateDiscordRequest } from '../fakes/discord-openapi-validator.js';
import { parseMultipart } from '../fakes/multipart.js';

const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDAx.secret-part.xyz';

describe('discord reply handle', () => {
  it('round-trips, and ignores anything that is not one of ours', () => {
    const handle = { applicationId: '100000000000000001', interactionToken: 'tok-123' };
    expect(parseReplyHandle(encodeReplyHandle(handle))).toEqual(handle);
    expect(parseReplyHandle(undefined)).toBeUndefined();
    expect(parseReplyHandle('not json')).toBeUndefined();
    expect(parseReplyHandle('{"applicationId":1}')).toBeUndefined();
  });
});

describe('discord rate limits', () => {
  it('keys the global limit by a hash of the token, never the token', () => {
    const limit = globalLimit(TOKEN, 50);
    expect(limit).toMatchObject({ max: 50, perMs: 1_000 });
    expect(limit.key).not.toContain(TOKEN);
    expect(limit.key).not.toContain('secret-part');
    expect(globalLimit(TOKEN, 50).key).toBe(limit.key);
    expect(globalLimit(`${TOKEN}2`, 50).key).not.toBe(limit.key);
  });

  it('counts a channel\'s sends and edits apart', () => {
    expect(channelLimit('1', 'send').key).not.toBe(channelLimit('1', 'edit').key);
    expect(channelLimit('1', 'send').key).not.toBe(channelLimit('2', 'send').key);
  });
});

describe('discord errors', () => {
  const url = `https://discord.com/api/v10/webhooks/1/interaction-token-abc/messages/@original`;

  it('says Discord refused, with its status and code, without the URL', () => {
    const raw = new DiscordAPIError({ code: 50035, message: 'Invalid Form Body' }, 50035, 400, 'PATCH', url, { body: undefined, files: undefined });
    const error = toDiscordError(raw, 'PATCH /webhooks/:app/:token/messages/@original');
    expect(error).toBeInstanceOf(DiscordApiError);
    expect(error).toMatchObject({ status: 400, discordCode: 50035, route: 'PATCH /webhooks/:app/:token/messages/@original' });
    expect(JSON.stringify({ ...error, message: error.message, cause: error.cause })).not.toContain('interaction-token-abc');
  });

  it('maps 5xx and network failures to their own classes', () => {
    const server = new HTTPError(502, 'Bad Gateway', 'POST', url, { body: undefined, files: undefined });
    expect(toDiscordError(server, 'POST /x')).toMatchObject({ name: 'DiscordApiError', status: 502 });
    const network = toDiscordError(new TypeError('fetch failed'), 'POST /x');
    expect(network).toBeInstanceOf(DiscordNetworkError);
    expect(network.message).toContain('fetch failed');
  });
});

describe('discord request bodies', () => {
  it('registers slash commands Discord accepts', () => {
    expect(validateDiscordRequest('put', '/applications/{application_id}/guilds/{guild_id}/commands', SLASH_COMMANDS)).toBeUndefined();
    expect(validateDiscordRequest('put', '/applications/{application_id}/commands', SLASH_COMMANDS)).toBeUndefined();
    expect(SLASH_COMMANDS.map((c) => c.name)).toEqual([
      'ask',
      'reset',
      'redo',
      'imagine',
      'moderation',
      'persona',
      'model',
      'scope',
      'settings',
      'vary',
      'translate',
      'Translate',
      'Vary',
    ]);
  });

  it('takes pictures and recordings as attachment options, and offers Translate and Vary on a message', () => {
    const byName = new Map(SLASH_COMMANDS.map((c) => [c.name, c as { type?: number; description?: string; options?: unknown }]));
    // Option type 11 is ATTACHMENT; command type 3 is a message context-menu command, which has no description.
    expect(byName.get('imagine')?.options).toMatchObject([{ name: 'prompt', required: true }, { name: 'image', type: 11, required: false }]);
    expect(byName.get('vary')?.options).toMatchObject([{ name: 'image', type: 11, required: true }]);
    expect(byName.get('translate')?.options).toMatchObject([{ name: 'audio', type: 11, required: true }]);
    for (const name of ['Translate', 'Vary']) {
      expect(byName.get(name)).toMatchObject({ type: 3 });
      expect(byName.get(name)?.description).toBeUndefined();
      expect(byName.get(name)?.options).toBeUndefined();
    }
  });

  it('hides the channel settings from members who may not change them', () => {
    const byName = new Map(SLASH_COMMANDS.map((c) => [c.name, c as { options?: unknown; contexts?: unknown; default_member_permissions?: number | null }]));
    // Manage Messages (1 << 13) for moderation; Manage Channels (1 << 4) for the rest.
    expect(byName.get('moderation')?.default_member_permissions).toBe(8192);
    for (const name of ['persona', 'model', 'scope']) expect(byName.get(name)?.default_member_permissions).toBe(16);
    for (const name of ['ask', 'reset', 'imagine', 'settings']) expect(byName.get(name)?.default_member_permissions).toBeUndefined();
    // Moderation is a server thing; the others work in DMs too.
    expect(byName.get('moderation')?.contexts).toEqual([0]);
    expect(byName.get('moderation')?.options).toMatchObject([{ name: 'mode', choices: [{ value: 'on' }, { value: 'off' }, { value: 'status' }] }]);
    expect(byName.get('scope')?.options).toMatchObject([{ name: 'mode', required: true, choices: [{ value: 'channel' }, { value: 'user' }] }]);
    expect(byName.get('persona')?.options).toMatchObject([
      { name: 'set', type: 1, options: [{ name: 'text', required: true }] },
      { name: 'reset', type: 1 },
    ]);
  });

  it('the validator catches a malformed body (so the fake\'s check can fail)', () => {
    expect(validateDiscordRequest('post', '/channels/{channel_id}/messages', { content: 5, allowed_mentions: { parse: ['nobody'] } })).toMatch(
      /content/,
    );
  });

  it('allows no mention to ping', () => {
    expect(noPings()).toEqual({ parse: [], replied_user: false });
  });
});

describe('discord message links', () => {
  it('links a server message with its guild, a thread message with the thread, a DM with @me', () => {
    const chat = { platform: 'discord' as const, id: '2', kind: 'group' as const, guildId: '1' };
    expect(messageLinkOf(chat, '9')).toBe('https://discord.com/channels/1/2/9');
    expect(messageLinkOf({ ...chat, threadId: '3' }, '9')).toBe('https://discord.com/channels/1/3/9');
    expect(messageLinkOf({ platform: 'discord', id: '4', kind: 'dm' }, '9')).toBe('https://discord.com/channels/@me/4/9');
    // A server channel whose guild is unknown has no link rather than a wrong one.
    expect(messageLinkOf({ platform: 'discord', id: '2', kind: 'group' }, '9')).toBeUndefined();
  });
});

describe('discord config', () => {
  it('reads DISCORD_GUILD_IDS as a list of guild ids, and refuses anything else by name', () => {
    const config = parseConfig({ DISCORD_BOT_TOKEN: TOKEN, DISCORD_GUILD_IDS: ' 300000000000000001, 300000000000000002 ' });
    expect(config.discord?.guildIds).toEqual(['300000000000000001', '300000000000000002']);
    expect(parseConfig({ DISCORD_BOT_TOKEN: TOKEN }).discord?.guildIds).toEqual([]);
    expect(() => parseConfig({ DISCORD_BOT_TOKEN: TOKEN, DISCORD_GUILD_IDS: 'general' })).toThrow(ConfigError);
    expect(() => parseConfig({ DISCORD_BOT_TOKEN: TOKEN, DISCORD_GUILD_IDS: 'general' })).toThrow(/DISCORD_GUILD_IDS/);
  });
});

describe('discord uploads', () => {
  it('encodes payload_json and files[0] as multipart/form-data Discord reads', async () => {
    const payload = { content: 'a fox', attachments: [{ id: '0', filename: 'image.png' }], allowed_mentions: noPings() };
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    const upload = await encodeUpload(payload, [{ name: 'image.png', data: bytes, contentType: 'image/png' }]);
    expect(upload.contentType).toMatch(/^multipart\/form-data; boundary=/);
    const parts = await parseMultipart(Buffer.from(upload.body), upload.contentType);
    expect(parts.map((p) => [p.name, p.filename, p.contentType])).toEqual([
      ['payload_json', undefined, undefined],
      ['files[0]', 'image.png', 'image/png'],
    ]);
    expect(JSON.parse(parts[0]!.data.toString('utf8'))).toEqual(payload);
    expect([...parts[1]!.data]).toEqual([...bytes]);
    expect(validateDiscordRequest('post', '/channels/{channel_id}/messages', payload)).toBeUndefined();
  });
});

describe('discord sharding options', () => {
  it("lets discord.js take Discord's recommendation with auto, and holds every shard of a fixed count", () => {
    expect(shardOptions({ shards: 'auto', shardIds: [] })).toEqual({ shards: 'auto' });
    expect(shardOptions({ shards: 3, shardIds: [] })).toEqual({ shards: [0, 1, 2], shardCount: 3 });
  });

  it('holds only the listed shards of the total, in order and once', () => {
    expect(shardOptions({ shards: 4, shardIds: [3, 1, 3] })).toEqual({ shards: [1, 3], shardCount: 4 });
  });

  it('refuses ids outside the count, and ids without a count, naming the variables', () => {
    expect(() => shardOptions({ shards: 2, shardIds: [0, 2] })).toThrow(/DISCORD_SHARD_IDS 2: shard ids run from 0 to 1 with DISCORD_SHARDS=2/);
    expect(() => shardOptions({ shards: 'auto', shardIds: [0] })).toThrow(/DISCORD_SHARD_IDS needs DISCORD_SHARDS/);
    expect(() => shardOptions({ shards: 0, shardIds: [] })).toThrow(/DISCORD_SHARDS/);
  });

  it('registers the slash commands from the process holding shard 0 only', () => {
    expect(registersCommands({ shards: 'auto', shardIds: [] })).toBe(true);
    expect(registersCommands({ shards: 4, shardIds: [0, 1] })).toBe(true);
    expect(registersCommands({ shards: 4, shardIds: [2, 3] })).toBe(false);
  });

  describe('start-up wait', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('waits as long as shards keep getting ready, each within the timeout', async () => {
      vi.useFakeTimers();
      const client = new EventEmitter();
      let settled: string | undefined;
      void whenShardsReady(client, 30_000).then(
        () => (settled = 'ready'),
        (error: Error) => (settled = error.message),
      );
      // Eight shards, 20 s apart: 160 s in all, never 30 s without progress.
      for (let shard = 0; shard < 8; shard += 1) {
        await vi.advanceTimersByTimeAsync(20_000);
        client.emit(Events.ShardReady, shard);
      }
      client.emit(Events.ClientReady, client);
      await vi.advanceTimersByTimeAsync(0);
      expect(settled).toBe('ready');
      expect(client.listenerCount(Events.ShardReady) + client.listenerCount(Events.ClientReady)).toBe(0);
    });

    it('gives up when no shard gets ready within the timeout', async () => {
      vi.useFakeTimers();
      const client = new EventEmitter();
      const waiting = whenShardsReady(client, 30_000);
      const outcome = expect(waiting).rejects.toThrow('no shard got ready within 30 s');
      client.emit(Events.ShardReady, 0);
      await vi.advanceTimersByTimeAsync(30_000);
      await outcome;
    });
  });

  it('reads DISCORD_SHARDS and DISCORD_SHARD_IDS from config', () => {
    expect(parseConfig({ DISCORD_BOT_TOKEN: TOKEN }).discord).toMatchObject({ shards: 'auto', shardIds: [] });
    expect(parseConfig({ DISCORD_BOT_TOKEN: TOKEN, DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: '2,3' }).discord).toMatchObject({ shards: 4, shardIds: [2, 3] });
  });
});
