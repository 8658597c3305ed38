// The self-test's sound: the microphone's level, and a test tone for the speaker.
//
// One AudioContext for the page. Browsers start it suspended until a user
// gesture (iOS always), so the tone is played from a button press, and every
// later press resumes it (resumeAudio).

let context = null;

function audioContext() {
  if (!context) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    context = new Context();
  }
  return context;
}

export function resumeAudio() {
  if (context && context.state !== "running") context.resume().catch(() => {});
}

// Call `onLevel(0..1)` about 20 times a second with the loudness of `track`;
// returns a function that stops it.
export function startMicMeter(track, onLevel) {
  const ctx = audioContext();
  if (!ctx || !track) return () => {};
  resumeAudio();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser); // not to the speakers: no echo of oneself
  const samples = new Float32Array(analyser.fftSize);
  const timer = window.setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const value of samples) sum += value * value;
    const rms = Math.sqrt(sum / samples.length);
    // Speech sits around 0.02-0.2 RMS: spread that over the meter.
    onLevel(Math.min(1, rms * 5));
  }, 50);
  return () => {
    window.clearInterval(timer);
    source.disconnect();
  };
}

// A short two-note chime on the speakers (call from a click or tap).
// Resolves when it has played; false when the page has no sound at all.
export async function playTestTone() {
  const ctx = audioContext();
  if (!ctx) return false;
  await ctx.resume();
  const start = ctx.currentTime + 0.05;
  for (const [offset, frequency] of [
    [0, 660],
    [0.45, 880],
  ]) {
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0, start + offset);
    gain.gain.linearRampToValueAtTime(0.3, start + offset + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.4);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(start + offset);
    oscillator.stop(start + offset + 0.42);
  }
  await new Promise((resolve) => window.setTimeout(resolve, 950));
  return true;
}
