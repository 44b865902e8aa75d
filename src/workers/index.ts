export { createChatWorker, type ChatWorkerDeps } from './chat.worker.js';
export { createTranscribeWorker, type TranscribeWorkerDeps } from './transcribe.worker.js';
export { createImageWorker, type ImageWorkerDeps } from './image.worker.js';
export { createModerateWorker, type ModerateWorkerDeps } from './moderate.worker.js';
export { createTranslateWorker, type TranslateWorkerDeps } from './translate.worker.js';
export { createPictureWorker, type PictureWorkerDeps } from './picture.worker.js';
export { createReplyLedger, type LedgeredHandler } from './reply-ledger.js';
export { tellGaveUp } from './gave-up.js';
export { tokenRecorder, withLimits, withModerationAdmission } from './limits.js';
