// Emily's reflexes in the browser: load a bundle, encode a stimulus, answer it with the wasm
// kernel. The same bits and the same answers as Python (emily.instinct): the Python tests run
// this file under Node and in Chromium against ReflexMemory.
//
// No dependency, no network beyond the bundle's own files: `openBundle(fetchBytes)` takes a
// function that returns a file's bytes (fetch in the page, fs in Node).

const ALIGN = 16;
const PAGE = 65536;

/** Round to the nearest integer, half to even (numpy.rint, Python's round). */
function rint(y) {
  const f = Math.floor(y);
  const diff = y - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Python's repr of a finite float that is not integral (shortest digits, same layout). */
function pythonRepr(x) {
  const [mantissa, e] = x.toExponential().split("e"); // the shortest digits that round-trip
  const exp = Number(e);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
    const fraction = digits.slice(exp + 1);
    return `${sign}${whole}.${fraction || "0"}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** A category's text for a number, as emily.runtime.schema_store.category_text writes it. */
export function categoryText(value) {
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return BigInt(value).toString(); // str(int(value))
  return pythonRepr(value);
}

export class Reflexes {
  /**
   * @param {Uint8Array} wasmBytes the kernel
   * @param {object} manifest bundle.json
   * @param {Uint8Array} matrix reflexes.bin, (n, width) packed rows
   * @param {Uint8Array} codebooks codebooks.bin
   */
  constructor(wasmBytes, manifest, matrix, codebooks) {
    const { dim, width, head_width: hw, n } = manifest;
    if (matrix.length !== n * width) throw new Error(`reflexes.bin holds ${matrix.length} bytes, expected ${n * width}`);
    if (codebooks.length !== manifest.codebook_rows * width) throw new Error("codebooks.bin does not match bundle.json");
    this.manifest = manifest;
    this.dim = dim;
    this.width = width;
    this.hw = hw;
    this.tw = width - hw;
    this.n = n;
    this.threshold = manifest.threshold;
    this.encoder = manifest.encoder;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes), {});
    this.k = instance.exports;
    const memory = this.k.memory;
    let top = this.k.__heap_base.value;
    const take = (bytes) => {
      top = Math.ceil(top / ALIGN) * ALIGN;
      const at = top;
      top += bytes;
      return at;
    };
    const L = {
      head: take(n * hw), tail: take(n * this.tw), d0: take(4 * Math.max(n, 1)), d1: take(4 * Math.max(n, 1)),
      query: take(width), dist: take(4), counts: take(4 * dim), out: take(width), scratch: take(width),
      codebooks: take(codebooks.length),
    };
    if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / PAGE));
    this.L = L;
    this.mem = new Uint8Array(memory.buffer);
    for (let r = 0; r < n; r++) { // split rows into the kernel's head and tail blocks
      this.mem.set(matrix.subarray(r * width, r * width + hw), L.head + r * hw);
      this.mem.set(matrix.subarray(r * width + hw, (r + 1) * width), L.tail + r * this.tw);
    }
    this.mem.set(codebooks, L.codebooks);
    this.rowPtr = (row) => L.codebooks + row * width;
    if (this.encoder.kind === "text") {
      this.alphabet = new Map(this.encoder.alphabet.map((c, i) => [c, 1 + i]));
      this.rotated = new Map();
    }
    if (this.encoder.kind === "records") {
      this.features = new Set([...this.encoder.numeric, ...this.encoder.categorical].map((f) => f.name));
    }
  }

  /** Exact top-1 of a packed query (Uint8Array of width bytes): {slot, distance}. */
  nearestPacked(query) {
    if (query.length !== this.width) throw new Error(`a query is ${this.width} bytes, got ${query.length}`);
    this.mem.set(query, this.L.query);
    return this.nearestInPlace();
  }

  /** Top-1 of the query already at L.query (the benchmark's path: no copy). */
  nearestInPlace() {
    const L = this.L;
    const slot = this.k.nearest(L.head, L.tail, this.n, this.hw, this.tw, L.query, L.d0, L.d1, L.dist);
    const distance = new Int32Array(this.mem.buffer, L.dist, 1)[0];
    return { slot, distance };
  }

  /**
   * Top-1 of each of `queries` (Q x width bytes, concatenated), each lookup timed alone with
   * performance.now(): {slots, distances, ms}. What benchmarks/reflex_wasm.py measures.
   */
  bench(queries) {
    const q = queries.length / this.width;
    const slots = new Int32Array(q), distances = new Int32Array(q), ms = new Float64Array(q);
    for (let i = 0; i < q; i++) {
      this.mem.set(queries.subarray(i * this.width, (i + 1) * this.width), this.L.query);
      const start = performance.now();
      const { slot, distance } = this.nearestInPlace();
      ms[i] = performance.now() - start;
      slots[i] = slot;
      distances[i] = distance;
    }
    return { slots: Array.from(slots), distances: Array.from(distances), ms: Array.from(ms) };
  }

  /** The packed vector of a stimulus: an object of features (records) or a string (texts). */
  encode(stimulus) {
    const kind = this.encoder.kind;
    if (kind === "records") return this.encodeRecord(stimulus);
    if (kind === "text") return this.encodeText(stimulus);
    throw new Error("this bundle has no encoder: it answers packed vectors only");
  }

  encodeRecord(record) {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      throw new Error("a stimulus of this home is an object of features, e.g. {\"x\": 1.5}");
    }
    const given = Object.keys(record);
    const missing = [...this.features].filter((f) => !(f in record)).sort();
    const extra = given.filter((f) => !this.features.has(f)).sort();
    if (missing.length || extra.length) {
      throw new Error(`stimulus does not match the schema: missing [${missing}], unexpected [${extra}]`);
    }
    const rows = [];
    for (const f of this.encoder.numeric) {
      const value = record[f.name];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new Error(`feature "${f.name}" is numeric; got ${JSON.stringify(value)}`);
      }
      const x = (Math.min(Math.max(value, f.low), f.high) - f.low) / (f.high - f.low);
      rows.push(f.row + rint(x * (f.levels - 1)));
    }
    for (const f of this.encoder.categorical) {
      const value = record[f.name];
      if (typeof value !== "string" && typeof value !== "number") {
        throw new Error(`feature "${f.name}" is categorical; got ${JSON.stringify(value)}`);
      }
      let i = f.categories.indexOf(categoryText(value));
      if (i < 0) i = f.categories.indexOf("<unknown>"); // an unseen category, as conform() does
      if (i < 0) throw new Error(`feature "${f.name}" has no category ${JSON.stringify(value)}`);
      rows.push(f.row + i);
    }
    return this.bundleRows(rows.map(this.rowPtr));
  }

  /** rho^shift of a character's vector (bit i moves to i + shift), cached. */
  rotatedChar(char, shift) {
    const key = `${shift}:${char}`;
    let hv = this.rotated.get(key);
    if (hv) return hv;
    const row = this.alphabet.get(char);
    if (row === undefined) {
      throw new Error(`character ${JSON.stringify(char)} is not in this bundle's alphabet`);
    }
    const src = this.mem.subarray(this.rowPtr(row), this.rowPtr(row) + this.width);
    hv = new Uint8Array(this.width);
    for (let i = 0; i < this.dim; i++) {
      if ((src[i >> 3] >> (7 - (i & 7))) & 1) {
        const j = (i + shift) % this.dim;
        hv[j >> 3] |= 1 << (7 - (j & 7));
      }
    }
    this.rotated.set(key, hv);
    return hv;
  }

  encodeText(text) {
    if (typeof text !== "string" || text.length === 0) throw new Error("empty text: expected at least one character");
    const chars = Array.from(text); // code points, as Python iterates a str
    const n = Math.min(this.encoder.ngram, chars.length);
    const total = chars.length - n + 1;
    const counts = new Uint32Array(this.mem.buffer, this.L.counts, this.dim);
    counts.fill(0);
    const gram = this.mem.subarray(this.L.scratch, this.L.scratch + this.width);
    for (let s = 0; s < total; s++) {
      gram.set(this.rotatedChar(chars[s + n - 1], 0));
      for (let offset = 1; offset < n; offset++) {
        const part = this.rotatedChar(chars[s + n - 1 - offset], offset);
        for (let b = 0; b < this.width; b++) gram[b] ^= part[b];
      }
      this.k.count_add(this.L.counts, this.L.scratch, this.width);
    }
    return this.majority(total);
  }

  /** The bundle of codebook rows given by their pointers into the kernel's memory. */
  bundleRows(pointers) {
    new Uint32Array(this.mem.buffer, this.L.counts, this.dim).fill(0);
    for (const p of pointers) this.k.count_add(this.L.counts, p, this.width);
    return this.majority(pointers.length);
  }

  majority(k) {
    this.k.majority(this.L.counts, k, this.width, this.rowPtr(0), this.L.out);
    return this.mem.slice(this.L.out, this.L.out + this.width);
  }

  /** The answer to a stimulus (or a packed Uint8Array), as ReflexMemory.lookup judges it. */
  answer(stimulus) {
    const query = stimulus instanceof Uint8Array ? stimulus : this.encode(stimulus);
    const { slot, distance } = this.nearestPacked(query);
    if (slot < 0) return { hit: false, reason: "empty", similarity: 0, id: null };
    const similarity = 1 - distance / this.dim;
    const r = this.manifest.reflexes;
    return {
      hit: similarity >= this.threshold,
      reason: similarity >= this.threshold ? "hit" : "dissimilar",
      slot, distance, similarity, id: r.ids[slot], response: r.responses[slot],
      confidence: r.confidences[slot], stimulus: r.stimuli[slot],
    };
  }
}

/** Load a bundle: `fetchBytes(name)` resolves to the bytes of one of its files. */
export async function openBundle(fetchBytes) {
  const [manifest, wasm, matrix, codebooks] = await Promise.all([
    fetchBytes("bundle.json").then((b) => JSON.parse(new TextDecoder().decode(b))),
    fetchBytes("reflex_kernel.wasm"), fetchBytes("reflexes.bin"), fetchBytes("codebooks.bin"),
  ]);
  if (manifest.format !== "emily-reflex-bundle/1") throw new Error(`not a reflex bundle: ${manifest.format}`);
  return new Reflexes(new Uint8Array(wasm), manifest, new Uint8Array(matrix), new Uint8Array(codebooks));
}
