// The warehouse page's scanner: a USB scanner gun types the code and Enter (the form submits
// as typed); the camera button reads the label's Code 128 or QR code from the device camera
// with the browser's BarcodeDetector where it has one, else ZXing (vendored), then submits.
(() => {
  const form = document.querySelector('[data-testid="scan-form"]');
  const input = document.querySelector('[data-testid="scan-input"]');
  const button = document.querySelector('[data-testid="scan-camera"]');
  const video = document.querySelector('[data-testid="scan-video"]');
  const status = document.querySelector('[data-testid="scan-status"]');
  if (!form || !input || !button || !video) return;
  const messages = JSON.parse(document.getElementById('scan-messages').textContent);
  const state = (window.returndeskScanner = { engine: null, decoded: null, frames: 0 });
  let stream = null;
  let timer = null;
  let decode = null;

  async function engine() {
    if ('BarcodeDetector' in window) {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes('qr_code') && formats.includes('code_128')) {
        const detector = new window.BarcodeDetector({ formats: ['qr_code', 'code_128'] });
        state.engine = 'native';
        return async () => {
          const found = await detector.detect(video);
          return found.length ? found[0].rawValue : null;
        };
      }
    }
    const Z = window.ZXing;
    const hints = new Map();
    hints.set(Z.DecodeHintType.POSSIBLE_FORMATS, [Z.BarcodeFormat.QR_CODE, Z.BarcodeFormat.CODE_128]);
    hints.set(Z.DecodeHintType.TRY_HARDER, true);
    const reader = new Z.MultiFormatReader();
    reader.setHints(hints);
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', { willReadFrequently: true });
    state.engine = 'zxing';
    return async () => {
      if (!video.videoWidth) return null;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const source = new Z.HTMLCanvasElementLuminanceSource(canvas);
      try {
        return reader.decodeWithState(new Z.BinaryBitmap(new Z.HybridBinarizer(source))).getText();
      } catch (error) {
        return null; // no code in this frame
      } finally {
        reader.reset();
      }
    };
  }

  function stop() {
    clearTimeout(timer);
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.hidden = true;
    button.textContent = messages.camera;
  }

  let previous = null;
  async function look() {
    state.frames += 1;
    const text = ((await decode().catch(() => null)) || '').trim();
    // The same code read in two frames running: a single misread never books a parcel.
    const confirmed = text && text === previous;
    previous = text;
    if (confirmed) {
      state.decoded = text;
      input.value = state.decoded;
      stop();
      form.requestSubmit();
      return;
    }
    timer = setTimeout(look, 120);
  }

  button.addEventListener('click', async () => {
    if (stream) { stop(); return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (error) {
      status.textContent = messages.no_camera;
      stream = null;
      return;
    }
    decode = decode || (await engine());
    video.srcObject = stream;
    video.hidden = false;
    await video.play().catch(() => {});
    button.textContent = messages.stop;
    status.textContent = messages.looking;
    look();
  });
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) button.disabled = false;
  else status.textContent = messages.no_camera;
  input.focus();
})();
