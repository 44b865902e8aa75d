/**
 * Reasoning models (issue #18): how hard they think (`reasoning_effort`, set by
 * REASONING_EFFORT and per channel with `/settings reasoning`), which models take the
 * parameter, and what happens to their thinking (SHOW_REASONING). Pure.
 * https://platform.openai.com/docs/guides/reasoning
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort
 */

/** The values of `reasoning_effort` in the OpenAI spec (`ReasoningEffort`); not every model takes every one. */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;

/** One `reasoning_effort` value. */
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/** What becomes of a model's thinking: nothing shows (`off`), or it comes as a text file after the answer (`file`). */
export const SHOW_REASONING_MODES = ['off', 'file'] as const;
export type ShowReasoning = (typeof SHOW_REASONING_MODES)[number];

/** The file a model's thinking is attached as, under SHOW_REASONING=file. */
export const REASONING_FILE_NAME = 'reasoning.txt';
/** Thinking kept for that file at most; a model can think for tens of thousands of words. */
export const MAX_REASONING_CHARS = 200_000;

/** Models whose names say they take `reasoning_effort`: OpenAI's o-series, GPT-5 (but its chat variants) and gpt-oss. */
const REASONING_MODEL = /^(?:o[1-9](?![0-9])|gpt-5(?!(?:\.\d+)?-chat)|gpt-oss)/;
/** Models whose names say they do not: OpenAI's chat models before the reasoning ones. */
const NON_REASONING_MODEL = /^(?:gpt-4|gpt-3\.5|chatgpt-|gpt-5(?:\.\d+)?-chat|davinci|babbage)/;

/**
 * Whether a model takes `reasoning_effort`, by its name: `yes` for OpenAI's reasoning
 * models, `no` for its chat models (the API answers 400 to the parameter there), and
 * `unknown` for any other name (another provider's model): the parameter is sent, and
 * dropped for that model if the endpoint refuses it.
 */
export function reasoningSupport(model: string): 'yes' | 'no' | 'unknown' {
  const name = model.toLowerCase().replace(/^[^/]*\//, '');
  if (REASONING_MODEL.test(name)) return 'yes';
  if (NON_REASONING_MODEL.test(name)) return 'no';
  return 'unknown';
}

/** `high`, `HIGH ` → `high`; undefined for anything that is not an effort. */
export function parseReasoningEffort(text: string): ReasoningEffort | undefined {
  const word = text.trim().toLowerCase();
  return (REASONING_EFFORTS as readonly string[]).includes(word) ? (word as ReasoningEffort) : undefined;
}
