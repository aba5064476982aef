// Times ONNX Runtime on one ONNX model, as ../shared/anchors/ort_bench.js does, for any image
// model: the input's shape comes from the model's metadata (inception_v3 is 299x299), with the
// batch dimension set to BATCH whether the export left it dynamic or not (a static batch other
// than BATCH is an error).
//
// usage: node tools/ort_bench.js MODEL.onnx THREADS BATCH SECONDS   (cwd: where onnxruntime-node is installed)
// prints one JSON line: {"ms_median":..., "images_per_s":..., "runs":..., "cpu_ms_per_image":...}, the last the
// CPU time of the whole process (every thread) during the timed runs per image, as cnngen bench's.
'use strict';
const path = require('path');
const { createRequire } = require('module');
const ort = createRequire(path.join(process.cwd(), 'x.js'))('onnxruntime-node');
const [file, threads, batch, secs] = process.argv.slice(2);
(async () => {
  const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: +threads,
    interOpNumThreads: 1, executionMode: 'sequential' });
  const name = s.inputNames[0];
  const meta = s.inputMetadata[0];
  const dims = meta.shape.map((d, i) => (i === 0 ? +batch : +d));
  if (typeof meta.shape[0] === 'number' && meta.shape[0] !== +batch) throw new Error(`${file}: static batch ${meta.shape[0]}`);
  if (dims.some((d) => !(d > 0))) throw new Error(`${file}: input shape ${JSON.stringify(meta.shape)} is not static past the batch`);
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n).map((_, i) => Math.sin(i));
  const feeds = { [name]: new ort.Tensor('float32', x, dims) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t = [], end = Date.now() + 1000 * secs, cpu0 = process.cpuUsage();
  while (t.length < 5 || Date.now() < end) { const a = process.hrtime.bigint(); await s.run(feeds); t.push(Number(process.hrtime.bigint() - a) / 1e6); }
  const cpu = process.cpuUsage(cpu0);
  t.sort((a, b) => a - b);
  const m = t[t.length >> 1];
  console.log(JSON.stringify({ ms_median: m, images_per_s: 1000 * batch / m, runs: t.length,
    cpu_ms_per_image: (cpu.user + cpu.system) / 1000 / (batch * t.length) }));
})();
