// Recording a voice note with MediaRecorder: Record starts it, Stop sends it at once
// (with `/translate` when the box holds it), Escape cancels it.

import { MAX_UPLOAD_BYTES, send } from './composer.js';
import { els } from './dom.js';
import { formatBytes } from './format.js';
import { state } from './state.js';
import { showError } from './status.js';

/** What MediaRecorder should record, best first; the transcription endpoint reads all of them. */
const RECORDING_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4', 'audio/webm'];
/** A forgotten recording stops by itself. */
const MAX_RECORDING_MS = 5 * 60 * 1000;
const RECORDING_TICK_MS = 500;

function extensionOf(type) {
  if (type.includes('ogg')) return 'ogg';
  if (type.includes('mp4')) return 'm4a';
  return 'webm';
}

function recorderError(error) {
  if (error && (error.name === 'NotAllowedError' || error.name === 'SecurityError')) {
    return 'Recording needs permission to use the microphone. Allow it in the browser and try again.';
  }
  if (error && error.name === 'NotFoundError') return 'No microphone was found. Connect one, or attach an audio file instead.';
  return 'Could not start recording. Attach an audio file instead.';
}

/** Asks for the microphone and starts recording; says why when it cannot. */
export async function startRecording() {
  if (state.recording || state.startingRecording) return;
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
    // getUserMedia needs a secure context: https, or this machine's own address.
    showError('This browser cannot record here (it needs https or 127.0.0.1). Attach an audio file instead.');
    return;
  }
  let stream;
  state.startingRecording = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    showError(recorderError(error));
    return;
  } finally {
    state.startingRecording = false;
  }
  const mimeType = RECORDING_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  let recorder;
  try {
    recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    showError(recorderError(error));
    return;
  }
  const rec = { recorder, stream, chunks: [], started: Date.now(), timer: 0, cancelled: false };
  recorder.addEventListener('dataavailable', (e) => {
    if (e.data.size > 0) rec.chunks.push(e.data);
  });
  recorder.addEventListener('stop', () => finishRecording(rec));
  recorder.start(1000);
  state.recording = rec;
  showError('');
  rec.timer = setInterval(() => {
    if (Date.now() - rec.started >= MAX_RECORDING_MS) stopRecording(false);
    else showRecording(rec);
  }, RECORDING_TICK_MS);
  showRecording(rec);
}

function showRecording(rec) {
  const seconds = Math.floor((Date.now() - rec.started) / 1000);
  const clock = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  els.recording.hidden = false;
  els.recording.textContent = `Recording ${clock}. Press Stop to send it, Escape to cancel.`;
  els.record.setAttribute('aria-pressed', 'true');
  els.record.classList.add('on');
  els.recordLabel.textContent = 'Stop';
}

/** Ends the recording; it is sent unless `cancel`. */
export function stopRecording(cancel) {
  const { recording } = state;
  if (!recording) return;
  recording.cancelled = cancel;
  if (recording.recorder.state !== 'inactive') recording.recorder.stop();
  else finishRecording(recording);
}

function finishRecording(rec) {
  clearInterval(rec.timer);
  for (const track of rec.stream.getTracks()) track.stop();
  if (state.recording !== rec) return;
  state.recording = null;
  els.recording.hidden = true;
  els.recording.textContent = '';
  els.record.setAttribute('aria-pressed', 'false');
  els.record.classList.remove('on');
  els.recordLabel.textContent = 'Record';
  if (rec.cancelled) return;
  const type = rec.recorder.mimeType || rec.chunks[0]?.type || 'audio/webm';
  const blob = new Blob(rec.chunks, { type });
  if (blob.size === 0) {
    showError('Nothing was recorded. Check the microphone and try again.');
    return;
  }
  if (blob.size > MAX_UPLOAD_BYTES) {
    showError(`The recording is ${formatBytes(blob.size)}, more than the ${formatBytes(MAX_UPLOAD_BYTES)} the playground takes.`);
    return;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  send({ blob, name: `voice-${stamp}.${extensionOf(type)}`, kind: 'voice', url: URL.createObjectURL(blob) });
}
