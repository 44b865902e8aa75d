/**
 * The PictureEditor port on `POST /images/edits` and `POST /images/variations`, and its
 * offline demo stand-in. The user's picture is converted first (picture-convert.ts: a
 * square PNG under 4 MB), then sent as multipart; the answer's pictures come back as
 * bytes whether the endpoint sends `b64_json` or a `url`.
 * See https://platform.openai.com/docs/api-reference/images/createEdit
 * and https://platform.openai.com/docs/api-reference/images/createVariation
 */
import type { Downloader, OutgoingImage, PictureEditor } from '../../ports/index.js';
import { hashEndUser } from './chat-model.js';
import type { OpenAIClient } from './client.js';
import { DEMO_MODEL_NAME } from './demo-model.js';
import { imageFromAnswer } from './images-answer.js';
import { loadSharp, toEndpointPicture } from './picture-convert.js';

/** What the demo says under an "edited" picture. */
const DEMO_EDIT_CAPTION = '(Offline demo: without an AI service I cannot change pictures; here is yours, squared as the image service would get it.)';

/** Options of createOpenAIPictureEditor. */
export interface OpenAIPictureEditorOptions {
  readonly client: Pick<OpenAIClient, 'editImage' | 'createImageVariation'>;
  /** IMAGE_EDIT_MODEL. */
  readonly editModel: string;
  /** IMAGE_VARIATION_MODEL. */
  readonly variationModel: string;
  /** Fetches a `url` answer; allow only the provider's hosts. */
  readonly downloader: Downloader;
}

/** The PictureEditor on an OpenAI-compatible endpoint. */
export function createOpenAIPictureEditor(options: OpenAIPictureEditorOptions): PictureEditor {
  const { client, editModel, variationModel, downloader } = options;
  // DALL·E answers with a URL unless asked for base64; the GPT image models always send base64 and refuse the parameter.
  const base64For = (model: string) => (/^dall-e/i.test(model) ? { responseFormat: 'b64_json' as const } : {});
  const userOf = (endUser: string | undefined) => (endUser ? { user: hashEndUser(endUser) } : {});
  return {
    editModel,
    variationModel,
    async edit({ picture, prompt, endUser }, signal) {
      const image = await toEndpointPicture(picture.bytes);
      const response = await client.editImage({ image, prompt, model: editModel, n: 1, ...base64For(editModel), ...userOf(endUser) }, { signal });
      const first = response.data[0];
      const edited = await imageFromAnswer(first, downloader, signal);
      const revisedPrompt = first?.revised_prompt || undefined;
      return revisedPrompt === undefined ? { image: edited } : { image: edited, revisedPrompt };
    },
    async vary({ picture, count, endUser }, signal) {
      const image = await toEndpointPicture(picture.bytes);
      const response = await client.createImageVariation({ image, model: variationModel, n: count, ...base64For(variationModel), ...userOf(endUser) }, { signal });
      return Promise.all(response.data.map((entry) => imageFromAnswer(entry, downloader, signal)));
    },
  };
}

/**
 * A demo picture editor: no network, but the real conversion. An "edit" is the picture
 * as the endpoint would get it; "variations" are it mirrored and turned.
 */
export function createDemoPictureEditor(): PictureEditor {
  const asImage = (bytes: Uint8Array): OutgoingImage => ({ bytes, mimeType: 'image/png', fileName: 'image.png' });
  return {
    editModel: DEMO_MODEL_NAME,
    variationModel: DEMO_MODEL_NAME,
    async edit({ picture }, signal) {
      signal.throwIfAborted();
      const square = await toEndpointPicture(picture.bytes);
      return { image: asImage(square.bytes), revisedPrompt: DEMO_EDIT_CAPTION };
    },
    async vary({ picture, count }, signal) {
      signal.throwIfAborted();
      const square = await toEndpointPicture(picture.bytes);
      const sharp = await loadSharp();
      return Promise.all(
        Array.from({ length: count }, async (_, index) => {
          const turned = await sharp(square.bytes).rotate(90 * index).flop(index % 2 === 1).png().toBuffer();
          return asImage(new Uint8Array(turned));
        }),
      );
    },
  };
}
