// The page: load the bundle next to this file, answer what is typed, show how long it took.
// Everything runs here; the only requests are for the bundle's own files.
import { openBundle } from "./reflex_core.js";

const $ = (id) => document.getElementById(id);
const fetchBytes = async (name) => {
  const reply = await fetch(name);
  if (!reply.ok) throw new Error(`${name}: ${reply.status} ${reply.statusText}`);
  return reply.arrayBuffer();
};

function show(reflexes, result, micros) {
  const box = $("answer");
  box.className = result.hit ? "hit" : "miss";
  const rows = [
    ["verdict", result.hit ? "hit (a known stimulus)" : `miss (${result.reason}: novel, cognition would be asked)`],
    ["similarity", `${result.similarity.toFixed(4)} (threshold ${reflexes.threshold.toFixed(4)})`],
    ["nearest reflex", result.id ?? "none"],
    ["its stimulus", result.stimulus || "-"],
    ["lookup", `${micros.toFixed(0)} µs over ${reflexes.n.toLocaleString()} reflexes (wasm)`],
  ];
  box.innerHTML = "";
  const head = document.createElement("div");
  head.id = "response";
  head.textContent = result.response ?? "no reflex";
  const list = document.createElement("dl");
  for (const [k, v] of rows) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    list.append(dt, dd);
  }
  box.append(head, list);
}

function fail(message) {
  const box = $("answer");
  box.className = "error";
  box.textContent = message;
}

function parse(reflexes, text) {
  if (reflexes.encoder.kind === "records") return JSON.parse(text);
  if (reflexes.encoder.kind === "text") return text;
  throw new Error("this bundle answers packed vectors only (no encoder)");
}

async function main() {
  const reflexes = await openBundle(fetchBytes);
  window.emily = reflexes; // for the console, the tests and the benchmark
  const m = reflexes.manifest;
  $("about").textContent = `${m.title}: ${m.n.toLocaleString()} reflexes, ${m.dim.toLocaleString()}-bit `
    + `hypervectors, hit threshold ${m.threshold.toFixed(4)}. `
    + (m.encoder.kind === "records" ? "Type a JSON object of features." : "Type a text.");
  let next = 0;
  const example = () => {
    const s = m.reflexes.stimuli[next++ % Math.max(m.n, 1)] || "";
    $("stimulus").value = m.encoder.kind === "records" && s ? JSON.stringify(JSON.parse(s), null, 1) : s;
  };
  const ask = () => {
    try {
      const stimulus = parse(reflexes, $("stimulus").value);
      const query = reflexes.encode(stimulus);
      const start = performance.now();
      const result = reflexes.answer(query);
      show(reflexes, result, (performance.now() - start) * 1000);
    } catch (error) {
      fail(String(error.message || error));
    }
  };
  $("ask").onclick = ask;
  $("example").onclick = () => { example(); ask(); };
  $("ask").disabled = $("example").disabled = m.encoder.kind === "vectors";
  example();
  document.body.dataset.ready = "true";
}

main().catch((error) => { $("about").textContent = `could not load the bundle: ${error.message}`; });
