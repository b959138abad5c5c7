/*
 * The Conv2D book's size explorer: convlib's one-axis size arithmetic, ported to plain
 * JavaScript, and a small widget that draws it. No network, no build step; works from file://.
 *
 * The arithmetic is a line-by-line port of convlib/shapes/geometry.py (conv_axis, pool_axis,
 * transpose_axis, the WindowAxis record) and the ceil_mode overhang check of
 * convlib/shapes/checks.py (check_pool_shape). tests/test_explorer.py runs these functions in
 * Chromium on every configuration of convlib.proof.explorer.sweep() and requires convlib's
 * answer, field by field, refusals included.
 *
 * window.ConvExplorer = {convAxis, poolAxis, transposeAxis, evaluate, mount, ...}
 * Each *Axis function returns the WindowAxis record
 *   {n, k, stride, dilation, before, after, out, window, padded, extent, overhang, left,
 *    unread: [padUnused, inputUnread], size}
 * (size is the operation's output size: out, or n for a transposed convolution, whose record
 * describes the forward convolution it transposes), or {error: "<reason code>", message}.
 *
 * Mount: every <div class="conv-explorer" data-op="conv|transpose|pool_max|pool_avg"> on the page.
 */
(function (global) {
  "use strict";
  if (global.ConvExplorer) return; // loaded twice: keep the first

  // ---------------------------------------------------------------- arithmetic (convlib port)

  function Refusal(code, message) {
    this.code = code;
    this.message = message;
  }

  const WORDS = ["valid", "same", "full"];

  function show(v) {
    if (typeof v === "string") return "'" + v + "'";
    if (Array.isArray(v)) return "(" + v.map(show).join(", ") + ")";
    return String(v);
  }

  // convlib.padding._as_int: bools, strings, null and non-integral numbers are refused.
  function asInt(v, name) {
    if (typeof v !== "number" || !Number.isFinite(v) || !Number.isInteger(v)) {
      throw new Refusal("not-an-integer", name + " must be an integer, got " + show(v));
    }
    return v;
  }

  function checkPositive(v, name) {
    v = asInt(v, name);
    if (v <= 0) throw new Refusal("non-positive-argument", name + " must be a positive integer, got " + v);
    return v;
  }

  function checkNonnegative(v, name) {
    v = asInt(v, name);
    if (v < 0) throw new Refusal("negative-argument", name + " must be non-negative, got " + v);
    return v;
  }

  const floorDiv = (a, b) => Math.floor(a / b);
  const ceilDiv = (a, b) => -Math.floor(-a / b);

  // convlib.padding.normalize_padding_1d: a word (lower-case), or [before, after].
  function normalizePadding1d(p) {
    if (typeof p === "string") {
      const w = p.toLowerCase();
      if (WORDS.indexOf(w) < 0) {
        throw new Refusal("unknown-padding-word", "padding must be one of valid, same, full; got the word " + show(p));
      }
      return w;
    }
    if (Array.isArray(p)) {
      if (p.length !== 2) {
        throw new Refusal("malformed-padding", "padding for one axis must be an int or (before, after), got " + show(p));
      }
      return [checkNonnegative(p[0], "padding (before)"), checkNonnegative(p[1], "padding (after)")];
    }
    const v = checkNonnegative(p, "padding");
    return [v, v];
  }

  function effectiveKernelSize(k, dilation) {
    return dilation * (k - 1) + 1;
  }

  function windowCount(padded, k, stride, dilation, ceilMode) {
    const eff = effectiveKernelSize(k, dilation);
    if (eff > padded) {
      throw new Refusal("no-window-fits", "the dilated kernel " + eff + " is larger than the padded input " + padded);
    }
    const span = padded - eff;
    return (ceilMode ? ceilDiv(span, stride) : floorDiv(span, stride)) + 1;
  }

  function samePadding(n, k, stride, dilation) {
    const nOut = ceilDiv(n, stride);
    const total = Math.max((nOut - 1) * stride + effectiveKernelSize(k, dilation) - n, 0);
    return [floorDiv(total, 2), total - floorDiv(total, 2)];
  }

  function fullPadding(k, dilation) {
    const extra = effectiveKernelSize(k, dilation) - 1;
    return [extra, extra];
  }

  function resolvePadding1d(n, k, padding, stride, dilation) {
    const p = normalizePadding1d(padding);
    if (p === "valid") return [0, 0];
    if (p === "same") return samePadding(n, k, stride, dilation);
    if (p === "full") return fullPadding(k, dilation);
    return p;
  }

  // The WindowAxis record with its derived sizes (geometry.WindowAxis's properties).
  function record(n, k, stride, dilation, before, after, out, size) {
    const window = effectiveKernelSize(k, dilation);
    const padded = n + before + after;
    const extent = (out - 1) * stride + window;
    const left = Math.max(padded - extent, 0);
    return {
      n, k, stride, dilation, before, after, out, window, padded, extent,
      overhang: Math.max(extent - padded, 0),
      left,
      unread: [Math.min(left, after), Math.max(left - after, 0)],
      size,
    };
  }

  function opt(options, name, fallback) {
    return options && options[name] !== undefined ? options[name] : fallback;
  }

  function convAxisRaw(n, k, padding, options) {
    n = checkPositive(n, "input size");
    k = checkPositive(k, "kernel size");
    const stride = checkPositive(opt(options, "stride", 1), "stride");
    const dilation = checkPositive(opt(options, "dilation", 1), "dilation");
    const [before, after] = resolvePadding1d(n, k, padding === undefined ? "valid" : padding, stride, dilation);
    const eff = effectiveKernelSize(k, dilation);
    const padded = n + before + after;
    if (eff > padded) {
      throw new Refusal(
        "no-window-fits",
        "kernel size " + k + " (dilated to " + eff + " by dilation " + dilation + ") is larger than the padded " +
          "input size " + padded + " (input " + n + " + padding " + show([before, after]) + "): no window fits"
      );
    }
    const out = windowCount(padded, k, stride, dilation, false);
    return record(n, k, stride, dilation, before, after, out, out);
  }

  function poolAxisRaw(n, k, padding, options) {
    n = checkPositive(n, "input size");
    k = checkPositive(k, "pool size");
    const s = opt(options, "stride", null);
    const stride = s === null ? k : checkPositive(s, "stride");
    const dilation = checkPositive(opt(options, "dilation", 1), "dilation");
    const ceilMode = !!opt(options, "ceilMode", false);
    if (padding === undefined) padding = "valid";
    const word = normalizePadding1d(padding);
    if (word === "full") {
      throw new Refusal("full-not-allowed", "padding='full' is not a pooling padding; use 'valid', 'same' or numbers");
    }
    if (ceilMode && word === "same") {
      throw new Refusal(
        "ceil-with-same",
        "ceil_mode=True cannot be combined with padding='same' (which already gives ceil(n/s))"
      );
    }
    const [before, after] = resolvePadding1d(n, k, padding, stride, dilation);
    if (word !== "same" && Math.max(before, after) > floorDiv(k, 2)) {
      throw new Refusal(
        "pad-over-half-pool",
        "pool padding " + show([before, after]) + " must be at most half the pool size, k // 2 = " +
          floorDiv(k, 2) + ", on each side (pool size " + k + "), as in PyTorch"
      );
    }
    const padded = n + before + after;
    const eff = effectiveKernelSize(k, dilation);
    let out;
    if (ceilMode && padded < eff && eff < padded + stride) {
      out = 1; // PyTorch's one overhanging window
    } else {
      if (eff > padded) {
        throw new Refusal(
          "no-window-fits",
          "pool size " + k + " (dilated to " + eff + " by dilation " + dilation + ") is larger than the padded " +
            "input size " + padded + " (input " + n + " + padding " + show([before, after]) + "): no window fits"
        );
      }
      out = windowCount(padded, k, stride, dilation, ceilMode);
      if (ceilMode && (out - 1) * stride >= n + before) out -= 1;
    }
    const r = record(n, k, stride, dilation, before, after, out, out);
    if (r.overhang > r.padded) {
      // convlib.shapes.checks.check_pool_shape, which max_pool2d and avg_pool2d call.
      throw new Refusal(
        "ceil-overhang-too-large",
        "pool_size " + k + " (dilated to " + eff + ") with ceil_mode overhangs the padded input " + r.padded +
          " by " + r.overhang + " cells, more than the input holds"
      );
    }
    return r;
  }

  function transposeAxisRaw(n, k, padding, options) {
    n = checkPositive(n, "input size");
    k = checkPositive(k, "kernel size");
    const stride = checkPositive(opt(options, "stride", 1), "stride");
    const dilation = checkPositive(opt(options, "dilation", 1), "dilation");
    const eff = effectiveKernelSize(k, dilation);
    const p = normalizePadding1d(padding === undefined ? 0 : padding);
    const isWord = typeof p === "string";
    if (p === "full") {
      throw new Refusal(
        "full-not-allowed",
        "padding='full' has no transposed-convolution meaning; use 'valid', 'same' or numbers"
      );
    }
    let op = opt(options, "outputPadding", null);
    if (op !== null) {
      op = checkNonnegative(op, "output_padding");
      const limit = isWord ? stride : Math.max(stride, dilation);
      if (op >= limit) {
        throw new Refusal(
          "output-padding-too-large",
          "output_padding must be smaller than " + (isWord ? "the stride " : "max(stride, dilation) = ") + limit +
            " (stride " + stride + ", dilation " + dilation + "), got " + op
        );
      }
    }
    const full = (n - 1) * stride + eff;
    let target, before, after;
    if (!isWord) {
      [before, after] = p;
      target = full - before - after + (op || 0);
    } else {
      if (op === null) target = n * stride + (p === "valid" ? Math.max(eff - stride, 0) : 0);
      else target = full - (p === "same" ? 2 * floorDiv(eff, 2) : 0) + op;
      const back = target > 0 ? convAxisRaw(target, k, p, { stride, dilation }).out : 0;
      if (back !== n) {
        throw new Refusal(
          "keras-size-unreachable",
          "padding='" + p + "' with output_padding=" + (op === null ? "None" : op) + " gives output size " + target +
            ", which a forward convolution maps to " + back + ", not to the input size " + n
        );
      }
      [before, after] = resolvePadding1d(target, k, p, stride, dilation);
    }
    if (target <= 0) {
      throw new Refusal(
        "non-positive-output",
        "transposed convolution output size " + target + " is not positive (input " + n + ", kernel " + k +
          ", stride " + stride + ", padding " + show([before, after]) + ", dilation " + dilation + ")"
      );
    }
    return record(target, k, stride, dilation, before, after, n, target);
  }

  function safe(fn) {
    return function () {
      try {
        return fn.apply(null, arguments);
      } catch (e) {
        if (e instanceof Refusal) return { error: e.code, message: e.message };
        throw e;
      }
    };
  }

  const convAxis = safe(convAxisRaw);
  const poolAxis = safe(poolAxisRaw);
  const transposeAxis = safe(transposeAxisRaw);

  // One configuration as convlib.proof.explorer.Config.as_json() writes it:
  // [op, n, k, stride, dilation, padding, output_padding, ceil_mode].
  function evaluate(c) {
    const [op, n, k, stride, dilation, padding, outputPadding, ceilMode] = c;
    if (op === "conv") return convAxis(n, k, padding, { stride, dilation });
    if (op === "transpose") return transposeAxis(n, k, padding, { stride, dilation, outputPadding });
    if (op === "pool_max" || op === "pool_avg") return poolAxis(n, k, padding, { stride, dilation, ceilMode });
    throw new Error("unknown op " + op);
  }

  // The row convlib.proof.explorer.answer() returns (its FIELDS).
  function answerRow(r) {
    if (r.error) return [r.error, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    return [null, r.n, r.before, r.after, r.out, r.padded, r.extent, r.overhang, r.left, r.unread[0], r.unread[1], r.size];
  }

  function evaluateAll(configs) {
    return configs.map((c) => answerRow(evaluate(c)));
  }

  // ---------------------------------------------------------------- the widget

  const OPS = {
    conv: "convolution",
    transpose: "transposed convolution",
    pool_max: "max pooling",
    pool_avg: "average pooling",
  };
  const AXES = ["height", "width"];
  const SVG = "http://www.w3.org/2000/svg";
  let counter = 0;

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [key, v] of Object.entries(attrs || {})) {
      if (key === "text") e.textContent = v;
      else e.setAttribute(key, v);
    }
    for (const c of children || []) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return e;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [key, v] of Object.entries(attrs || {})) e.setAttribute(key, v);
    return e;
  }

  function numberInput(name, value, min, max, label) {
    return el("input", {
      type: "number", name, value: String(value), min: String(min), max: String(max), step: "1",
      "aria-label": label, class: "cx-num",
    });
  }

  const pair = (a) => "(" + a[0] + ", " + a[1] + ")";
  const tuple = (a) => "(" + a.join(", ") + ")";

  function readInt(input) {
    const v = input.value.trim();
    return v === "" ? NaN : Number(v);
  }

  // What is wrong with a field as typed, before any arithmetic: empty (a browser also empties a
  // number field holding text that is no number), not whole, or outside the range of its arrows.
  function fieldProblem(input) {
    const label = input.getAttribute("aria-label");
    const text = input.value.trim();
    if (text === "") return label + ": enter a whole number from " + input.min + " to " + input.max;
    const v = Number(text);
    if (!Number.isInteger(v) || v < Number(input.min) || v > Number(input.max)) {
      return label + " must be a whole number from " + input.min + " to " + input.max + " here, got " + text;
    }
    return null;
  }

  function mount(root) {
    if (root.dataset.cxMounted) return root.cxState;
    root.dataset.cxMounted = "1";
    const id = "cx" + ++counter;
    const initialOp = OPS[root.dataset.op] ? root.dataset.op : "conv";
    const int = (name, fallback) => {
      const v = Number(root.dataset[name]);
      return Number.isInteger(v) ? v : fallback;
    };

    // controls
    const op = el("select", { name: "op", "aria-label": "operation" });
    for (const [value, label] of Object.entries(OPS)) op.appendChild(el("option", { value, text: label }));
    op.value = initialOp;
    const inputs = {
      nH: numberInput("nH", int("h", 7), 1, 64, "input height"),
      nW: numberInput("nW", int("w", 8), 1, 64, "input width"),
      kH: numberInput("kH", int("k", 3), 1, 15, "kernel height"),
      kW: numberInput("kW", int("k", 3), 1, 15, "kernel width"),
      sH: numberInput("sH", int("stride", initialOp.startsWith("pool") ? 2 : 1), 1, 8, "stride (height)"),
      sW: numberInput("sW", int("stride", initialOp.startsWith("pool") ? 2 : 1), 1, 8, "stride (width)"),
      dH: numberInput("dH", int("dilation", 1), 1, 6, "dilation (height)"),
      dW: numberInput("dW", int("dilation", 1), 1, 6, "dilation (width)"),
      top: numberInput("top", 1, 0, 16, "pad top"),
      bottom: numberInput("bottom", 1, 0, 16, "pad bottom"),
      left: numberInput("left", 1, 0, 16, "pad left"),
      right: numberInput("right", 1, 0, 16, "pad right"),
      opH: numberInput("opH", 0, 0, 7, "output_padding (height)"),
      opW: numberInput("opW", 0, 0, 7, "output_padding (width)"),
    };
    const padMode = el("select", { name: "padding", "aria-label": "padding" });
    for (const w of ["valid", "same", "full", "explicit"]) {
      padMode.appendChild(el("option", { value: w, text: w === "explicit" ? "numbers per side" : w }));
    }
    padMode.value = ["valid", "same", "full", "explicit"].indexOf(root.dataset.padding) >= 0 ? root.dataset.padding : "same";
    const opMode = el("select", { name: "opMode", "aria-label": "output_padding" });
    opMode.appendChild(el("option", { value: "none", text: "None (default)" }));
    opMode.appendChild(el("option", { value: "int", text: "numbers" }));
    const ceil = el("input", { type: "checkbox", name: "ceil", "aria-label": "ceil_mode" });

    const hw = (a, b) => el("span", { class: "cx-pair" }, ["H ", a, " W ", b]);
    const row = (label, ...content) => el("label", { class: "cx-row" }, [el("span", { class: "cx-label", text: label }), ...content]);
    const rowWide = (...args) => {
      const r = row(...args);
      r.classList.add("cx-wide");
      return r;
    };
    const rows = {
      op: row("operation", op),
      size: row("input size", hw(inputs.nH, inputs.nW)),
      kernel: row("kernel", hw(inputs.kH, inputs.kW)),
      stride: row("stride", hw(inputs.sH, inputs.sW)),
      dilation: row("dilation", hw(inputs.dH, inputs.dW)),
      padding: row("padding", padMode),
      pads: rowWide(
        "pads",
        el("span", { class: "cx-pair" }, ["top ", inputs.top, " bottom ", inputs.bottom, " left ", inputs.left, " right ", inputs.right])
      ),
      op_padding: rowWide("output_padding", opMode, hw(inputs.opH, inputs.opW)),
      ceil: row("ceil_mode", ceil),
    };
    const form = el("div", { class: "cx-controls" }, Object.values(rows));

    // outputs
    const summary = el("div", { class: "cx-summary", "aria-live": "polite" });
    const details = el("dl", { class: "cx-details" });
    const prev = el("button", { type: "button", class: "cx-step", "aria-label": "previous window", text: "\u25c0 previous" });
    const next = el("button", { type: "button", class: "cx-step", "aria-label": "next window", text: "next \u25b6" });
    const where = el("span", { class: "cx-where" });
    const stepper = el("div", { class: "cx-stepper" }, [prev, where, next]);
    const figure = el("div", { class: "cx-figure" });
    const legend = el("div", { class: "cx-legend" });
    const caption = el("div", { class: "cx-caption" });
    for (const [cls, text] of [
      ["cx-input", "input cell"], ["cx-pad", "pad cell"], ["cx-unread", "input cell no window reads"],
      ["cx-padunused", "pad cell no window reads"], ["cx-overhang", "ceil_mode overhang"], ["cx-tap", "window tap"],
    ]) {
      legend.appendChild(el("span", { class: "cx-key" }, [el("span", { class: "cx-swatch " + cls }), text]));
    }
    const codes = el("div", { class: "cx-codes" });
    const drawing = el("div", { class: "cx-drawing" }, [stepper, caption, figure, legend]);
    root.appendChild(el("div", { class: "cx-box", id }, [form, summary, details, drawing, codes]));

    const state = { root, pos: 0, axes: null, settings: null };
    root.cxState = state;

    function settings() {
      const kind = op.value;
      const pool = kind.startsWith("pool");
      const v = {};
      for (const [key, input] of Object.entries(inputs)) v[key] = readInt(input);
      if (kind === "pool_avg") {
        v.dH = 1;
        v.dW = 1;
      }
      const word = padMode.value;
      const pads = word === "explicit" ? [[v.top, v.bottom], [v.left, v.right]] : [word, word];
      const ops = kind === "transpose" && opMode.value === "int" ? [v.opH, v.opW] : [null, null];
      return { kind, pool, word, pads, ops, ceil: pool && ceil.checked, v };
    }

    function resolve(st) {
      const v = st.v;
      const per = [
        [v.nH, v.kH, v.sH, v.dH],
        [v.nW, v.kW, v.sW, v.dW],
      ];
      return per.map(([n, k, s, d], i) => {
        const options = { stride: s, dilation: d, outputPadding: st.ops[i], ceilMode: st.ceil };
        if (st.kind === "conv") return convAxis(n, k, st.pads[i], options);
        if (st.kind === "transpose") return transposeAxis(n, k, st.pads[i], options);
        return poolAxis(n, k, st.pads[i], options);
      });
    }

    function update() {
      const st = settings();
      const show = (name, on) => rows[name].classList.toggle("cx-hidden", !on);
      show("pads", st.word === "explicit");
      show("op_padding", st.kind === "transpose");
      inputs.opH.disabled = inputs.opW.disabled = opMode.value !== "int";
      show("ceil", st.pool);
      inputs.dH.disabled = inputs.dW.disabled = st.kind === "pool_avg";
      if (st.kind === "pool_avg") inputs.dH.value = inputs.dW.value = "1";
      // only the fields this configuration reads: not hidden, not disabled
      const used = Object.values(inputs).filter((i) => !i.disabled && !i.closest(".cx-hidden"));
      const problems = used.map((i) => [i, fieldProblem(i)]).filter(([, p]) => p);
      for (const i of Object.values(inputs)) {
        if (problems.some(([j]) => j === i)) i.setAttribute("aria-invalid", "true");
        else i.removeAttribute("aria-invalid");
      }
      if (problems.length) {
        state.axes = null;
        return refuse("check the field: ", null, problems[0][1]);
      }
      const axes = resolve(st);
      state.settings = st;
      state.axes = axes;
      const bad = axes.findIndex((a) => a.error);
      if (bad >= 0) return refuse("convlib refuses this (" + AXES[bad] + " axis): ", axes[bad].error, axes[bad].message);
      root.classList.remove("cx-refused");
      details.textContent = "";
      codes.textContent = "";
      const [h, w] = axes;
      const total = h.out * w.out;
      if (state.pos >= total) state.pos = 0;
      prev.disabled = next.disabled = total <= 1;
      summary.textContent = "";
      summary.appendChild(document.createTextNode("output size "));
      summary.appendChild(el("strong", { class: "cx-out", text: h.size + " \u00d7 " + w.size }));
      summary.appendChild(document.createTextNode(" (height \u00d7 width)"));
      describe(st, h, w);
      writeCode(st, h, w);
      draw();
    }

    // A refusal replaces the numbers: a field's problem, or convlib's reason code and message.
    function refuse(heading, code, message) {
      root.classList.add("cx-refused");
      state.pos = 0;
      details.textContent = codes.textContent = figure.textContent = where.textContent = summary.textContent = "";
      prev.disabled = next.disabled = true;
      summary.appendChild(el("strong", { class: "cx-refusal", text: heading }));
      if (code) summary.appendChild(el("code", { class: "cx-reason", text: code }));
      summary.appendChild(el("span", { class: "cx-message", text: (code ? " \u2014 " : "") + message }));
    }

    function item(term, value) {
      details.appendChild(el("dt", { text: term }));
      details.appendChild(el("dd", {}, [typeof value === "string" ? el("code", { text: value }) : value]));
    }

    function unreadText(a, axis) {
      const [pad, input] = a.unread;
      const far = axis === "height" ? "bottom" : "right";
      if (!pad && !input) return "none";
      const parts = [];
      if (input) parts.push(input + " input " + (input === 1 ? "cell" : "cells"));
      if (pad) parts.push(pad + " pad " + (pad === 1 ? "cell" : "cells"));
      return parts.join(" + ") + " at the " + far;
    }

    function describe(st, h, w) {
      const tp = st.kind === "transpose";
      item(
        tp ? "crops, TensorFlow order" : "pads, TensorFlow order",
        "[[" + h.before + ", " + h.after + "], [" + w.before + ", " + w.after + "]]"
      );
      const sym = h.before === h.after && w.before === w.after;
      const crop = "padding=0, then y[:, :, " + h.before + ":" + (h.before + h.n) + ", " + w.before + ":" + (w.before + w.n) + "]";
      const fpad = "F.pad(x, " + tuple([w.before, w.after, h.before, h.after]) + ") then padding=0";
      item(tp ? "crops, PyTorch" : "pads, PyTorch", sym ? "padding=" + pair([h.before, w.before]) : tp ? crop : fpad);
      if (tp) {
        item("output_padding (cells after the last tap)", pair([h.left, w.left]));
        item("forward convolution it transposes", h.n + " \u00d7 " + w.n + " \u2192 " + h.out + " \u00d7 " + w.out);
      } else {
        item("cells no window reads (height)", unreadText(h, "height"));
        item("cells no window reads (width)", unreadText(w, "width"));
        if (h.overhang || w.overhang) item("ceil_mode overhang", pair([h.overhang, w.overhang]));
      }
      item("dilated window", h.window + " \u00d7 " + w.window);
    }

    function codeBlock(title, text) {
      const pre = el("pre", { class: "cx-code" }, [el("code", { text })]);
      const button = el("button", { type: "button", class: "cx-copy", text: "copy" });
      button.addEventListener("click", () => copyText(pre, text, button));
      codes.appendChild(el("div", { class: "cx-codebox" }, [el("div", { class: "cx-codehead" }, [el("span", { text: title }), button]), pre]));
    }

    function writeCode(st, h, w) {
      const v = st.v;
      const k = pair([h.k, w.k]);
      const s = pair([h.stride, w.stride]);
      const d = pair([h.dilation, w.dilation]);
      const sym = h.before === h.after && w.before === w.after;
      const fpad = tuple([w.before, w.after, h.before, h.after]);
      const tfPads = "[[0, 0], [" + h.before + ", " + h.after + "], [" + w.before + ", " + w.after + "], [0, 0]]";
      const word = st.word === "valid" || st.word === "same" ? '"' + st.word.toUpperCase() + '"' : null;
      const shapeIn = "(1, C, " + v.nH + ", " + v.nW + ")";
      const shapeOut = "(1, C_out, " + h.size + ", " + w.size + ")";
      const tfIn = "(1, " + v.nH + ", " + v.nW + ", C)";
      const tfOut = "(1, " + h.size + ", " + w.size + ", C_out)";
      let torch, tf;
      if (st.kind === "conv") {
        const call = (pad) => "y = F.conv2d(x, w, stride=" + s + ", padding=" + pad + ", dilation=" + d + ")";
        torch = sym ? call(pair([h.before, w.before])) : "x = F.pad(x, " + fpad + ")\n" + call("0");
        torch = "# x: " + shapeIn + ", w: (C_out, C, " + h.k + ", " + w.k + ") -> " + shapeOut + "\n" + torch;
        tf = "# x: " + tfIn + ", w: (" + h.k + ", " + w.k + ", C, C_out) -> " + tfOut + "\n" +
          "y = tf.nn.conv2d(x, w, strides=[1, " + h.stride + ", " + w.stride + ", 1], padding=" + (word || tfPads) +
          ", dilations=[1, " + h.dilation + ", " + w.dilation + ", 1])";
      } else if (st.kind === "transpose") {
        const out = pair([h.left, w.left]);
        const q = pair([Math.max(h.left - h.after, 0), Math.max(w.left - w.after, 0)]);
        torch = "# x: " + shapeIn + ", w: (C, C_out, " + h.k + ", " + w.k + ") -> " + shapeOut + "\n";
        if (sym && h.left < Math.max(h.stride, h.dilation) && w.left < Math.max(w.stride, w.dilation)) {
          torch += "y = F.conv_transpose2d(x, w, stride=" + s + ", padding=" + pair([h.before, w.before]) +
            ", output_padding=" + out + ", dilation=" + d + ")";
        } else {
          torch += "y = F.conv_transpose2d(x, w, stride=" + s + ", output_padding=" + q + ", dilation=" + d + ")\n" +
            "y = y[:, :, " + h.before + ":" + (h.before + h.size) + ", " + w.before + ":" + (w.before + w.size) + "]";
        }
        tf = "# x: " + tfIn + ", w: (" + h.k + ", " + w.k + ", C_out, C) -> " + tfOut + "\n" +
          "y = tf.nn.conv2d_transpose(x, w, output_shape=[1, " + h.size + ", " + w.size + ", C_out], strides=[1, " +
          h.stride + ", " + w.stride + ", 1], padding=" + (word || tfPads) + ", dilations=[1, " + h.dilation + ", " +
          w.dilation + ", 1])";
      } else {
        const max = st.kind === "pool_max";
        const fn = max ? "F.max_pool2d" : "F.avg_pool2d";
        const args = (pad) => "kernel_size=" + k + ", stride=" + s + ", padding=" + pad +
          (max ? ", dilation=" + d : "") + ", ceil_mode=" + (st.ceil ? "True" : "False");
        const numeric = st.word !== "same";
        torch = "# x: " + shapeIn + " -> (1, C, " + h.size + ", " + w.size + ")\n";
        if (numeric && sym) torch += "y = " + fn + "(x, " + args(pair([h.before, w.before])) + ")";
        else {
          torch += "x = F.pad(x, " + fpad + (max ? ', value=float("-inf")' : "") + ")\n" + "y = " + fn + "(x, " + args("0") + ")";
          if (!max) torch += "\n# TensorFlow's SAME mean ignores the pad cells: divide by the real cells per window instead";
        }
        const type = max ? "MAX" : "AVG";
        const extra = [h.overhang, w.overhang];
        tf = "# x: " + tfIn + " -> (1, " + h.size + ", " + w.size + ", C)\n";
        const pool = (pad) => "y = tf.nn.pool(x, window_shape=[" + h.k + ", " + w.k + '], pooling_type="' + type +
          '", strides=[' + h.stride + ", " + w.stride + "], padding=" + pad + ", dilations=[" + h.dilation + ", " + w.dilation + "])";
        if (word && !st.ceil && (st.word === "same" || (h.before === 0 && w.before === 0))) tf += pool(word);
        else {
          tf += "x = tf.pad(x, [[0, 0], [" + h.before + ", " + (h.after + extra[0]) + "], [" + w.before + ", " +
            (w.after + extra[1]) + "], [0, 0]]" + (max ? ', constant_values=float("-inf")' : "") + ")\n" + pool('"VALID"');
          if (!max && (extra[0] || extra[1])) tf += "\n# not exact for the mean: PyTorch does not count the ceil_mode overhang cells";
        }
        if ((h.dilation > 1 || w.dilation > 1) && (h.stride > 1 || w.stride > 1)) {
          tf += "\n# note: tf.nn.pool refuses dilations > 1 together with strides > 1";
        }
      }
      codeBlock("PyTorch (import torch.nn.functional as F)", torch);
      codeBlock("TensorFlow (import tensorflow as tf)", tf);
    }

    // Which cells of one axis (padded coordinates, overhang included) some tap of some window reads.
    function readMask(a) {
      const cells = a.padded + a.overhang;
      const mask = new Array(cells).fill(false);
      for (let o = 0; o < a.out; o++) for (let t = 0; t < a.k; t++) mask[o * a.stride + t * a.dilation] = true;
      return mask;
    }

    function cellInfo(a, i, mask) {
      return { over: i >= a.padded, pad: i < a.before || i >= a.before + a.n, read: !!mask[i] };
    }

    // A cell is a pad cell when its row or its column is padding, and read when both are read.
    function cellClass(r, c) {
      if (r.over || c.over) return "cx-overhang";
      const pad = r.pad || c.pad;
      if (r.read && c.read) return pad ? "cx-pad" : "cx-input";
      return pad ? "cx-padunused" : "cx-unread";
    }

    function draw() {
      const [h, w] = state.axes;
      const rowsN = h.padded + h.overhang;
      const colsN = w.padded + w.overhang;
      const maxWidth = Math.max(Math.min(root.clientWidth || 760, 760) - 8, 240);
      const cell = Math.max(Math.min(28, Math.floor(maxWidth / colsN), Math.floor(420 / rowsN)), 5);
      const width = colsN * cell + 2;
      const height = rowsN * cell + 2;
      const svg = svgEl("svg", {
        class: "cx-grid", width, height, viewBox: "0 0 " + width + " " + height, role: "img",
        "data-rows": rowsN, "data-cols": colsN,
      });
      const mh = readMask(h);
      const mw = readMask(w);
      const oi = Math.floor(state.pos / w.out);
      const oj = state.pos % w.out;
      const tapsH = new Set();
      const tapsW = new Set();
      for (let t = 0; t < h.k; t++) tapsH.add(oi * h.stride + t * h.dilation);
      for (let t = 0; t < w.k; t++) tapsW.add(oj * w.stride + t * w.dilation);
      for (let i = 0; i < rowsN; i++) {
        for (let j = 0; j < colsN; j++) {
          const cls = cellClass(cellInfo(h, i, mh), cellInfo(w, j, mw));
          const r = svgEl("rect", { x: 1 + j * cell, y: 1 + i * cell, width: cell, height: cell, class: "cx-cell " + cls });
          svg.appendChild(r);
          if (tapsH.has(i) && tapsW.has(j)) {
            svg.appendChild(svgEl("rect", {
              x: 1 + j * cell + cell * 0.2, y: 1 + i * cell + cell * 0.2, width: cell * 0.6, height: cell * 0.6,
              class: "cx-tap",
            }));
          }
        }
      }
      // the input's border and the window's span
      svg.appendChild(svgEl("rect", {
        x: 1 + w.before * cell, y: 1 + h.before * cell, width: w.n * cell, height: h.n * cell, class: "cx-input-border",
      }));
      svg.appendChild(svgEl("rect", {
        x: 1 + oj * w.stride * cell, y: 1 + oi * h.stride * cell, width: w.window * cell, height: h.window * cell,
        class: "cx-window",
      }));
      figure.textContent = "";
      figure.appendChild(svg);
      const tp = state.settings.kind === "transpose";
      where.textContent = (tp ? "input cell " : "window ") + "(" + oi + ", " + oj + ") of " + h.out + " \u00d7 " + w.out;
      caption.textContent = tp
        ? "Drawn as the forward convolution it transposes: the grid is the " + h.n + " \u00d7 " + w.n +
          " output with its crops; each input cell scatters into the window over it."
        : "";
    }

    function step(delta) {
      if (!state.axes || state.axes.some((a) => a.error)) return;
      const total = state.axes[0].out * state.axes[1].out;
      state.pos = (state.pos + delta + total) % total;
      draw();
    }

    prev.addEventListener("click", () => step(-1));
    next.addEventListener("click", () => step(1));
    const boxes = [op, padMode, opMode, ceil, ...Object.values(inputs)];
    for (const b of boxes) {
      b.addEventListener("input", update);
      b.addEventListener("change", update);
    }
    op.addEventListener("change", () => {
      state.pos = 0;
    });
    state.update = update;
    state.step = step;
    update();
    return state;
  }

  function copyText(pre, text, button) {
    const done = (ok) => {
      button.textContent = ok ? "copied" : "selected: press Ctrl+C";
      setTimeout(() => (button.textContent = "copy"), 1500);
    };
    const select = () => {
      const range = document.createRange();
      range.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      done(false);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(() => done(true), select);
    } else {
      select();
    }
  }

  function mountAll() {
    document.querySelectorAll("div.conv-explorer").forEach((e) => mount(e));
  }

  global.ConvExplorer = {
    convAxis, poolAxis, transposeAxis, evaluate, evaluateAll, answerRow,
    effectiveKernelSize, samePadding, fullPadding, mount, mountAll,
  };

  if (typeof document !== "undefined") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
    else mountAll();
  }
})(typeof window !== "undefined" ? window : globalThis);
