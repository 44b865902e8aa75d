export { createChatWorker, type ChatWorkerDeps } from './chat.worker.js';
