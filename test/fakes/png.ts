/** The PNG builder lives with the demo image model; the fakes use the same one. */
export { createPng, PNG_SIGNATURE, type Rgb } from '../../src/infra/ai/png.js';
