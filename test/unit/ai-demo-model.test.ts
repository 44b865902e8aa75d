/**
 * The offline demo ChatModel: deterministic, history-aware, streamed, abortable.
 * See https://platform.openai.com/docs/api-reference/chat-streaming
 */
import { describe, expect, it } from 'vitest';
import type { ChatRequest, ChatStreamEvent } from '../../src/domain/chat.js';
import { createDemoChatModel, DEMO_MODEL_NAME, DEMO_NOTICE } from '../../src/infra/ai/index.js';

const request = (messages: ChatRequest['messages']): ChatRequest => ({ model: 'ignored', messages });

async function collect(stream: AsyncIterable<ChatStreamEvent>): Promise<ChatStreamEvent[]> {
  const events: ChatStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const textOf = (events: ChatStreamEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

describe('createDemoChatModel', () => {
  it('says it is the demo, echoes and counts the last message, and counts earlier turns', async () => {
    const model = createDemoChatModel({ delayMs: 0 });
    expect(model.info).toEqual({ model: DEMO_MODEL_NAME, demo: true });
    const events = await collect(
      model.streamChat(
        request([
          { role: 'system', content: 'You are helpful.' },
          { role: 'user', content: 'hi', name: 'ann' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: '  what is   the weather ' },
        ]),
        new AbortController().signal,
      ),
    );
    const text = textOf(events);
    expect(text.split('\n')[0]).toBe(DEMO_NOTICE);
    expect(text).toContain('You said: “what is   the weather” (4 words).');
    expect(text).toContain('I remember 2 earlier turns of this conversation.');
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
  });

  it('is deterministic and streams word by word', async () => {
    const model = createDemoChatModel({ delayMs: 0 });
    const ask = () => collect(model.streamChat(request([{ role: 'user', content: 'one' }]), new AbortController().signal));
    const [first, second] = [await ask(), await ask()];
    expect(first).toEqual(second);
    expect(textOf(first)).toContain('(1 word). I remember 0 earlier turns');
    const deltas = first.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(10);
    for (const delta of deltas) expect(delta.type === 'delta' && delta.text.trim().split(/\s+/).length).toBe(1);
  });

  it('answers an empty message and still reports history', async () => {
    const model = createDemoChatModel({ delayMs: 0 });
    const events = await collect(
      model.streamChat(request([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: ' ' }]), new AbortController().signal),
    );
    expect(textOf(events)).toContain('You sent no text I can read. I remember 2 earlier turns');
  });

  it('waits delayMs between words', async () => {
    const model = createDemoChatModel({ delayMs: 20 });
    const started = performance.now();
    const events = await collect(model.streamChat(request([{ role: 'user', content: 'hi' }]), new AbortController().signal));
    const words = events.filter((e) => e.type === 'delta').length;
    expect(performance.now() - started).toBeGreaterThanOrEqual((words - 1) * 20 * 0.9);
  });

  it('stops with the abort reason when the signal aborts mid-stream', async () => {
    const model = createDemoChatModel({ delayMs: 50 });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const seen: ChatStreamEvent[] = [];
    const run = (async () => {
      for await (const event of model.streamChat(request([{ role: 'user', content: 'hi' }]), controller.signal)) {
        seen.push(event);
        if (seen.length === 2) controller.abort(reason);
      }
    })();
    await expect(run).rejects.toBe(reason);
    expect(seen).toHaveLength(2);
  });

  it('rejects a negative delay at construction', () => {
    expect(() => createDemoChatModel({ delayMs: -1 })).toThrow(TypeError);
  });
});
